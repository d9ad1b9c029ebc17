"""vocml: tell needs-first from pitch-first selling in customers' and reps' own words.

Public API::

    import vocml
    model = vocml.load_model()                 # the shipped model
    predictions = model.classify(["Nobody asked what we needed."])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.13.0"

__all__ = [
    "__version__",
    "load_model",
    "Classifier",
    "Prediction",
    "Evidence",
    "Record",
    "read_records",
    "iter_rows",
    "LABELS",
    "SOURCES",
    "train",
]

if TYPE_CHECKING:
    from vocml.bundle import load_model
    from vocml.data import LABELS, SOURCES, Record, iter_rows, read_records
    from vocml.model import Classifier, Evidence, Prediction
    from vocml.train import train

_LAZY = {
    "load_model": "vocml.bundle",
    "Classifier": "vocml.model",
    "Prediction": "vocml.model",
    "Evidence": "vocml.model",
    "Record": "vocml.data",
    "read_records": "vocml.data",
    "iter_rows": "vocml.data",
    "LABELS": "vocml.data",
    "SOURCES": "vocml.data",
    "train": "vocml.train",
}


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so ``import vocml`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vocml' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
