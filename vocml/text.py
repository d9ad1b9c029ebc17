"""The only place vocml builds spaCy language objects, and the lemma tables the cues match with.

The pipeline is ``spacy.blank("en")``: the cues need tokens only. Lemma matching comes from
spacy-lookups-data's English lookup table: each cue phrase is expanded to every surface form that
the table lemmatises like it (see :func:`surface_forms`), which matches the same tokens as running
a case-insensitive lookup lemmatizer on every text, at no per-text cost. No model is downloaded.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import spacy
import spacy_lookups_data
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc


def as_texts(X: Any) -> list[str]:
    """Return ``X`` (a list, tuple, array or pandas Series of strings) as a list of strings."""
    if isinstance(X, str):
        raise TypeError("expected an iterable of texts, got a single string; wrap it in a list")
    values = X.tolist() if hasattr(X, "tolist") else list(X)
    return [v if isinstance(v, str) else ("" if v is None else str(v)) for v in values]


@lru_cache(maxsize=1)
def _lemma_lookup() -> dict[str, str]:
    """spaCy's English lemma lookup table (form -> lemma), read from spacy-lookups-data."""
    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return cast(dict[str, str], json.load(fh))


def _forms_by_lemma(lemmas: set[str]) -> dict[str, set[str]]:
    """Each of ``lemmas`` (lower case) -> every lower-case form the lookup table maps to it."""
    out: dict[str, set[str]] = {lemma: set() for lemma in lemmas}
    for form, lemma in _lemma_lookup().items():
        forms = out.get(lemma) if lemma in out else out.get(lemma.lower())
        if forms is not None:
            forms.add(form.lower())
    return out


def lemma_of(word: str) -> str:
    """The lookup lemma of a lower-cased word (the word itself when the table has none)."""
    lemma = _lemma_lookup().get(word.lower())
    return lemma.lower() if lemma else word.lower()


def surface_forms(word: str) -> frozenset[str]:
    """Every lower-case form that lemmatises like ``word`` (including ``word`` and its lemma)."""
    return surface_forms_of([word])[word]


def surface_forms_of(words: Iterable[str]) -> dict[str, frozenset[str]]:
    """:func:`surface_forms` of each word, with one pass over the lookup table for them all."""
    lemma = {word: lemma_of(word) for word in words}
    by_lemma = _forms_by_lemma(set(lemma.values()))
    return {
        word: frozenset({form for form in by_lemma[lem] if lemma_of(form) == lem} | {word.lower(), lem})
        for word, lem in lemma.items()
    }


@lru_cache(maxsize=4)
def get_nlp(lang: str = "en") -> Language:
    """Return a cached ``spacy.blank(lang)``."""
    return spacy.blank(lang)


def get_tokenizer(lang: str = "en") -> Tokenizer:
    """The tokenizer of :func:`get_nlp` (all the cues need)."""
    return cast(Tokenizer, get_nlp(lang).tokenizer)


MAX_CACHED_CHUNKS = 500_000


