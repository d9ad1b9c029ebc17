"""The compiled model file: the same bytes for the same model, pickle-free, and all a prediction needs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.ngram_oracle import CORPUS
from vocml.compile import compile_pipeline
from vocml.compiled import CompiledModel
from vocml.model import Classifier


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
    model = Classifier(compiled=loaded)
    np.testing.assert_allclose(
        model.predict_proba(CORPUS), tiny_classifier.pipeline.predict_proba(CORPUS), rtol=1e-6, atol=1e-9
    )
    assert [p.to_dict() for p in model.classify(CORPUS)] == [p.to_dict() for p in tiny_classifier.classify(CORPUS)]


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
