"""A fitted model's numbers as plain arrays, saved pickle-free beside the joblib pipeline.

``inference.npz`` (JSON and ``.npy`` arrays in a zip, read with ``allow_pickle=False``) loads in
milliseconds without importing scikit-learn; :class:`~vocml.model.Classifier` predicts from it alone.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vocml.ngrams import NgramBlock

COMPILED_FORMAT = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same model always gives the same bytes


@dataclass(frozen=True)
class CompiledModel:
    """Everything prediction needs from a fitted pipeline, as plain numbers.

    Saved beside the joblib pipeline (``inference.npz``: JSON and ``.npy`` arrays in a zip, read with
    ``allow_pickle=False``), it loads in milliseconds without importing scikit-learn or unpickling
    anything. Made from a fitted pipeline by :func:`vocml.compile.compile_pipeline`; every prediction goes through it.
    """

    labels: list[str]
    parts: list[str]  # the feature blocks in the union's order: "word", "char", "cues"
    word: NgramBlock
    char: NgramBlock
    cue_names: list[str]
    lang: str
    coef: np.ndarray  # (n_labels, n_features), the union's column order
    intercept: np.ndarray
    beta: float  # the temperature calibrator's beta_
    window_weight: float = 0.0  # the share of a long text's best sentence window in its scores (vocml.windows)
    # per-label log-probability offsets for records of a named source (``call_note``), fitted on that source's
    # held-out training rows (vocml.train.fit_source_offsets); a record of another source or none gets none
    source_offsets: dict[str, list[float]] = field(default_factory=dict)

    @property
    def widths(self) -> list[int]:
        """Columns of each feature block, in :attr:`parts` order."""
        size = {"word": len(self.word.idf), "char": len(self.char.idf), "cues": len(self.cue_names)}
        return [size[name] for name in self.parts]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path`` (the same bytes for the same model)."""
        meta = {
            "format": COMPILED_FORMAT,
            "labels": self.labels,
            "parts": self.parts,
            "cue_names": self.cue_names,
            "lang": self.lang,
            "beta": self.beta,
            "window_weight": self.window_weight,
            "source_offsets": self.source_offsets,
            "word": _block_meta(self.word),
            "char": _block_meta(self.char),
        }
        arrays = {"word_idf": self.word.idf, "char_idf": self.char.idf, "coef": self.coef, "intercept": self.intercept}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(zipfile.ZipInfo("meta.json", _ZIP_DATE), json.dumps(meta, sort_keys=True))
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(f"{name}.npy", _ZIP_DATE), buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CompiledModel:
        """Read what :meth:`save` wrote; raises ``ValueError`` for another format."""
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("meta.json"))
            if meta.get("format") != COMPILED_FORMAT:
                raise ValueError(f"{path}: unknown compiled-model format {meta.get('format')!r}")
            arrays = {
                name: np.lib.format.read_array(io.BytesIO(zf.read(f"{name}.npy")), allow_pickle=False)
                for name in ("word_idf", "char_idf", "coef", "intercept")
            }
        return cls(
            labels=list(meta["labels"]),
            parts=list(meta["parts"]),
            word=_block_from_meta(meta["word"], arrays["word_idf"]),
            char=_block_from_meta(meta["char"], arrays["char_idf"]),
            cue_names=list(meta["cue_names"]),
            lang=meta["lang"],
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            beta=float(meta["beta"]),
            window_weight=float(meta.get("window_weight", 0.0)),  # models before windows have none
            source_offsets={
                str(k): [float(x) for x in v] for k, v in meta.get("source_offsets", {}).items()
            },  # models before 0.12.0 have none
        )


def _block_meta(block: NgramBlock) -> dict[str, Any]:
    terms = [""] * len(block.vocabulary)
    for term, column in block.vocabulary.items():
        terms[column] = term
    return {
        "terms": terms,  # by column
        "ngram_range": list(block.ngram_range),
        "sublinear": block.sublinear,
        "dtype": np.dtype(block.dtype).str,
        "token_pattern": block.token_pattern,
    }


def _block_from_meta(meta: dict[str, Any], idf: np.ndarray) -> NgramBlock:
    return NgramBlock(
        vocabulary={term: column for column, term in enumerate(meta["terms"])},
        idf=idf,
        ngram_range=(int(meta["ngram_range"][0]), int(meta["ngram_range"][1])),
        sublinear=bool(meta["sublinear"]),
        dtype=np.dtype(meta["dtype"]),
        token_pattern=meta["token_pattern"],
    )
