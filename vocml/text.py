"""The only place vocml builds spaCy language objects, and the lemma tables the cues match with.

The pipeline is ``spacy.blank("en")``: the cues need tokens only. Lemma matching comes from
spacy-lookups-data's English lookup table: each cue phrase is expanded to every surface form that
the table lemmatises like it (see :func:`surface_forms`), which matches the same tokens as running
a case-insensitive lookup lemmatizer on every text, at no per-text cost. No model is downloaded.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import cast

import spacy
import spacy_lookups_data
from spacy.language import Language
from spacy.tokenizer import Tokenizer


@lru_cache(maxsize=1)
def _lemma_lookup() -> dict[str, str]:
    """spaCy's English lemma lookup table (form -> lemma), read from spacy-lookups-data."""
    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return cast(dict[str, str], json.load(fh))


@lru_cache(maxsize=1)
def _forms_by_lemma() -> dict[str, frozenset[str]]:
    """Lemma -> every lower-case form the lookup table maps to it."""
    out: dict[str, set[str]] = {}
    for form, lemma in _lemma_lookup().items():
        out.setdefault(lemma.lower(), set()).add(form.lower())
    return {k: frozenset(v) for k, v in out.items()}


def lemma_of(word: str) -> str:
    """The lookup lemma of a lower-cased word (the word itself when the table has none)."""
    lemma = _lemma_lookup().get(word.lower())
    return lemma.lower() if lemma else word.lower()


def surface_forms(word: str) -> frozenset[str]:
    """Every lower-case form that lemmatises like ``word`` (including ``word`` and its lemma)."""
    lemma = lemma_of(word)
    forms = {form for form in _forms_by_lemma().get(lemma, frozenset()) if lemma_of(form) == lemma}
    return frozenset(forms | {word.lower(), lemma})


@lru_cache(maxsize=4)
def get_nlp(lang: str = "en") -> Language:
    """Return a cached ``spacy.blank(lang)``."""
    return spacy.blank(lang)


def get_tokenizer(lang: str = "en") -> Tokenizer:
    """The tokenizer of :func:`get_nlp` (all the cues need)."""
    return cast(Tokenizer, get_nlp(lang).tokenizer)
