"""The only place vocml builds spaCy language objects: a cached blank English pipeline.

spaCy's lookup lemmatizer is case-sensitive ("Asked" stays "Asked" at the start of a sentence), which
is wrong for cue matching, so the pipeline gets a small component that lemmatises the lower-cased
token with the same lookup table from spacy-lookups-data. No model is downloaded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import spacy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.lookups import Table, load_lookups
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _lemma_table() -> Table:
    """spaCy's English lemma lookup table (keys are hashed; ``get`` takes strings)."""
    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@Language.factory("vocml_lower_lemma")
def make_lower_lemma(nlp: Language, name: str) -> LowerLemma:
    """Set ``token.lemma_`` to the lookup lemma of the lower-cased token."""
    return LowerLemma()


class LowerLemma:
    """Case-insensitive lookup lemmatizer (see module docstring).

    Works on hashes with ``Doc.to_array``/``from_array`` so no Python ``Token`` objects are made:
    the lower-case form's hash maps to the lemma's hash, memoised per vocabulary.
    """

    def __init__(self) -> None:
        self.table = _lemma_table()
        self.memo: dict[int, int] = {}

    def _lemma_hash(self, doc: Doc, lower_hash: int) -> int:
        strings = doc.vocab.strings
        lower = strings[lower_hash]
        lemma = self.table.get(lower)
        value = strings.add(lemma.lower() if lemma else lower)
        self.memo[lower_hash] = value
        return value

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        lowers = doc.to_array([LOWER])
        memo = self.memo
        lemmas = np.fromiter(
            (memo.get(h) or self._lemma_hash(doc, h) for h in lowers.tolist()), dtype=np.uint64, count=len(lowers)
        )
        doc.from_array([LEMMA], cast(Any, lemmas.reshape(-1, 1)))
        return doc


@lru_cache(maxsize=1)
def _forms_by_lemma() -> dict[str, frozenset[str]]:
    """Lemma -> every lower-case form the lookup table maps to it (read from spacy-lookups-data)."""
    import gzip
    import json

    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        table: dict[str, str] = json.load(fh)
    out: dict[str, set[str]] = {}
    for form, lemma in table.items():
        out.setdefault(lemma.lower(), set()).add(form.lower())
    return {k: frozenset(v) for k, v in out.items()}


def lemma_of(word: str) -> str:
    """The lookup lemma of a lower-cased word (the word itself when the table has none)."""
    lemma = _lemma_table().get(word.lower())
    return lemma.lower() if lemma else word.lower()


def surface_forms(word: str) -> frozenset[str]:
    """Every lower-case form that lemmatises like ``word`` (including ``word`` and its lemma)."""
    lemma = lemma_of(word)
    forms = {form for form in _forms_by_lemma().get(lemma, frozenset()) if lemma_of(form) == lemma}
    return frozenset(forms | {word.lower(), lemma})


def get_tokenizer(lang: str = "en") -> Tokenizer:
    """The tokenizer of :func:`get_nlp` (all the cues need: tokens, no lemmatizer run)."""
    return cast(Tokenizer, get_nlp(lang).tokenizer)


@lru_cache(maxsize=4)
def get_nlp(lang: str = "en") -> Language:
    """Return a cached ``spacy.blank(lang)`` with a case-insensitive lookup lemmatizer."""
    nlp = spacy.blank(lang)
    nlp.add_pipe("vocml_lower_lemma")
    return nlp


def normalise(text: str) -> str:
    """Collapse runs of whitespace and strip; offsets are always taken on the original text."""
    return _SPACE.sub(" ", text).strip()
