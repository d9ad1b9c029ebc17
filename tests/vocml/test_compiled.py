"""The compiled model file: the same bytes for the same model, pickle-free, and all a prediction needs."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tests.ngram_oracle import CORPUS, LONG, pipeline_proba
from vocml.compile import compile_pipeline
from vocml.compiled import CompiledModel
from vocml.model import Classifier
from vocml.windows import WINDOW_WEIGHT


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


def test_a_compiled_model_round_trips_and_predicts_like_its_pipeline(tiny_classifier: Classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    compiled = compile_pipeline(tiny_classifier.pipeline)
    path = tmp_path / "inference.npz"
    compiled.save(path)
    first = path.read_bytes()
    compiled.save(path)
    assert path.read_bytes() == first  # the same model always gives the same bytes
    loaded = CompiledModel.load(path)
    assert loaded.labels == compiled.labels and loaded.word.vocabulary == compiled.word.vocabulary
    assert loaded.char.vocabulary == compiled.char.vocabulary and loaded.word.dtype == compiled.word.dtype
    assert loaded.window_weight == compiled.window_weight == WINDOW_WEIGHT
    model = Classifier(compiled=loaded)
    texts = [*CORPUS, LONG]
    np.testing.assert_allclose(
        model.predict_proba(texts), pipeline_proba(tiny_classifier.pipeline, texts), rtol=1e-6, atol=1e-9
    )
    assert [p.to_dict() for p in model.classify(CORPUS)] == [p.to_dict() for p in tiny_classifier.classify(CORPUS)]


def test_a_model_saved_before_sentence_windows_loads_without_them(tiny_classifier: Classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inference.npz"
    compile_pipeline(tiny_classifier.pipeline).save(path)
    old = tmp_path / "old.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "meta.json":
                meta = json.loads(data)
                del meta["window_weight"]
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    model = Classifier(compiled=CompiledModel.load(old))
    assert model.window_weight == 0.0
    pipeline = tiny_classifier.pipeline
    z = (
        pipeline.named_steps["clf"]
        .calibrated_classifiers_[0]
        .estimator.decision_function(pipeline[:-1].transform([LONG]))
    )
    np.testing.assert_allclose(model.decision([LONG]), z, rtol=1e-6, atol=1e-9)  # the whole text only


def test_another_format_is_refused(tiny_classifier: Classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import zipfile

    path = tmp_path / "inference.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.json", json.dumps({"format": 99}))
    with pytest.raises(ValueError, match="unknown compiled-model format 99"):
        CompiledModel.load(path)


def test_classifying_with_the_shipped_model_imports_no_scikit_learn() -> None:
    """The compiled numbers are all prediction needs: `vocml classify` starts without scikit-learn."""
    code = (
        "import sys; from vocml import load_model; m = load_model(); "
        "p = m.classify(['Nobody asked what we needed.'])[0]; "
        "print(p.label, 'sklearn' in sys.modules, 'joblib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False"]