class ChunkTokenizer:
    """spaCy's tokenizer, remembering how it splits each space-separated chunk of text.

    spaCy tokenizes every space-delimited chunk on its own, but it re-runs its prefix, suffix and
    infix rules on chunks that contain a special case ("don't", "e.g.") or punctuation it did not
    cache, which is most of its time on real text. For a text whose only whitespace is single spaces
    between chunks, the ``Doc`` built here from the remembered splits has exactly spaCy's tokens and
    whitespace (a property test checks it); any other text goes to spaCy's tokenizer as it is.
    The splits are kept as the tokens' lexeme ids (``orth``), from which spaCy builds a ``Doc``
    several times faster than from strings, which it would hash again.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab = tokenizer.vocab
        # chunk -> lexeme ids of its tokens and their trailing spaces (only the last has one)
        self._chunks: dict[str, tuple[list[int], list[bool]]] = {}
        self._empty = False  # whether some chunk gave no token (such texts go to spaCy whole)

    def __call__(self, text: str) -> Doc:
        """The ``Doc`` of ``text``, identical to ``tokenizer(text)``."""
        entries = self._entries(text)
        if entries is None:
            return self.tokenizer(text)
        words = list(chain.from_iterable([e[0] for e in entries]))
        spaces = list(chain.from_iterable([e[1] for e in entries]))
        spaces[-1] = False
        return Doc(self.vocab, words=words, spaces=spaces)  # type: ignore[arg-type]

    def batch(self, texts: Sequence[str]) -> tuple[Doc, list[int]]:
        """One ``Doc`` holding ``texts``, each followed by a line-break token, and where each starts.

        Returns the ``Doc`` and the index of each text's first token plus, last, the ``Doc``'s length:
        text ``i`` is tokens ``bounds[i]`` up to its separator ``bounds[i + 1] - 1``, its tokens are
        those of ``self(text)``, and it starts at the separator's or its first token's ``idx``. (A
        text may be followed by a space before its separator.) One ``Doc`` per batch saves spaCy's
        per-``Doc`` set-up, which costs as much as the tokens of a short text.
        """
        separator = ([self.vocab["\n"].orth], [False])
        per_text = [self._entries(text, learn=False) for text in texts]
        unknown = [c for entries in per_text if entries for c in entries if isinstance(c, str)]
        if unknown:
            self._learn(unknown)
            per_text = [
                self._entries(text) if entries and any(isinstance(c, str) for c in entries) else entries
                for text, entries in zip(texts, per_text, strict=True)
            ]
        parts: list[tuple[list[int], list[bool]]] = []
        bounds = [0]
        size = 0
        for text, entries in zip(texts, per_text, strict=True):
            if entries is None:
                doc = self.tokenizer(text)
                entries = [([t.orth for t in doc], [bool(t.whitespace_) for t in doc])]
            parts += entries
            parts.append(separator)
            size += sum(map(len, map(itemgetter(0), entries))) + 1
            bounds.append(size)
        words = list(chain.from_iterable(map(itemgetter(0), parts)))
        spaces = list(chain.from_iterable(map(itemgetter(1), parts)))
        return Doc(self.vocab, words=words, spaces=spaces), bounds  # type: ignore[arg-type]

    def _learn(self, chunks: list[str]) -> None:
        """Remember spaCy's split of the chunks not seen before (see :func:`split_chunks`)."""
        new = [c for c in dict.fromkeys(chunks) if c not in self._chunks]
        for chunk, orths in zip(new, split_chunks(self.tokenizer, new), strict=True):
            self._empty = self._empty or not orths
            self._chunks[chunk] = (orths, [False] * (len(orths) - 1) + [True] if orths else [])

    def _entries(self, text: str, *, learn: bool = True) -> list[Any] | None:
        """The remembered splits of the chunks of ``text``, or ``None`` for spaCy to tokenize it.

        With ``learn=False`` a chunk not seen before stays in the list as its string.
        """
        if not text or not text.isprintable() or "  " in text or text[0] == " " or text[-1] == " ":
            return None
        chunks = self._chunks
        if len(chunks) > MAX_CACHED_CHUNKS:
            chunks.clear()
        pieces = text.split(" ")
        entries = list(map(chunks.get, pieces))
        if None in entries:
            if not learn:
                return [e if e is not None else c for e, c in zip(entries, pieces, strict=True)]
            entries = [e if e is not None else self._split(c) for e, c in zip(entries, pieces, strict=True)]
        if self._empty and not all(e[0] for e in entries if e is not None):  # a chunk spaCy gives no token for
            return None
        return entries

    def _split(self, chunk: str) -> tuple[list[int], list[bool]]:
        """Remember spaCy's split of one chunk and return it."""
        self._learn([chunk])
        return self._chunks[chunk]


def split_chunks(tokenizer: Tokenizer, chunks: Sequence[str]) -> list[list[int]]:
    """The lexeme ids of spaCy's tokens of each chunk (a string without whitespace).

    spaCy tokenizes each space-separated chunk on its own, so the tokens of the chunks joined by
    spaces, cut after each token followed by a space, are each chunk's tokens: one call to the
    tokenizer (and one ``Doc``) for them all. If the cuts do not give one non-empty group per chunk,
    each chunk is tokenized alone (a chunk may then have no token).
    """
    if not chunks:
        return []
    groups: list[list[int]] = [[]]
    for token in tokenizer(" ".join(chunks)):
        groups[-1].append(token.orth)
        if token.whitespace_:
            groups.append([])
    if len(groups) != len(chunks) or not all(groups):
        return [[t.orth for t in tokenizer(chunk)] for chunk in chunks]
    return groups


@lru_cache(maxsize=4)
def get_chunk_tokenizer(lang: str = "en") -> ChunkTokenizer:
    """A cached :class:`ChunkTokenizer` over :func:`get_tokenizer`."""
    return ChunkTokenizer(get_tokenizer(lang))
