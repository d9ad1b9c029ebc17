"""The classifier: overfit and reload, predictions with evidence, bundle checks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import SAFE_CHARACTERS
from vocml.bundle import load_model, read_card
from vocml.data import LABELS, Record
from vocml.errors import ConfigError, ModelArtifactError
from vocml.model import Classifier, _evidence, build_pipeline, filler_columns


def test_overfit_tiny_corpus_and_reload(tiny_bundle: Path, tiny_records: list[Record]) -> None:
    model = load_model(tiny_bundle)
    preds = model.classify(tiny_records)
    assert [p.label for p in preds] == [r.label for r in tiny_records]
    again = load_model(tiny_bundle)
    texts = [r.text for r in tiny_records]
    np.testing.assert_allclose(model.predict_proba(texts), again.predict_proba(texts))


def test_batch_equals_one_by_one(tiny_bundle: Path, tiny_records: list[Record]) -> None:
    model = load_model(tiny_bundle)
    batch = model.classify(tiny_records)
    single = [model.classify([r])[0] for r in tiny_records]
    assert batch == single


def test_prediction_fields(tiny_bundle: Path) -> None:
    model = load_model(tiny_bundle)
    (p,) = model.classify([{"id": "x1", "text": "Nobody asked what we needed, just a 20% discount."}])
    d = p.to_dict()
    assert set(d) == {"id", "label", "confidence", "scores", "uncertain", "cues", "evidence"}
    assert d["id"] == "x1" and d["label"] in LABELS and set(d["scores"]) == set(LABELS)
    assert d["confidence"] == max(d["scores"].values())
    assert "negated_discovery" in d["cues"]
    for ev in d["evidence"]:
        assert ev["weight"] > 0


def test_pandas_series_input_uses_index_as_id(tiny_bundle: Path) -> None:
    pd = pytest.importorskip("pandas")
    model = load_model(tiny_bundle)
    preds = model.classify(pd.Series(["Invoice wrong", "asked about goals"], index=["a", "b"]))
    assert [p.id for p in preds] == ["a", "b"]


def test_uncertain_follows_threshold(tiny_bundle: Path) -> None:
    text = ["Something entirely unrelated about weather."]
    confidence = load_model(tiny_bundle).classify(text)[0].confidence
    assert load_model(tiny_bundle, threshold=confidence + 1e-3).classify(text)[0].uncertain is True
    assert load_model(tiny_bundle, threshold=confidence).classify(text)[0].uncertain is False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(SAFE_CHARACTERS, max_size=300))
def test_scores_sum_to_one_and_evidence_points_into_text(tiny_bundle: Path, text: str) -> None:
    model = _cached(tiny_bundle)
    (p,) = model.classify([text])
    assert p.label in LABELS
    assert abs(sum(p.scores.values()) - 1.0) < 1e-4
    for ev in p.evidence:
        assert 0 <= ev.start < ev.end <= len(text)
        assert text[ev.start : ev.end] == ev.phrase


_MODELS: dict[Path, object] = {}


def _cached(path: Path):  # type: ignore[no-untyped-def]
    if path not in _MODELS:
        _MODELS[path] = load_model(path)
    return _MODELS[path]


def test_evidence_offsets_on_real_phrases(tiny_bundle: Path) -> None:
    text = "The rep never asked what we needed and kept pushing the premium bundle."
    (p,) = load_model(tiny_bundle).classify([text])
    assert p.evidence, "expected at least one evidence phrase"
    assert all(text[e.start : e.end] == e.phrase for e in p.evidence)


def test_evidence_shows_a_repeated_phrase_once() -> None:
    text = "Sign today, SIGN TODAY, sign today or lose the deal."
    places = [m.start() for m in re.finditer("(?i)sign today", text)]
    candidates = [(-w, at, at + 10) for w, at in zip((1.0, 0.9, 0.8), places, strict=True)]
    candidates.append((-0.5, text.index("lose the deal"), text.index("lose the deal") + 13))
    shown = _evidence(text, candidates)
    assert [e.phrase for e in shown] == ["Sign today"]  # of the three strongest places, one phrase


def test_stop_words_numbers_and_signs_are_never_evidence() -> None:
    vocabulary = {"and is": 0, "my": 1, "$": 2, "60": 3, "a 3": 4, "20 %": 5, "pushy": 6, "60 day": 7, "signed": 8}
    assert sorted(filler_columns(vocabulary).tolist()) == [0, 1, 2, 3, 4, 5]


def test_tampered_joblib_is_refused_before_unpickling(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(tiny_bundle, copy)
    (copy / "pipeline.joblib").write_bytes(b"not a pickle at all")
    with pytest.raises(ModelArtifactError, match="does not match its card"):
        load_model(copy)


def test_tampered_compiled_numbers_are_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(tiny_bundle, copy)
    data = bytearray((copy / "inference.npz").read_bytes())
    data[-40] ^= 0xFF
    (copy / "inference.npz").write_bytes(bytes(data))
    with pytest.raises(ModelArtifactError, match="inference.npz does not match its card"):
        load_model(copy)
    (copy / "inference.npz").unlink()
    with pytest.raises(ModelArtifactError, match="inference.npz is missing"):
        load_model(copy)


def test_a_bundle_without_compiled_numbers_is_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    """Every prediction comes from the compiled numbers: a bundle without them says to retrain."""
    copy = tmp_path / "m"
    shutil.copytree(tiny_bundle, copy)
    (copy / "inference.npz").unlink()
    card = json.loads((copy / "card.json").read_text())
    card["inference_sha256"] = ""
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelArtifactError, match="no compiled numbers .* retrain with `vocml train`"):
        load_model(copy)


def test_a_model_refuses_a_cue_registry_changed_under_it(tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cue phrases decide a model's features: a model trained on other phrases is not loaded."""
    import dataclasses

    from vocml import cues

    assert json.loads((tiny_bundle / "card.json").read_text())["cues_sha256"] == cues.registry_digest(cues.CUE_NAMES)
    changed = dataclasses.replace(cues.CUES["price_push"], phrases=("discount", "coupon"))
    monkeypatch.setitem(cues.CUES, "price_push", changed)
    with pytest.raises(ModelArtifactError, match="other cue phrases .* retrain"):
        load_model(tiny_bundle)
    # a title or description is not behaviour
    monkeypatch.setitem(
        cues.CUES, "price_push", dataclasses.replace(changed, phrases=cues.PHRASES["price_push"], title="price talk")
    )
    load_model(tiny_bundle)


def test_the_pipeline_of_a_compiled_bundle_is_checked_when_loaded(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(tiny_bundle, copy)
    model = load_model(copy)
    (copy / "pipeline.joblib").write_bytes(b"swapped after loading")
    with pytest.raises(ModelArtifactError, match="does not match its card"):
        _ = model.pipeline


def test_version_mismatch_is_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(tiny_bundle, copy)
    card = json.loads((copy / "card.json").read_text())
    card["sklearn"] = "0.1.0"
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelArtifactError, match="trained with sklearn 0.1.0"):
        load_model(copy)


def test_missing_card_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="no model card"):
        load_model(tmp_path)


def test_card_records_how_the_model_was_built(tiny_bundle: Path) -> None:
    card = read_card(tiny_bundle)
    assert card.labels == list(LABELS)
    assert card.params["clf__estimator__C"] == 100.0
    assert len(card.data[0]["sha256"]) == 64 and len(card.pipeline_sha256) == 64 and len(card.inference_sha256) == 64
    assert card.cue_report and {"cue", "coverage", "overlap", "conflict", "gold_accuracy"} <= set(card.cue_report[0])


def test_unknown_pipeline_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="clf__estimator__Cee"):
        build_pipeline({"clf__estimator__Cee": 1})


def test_spacy_component_sets_doc_cats(tiny_bundle: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("vocml_classifier", config={"model_dir": str(tiny_bundle)})
    doc = nlp("Invoice 2231 shows the wrong VAT number.")
    assert set(doc.cats) == set(LABELS)
    assert abs(sum(doc.cats.values()) - 1) < 1e-4
    docs = list(nlp.pipe(["a", "b", "c"]))
    assert all(set(d.cats) == set(LABELS) for d in docs)


def test_a_no_signal_label_shows_no_evidence(shipped_model: Classifier) -> None:
    """Evidence shows the phrases behind an approach; a text without one has none to show (its cues stay)."""
    quiet, loud = shipped_model.classify(
        [
            "The invoice was wrong and the delivery arrived two days late.",
            "Nobody asked what we needed; it was all about their roadmap and a discount if we signed today.",
        ]
    )
    assert quiet.label == "no_signal" and quiet.evidence == []
    assert loud.label == "pitch_first" and loud.evidence


def test_a_call_note_is_read_with_its_source_offsets(call_note_bundle: Path, tmp_path: Path) -> None:
    """A record's source adds the model's offsets for it after the temperature; other sources get none."""
    model = load_model(call_note_bundle)
    offsets = model.source_offsets["call_note"]
    text = "Asked about their goals first, then walked them through the two plans."
    plain = model.predict_proba([text])[0]
    logits = np.log(plain) + np.array([offsets[lab] for lab in model.labels])
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    note = model.classify([Record(text=text, source="call_note")])[0]
    assert [note.scores[lab] for lab in model.labels] == pytest.approx(expected.tolist(), abs=2e-6)
    np.testing.assert_allclose(model.predict_proba([text], ["call_note"])[0], expected, atol=1e-9)
    assert model.classify([{"text": text, "source": "call_note"}])[0] == note
    assert model.classify([text], sources=["call_note"])[0] == note
    for other in (Record(text=text, source="customer_comment"), Record(text=text), text):
        assert model.classify([other])[0].scores == model.classify([text])[0].scores
    with pytest.raises(ValueError, match="2 sources for 1 items"):
        model.classify([text], sources=["call_note", None])
    copy = tmp_path / "copy"
    shutil.copytree(call_note_bundle, copy)
    assert load_model(copy).classify([Record(text=text, source="call_note")])[0] == note  # saved with the model


def test_models_without_offsets_read_every_source_alike(tiny_bundle: Path) -> None:
    model = load_model(tiny_bundle)
    assert model.source_offsets == {}
    text = "They pushed the premium plan before asking anything."
    assert model.classify([Record(text=text, source="call_note")])[0].scores == model.classify([text])[0].scores
