"""Prediction without scikit-learn: the fitted pipeline's arithmetic, done directly.

scikit-learn's ``transform``/``predict_proba`` re-validate their input, dispatch on array namespaces
and stack sparse blocks on every call; for one text that costs several times the arithmetic, and
importing scikit-learn alone takes about a second. :class:`CompiledModel` holds the fitted numbers
(vocabularies, idf, coefficients, calibration temperature) as plain arrays, saved beside the joblib
pipeline, and these classes compute the same probabilities from them (property-tested against the
pipeline in tests/vocml/test_inference.py):

- :class:`NgramFeatures`: the word and character n-gram tf-idf blocks, worked out per distinct
  chunk of text, the character spans of the word n-grams (for the evidence) and the batch ``Doc``
  the cues match over;
- :class:`LinearScores`: the calibrated logistic regression's probabilities from the feature blocks,
  summed block by block (no ``hstack``).

Training, cross-validation and ``Pipeline.predict_proba`` still go through scikit-learn. This module
does not import it.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from vocml.text import split_chunks

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# (column, start, end): an n-gram of the vocabulary and where it occurs in the text
Occurrence = tuple[int, int, int]
MAX_CHUNKS = 200_000  # distinct chunks remembered; the table starts again past this
_CHUNK = re.compile(r"\S+")  # what str.split() splits a text into


def weigh_tfidf(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, idf: np.ndarray, *, sublinear: bool) -> None:
    """Turn a CSR's n-gram counts into ``TfidfVectorizer`` values, in place, in ``data``'s dtype.

    ``1 + log(count)`` when ``sublinear``, times the idf of the column, each row l2-normalised; without
    scikit-learn's input checks, which cost more than the arithmetic for a single text.
    """
    if sublinear:
        np.log(data, out=data)
        data += 1.0
    data *= idf[indices]
    n_rows = len(indptr) - 1
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    # squares in the data's precision, summed in float64: what scikit-learn's normalize does
    norms = np.sqrt(np.bincount(rows, weights=np.square(data).astype(np.float64, copy=False), minlength=n_rows))
    norms[norms == 0] = 1.0
    data /= norms[rows]


def char_wb_grams(word: str, vocabulary: dict[str, int], min_n: int, max_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary columns of the ``char_wb`` n-grams of one (lower-cased) word and how often each occurs,
    as scikit-learn's ``_char_wb_ngrams`` counts them (the word padded with a space on each side)."""
    w = " " + word + " "
    w_len = len(w)
    counts: dict[int, int] = {}
    for n in range(min_n, max_n + 1):
        offset = 0
        idx = vocabulary.get(w[offset : offset + n])
        if idx is not None:
            counts[idx] = counts.get(idx, 0) + 1
        while offset + n < w_len:
            offset += 1
            idx = vocabulary.get(w[offset : offset + n])
            if idx is not None:
                counts[idx] = counts.get(idx, 0) + 1
        if offset == 0:
            break
    return np.fromiter(counts, dtype=np.int64, count=len(counts)), np.fromiter(
        counts.values(), dtype=np.float64, count=len(counts)
    )


def word_vectorizer_supported(vectorizer: Any) -> bool:
    """True for the word ``TfidfVectorizer`` settings :class:`NgramFeatures` reproduces exactly."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return (
        isinstance(vectorizer, TfidfVectorizer)
        and vectorizer.analyzer == "word"
        and vectorizer.lowercase
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.strip_accents is None
        and vectorizer.stop_words is None
        and tuple(vectorizer.ngram_range) in ((1, 1), (1, 2))
        and vectorizer.norm == "l2"
        and vectorizer.use_idf
        and not vectorizer.binary
        and hasattr(vectorizer, "idf_")
    )


FEW_TEXTS = 8  # up to this many texts, counts are merged with numpy rather than sparse products


def _expand(indptr: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows ``seq`` of a CSR with ``indptr``: for each of their entries, which position of ``seq``
    it belongs to, and its index in the CSR's ``indices``/``data``."""
    first = indptr[seq].astype(np.int64)
    counts = indptr[seq + 1] - first
    at = np.repeat(np.arange(len(seq)), counts)
    idx = first[at] + np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
    return at, idx


def _merge(n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum the values of repeated ``(row, column)`` pairs: a canonical CSR's ``(data, indices, indptr)``."""
    keys, inverse = np.unique(rows * width + cols, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(keys))
    return sums, (keys % width).astype(np.int32), np.searchsorted(keys // width, np.arange(n + 1)).astype(np.int32)


class NgramBatch(NamedTuple):
    """What :meth:`NgramFeatures.transform` gives for a batch of texts."""

    word: sp.csr_matrix
    char: sp.csr_matrix
    spans: NgramSpans
    doc: tuple[Doc, list[int]] | None  # the batch Doc and each text's first token, given a tokenizer


class _GrowingRows:
    """A sparse matrix that grows a row at a time: appended rows wait in lists until :meth:`flush`
    moves them into the arrays (capacity doubling); ``matrix()`` views the arrays as CSR."""

    def __init__(self, width: int, data_dtype: Any = np.float64) -> None:
        self.width = width
        self.rows = 0
        self.indptr = np.zeros(1025, dtype=np.int32)
        self.indices = np.empty(8192, dtype=np.int32)
        self.data = np.empty(8192, dtype=data_dtype)
        self._cols: list[Any] = []
        self._values: list[Any] = []
        self._lengths: list[int] = []

    def append(self, cols: list[int] | np.ndarray, values: list[float] | np.ndarray) -> None:
        self._cols.append(cols)
        self._values.append(values)
        self._lengths.append(len(cols))

    def flush(self) -> None:
        """Move the appended rows into the arrays."""
        if not self._lengths:
            return
        lo = int(self.indptr[self.rows])
        hi = lo + sum(self._lengths)
        if hi > len(self.indices):
            size = max(hi, 2 * len(self.indices))
            self.indices = np.resize(self.indices, size)
            self.data = np.resize(self.data, size)
        end = self.rows + len(self._lengths)
        if end + 1 > len(self.indptr):
            self.indptr = np.resize(self.indptr, max(end + 1, 2 * len(self.indptr)))
        if hi > lo:
            self.indices[lo:hi] = np.concatenate(self._cols)
            self.data[lo:hi] = np.concatenate(self._values)
        self.indptr[self.rows + 1 : end + 1] = lo + np.cumsum(self._lengths)
        self.rows = end
        self._cols, self._values, self._lengths = [], [], []

    def gather(self, seq: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries of table rows ``seq`` (repeats allowed) as ``(row, column, value)``, each
        labelled with the matching entry of ``rows``."""
        at, idx = _expand(self.indptr, seq)
        return rows[at], self.indices[idx], self.data[idx]

    def matrix(self) -> sp.csr_matrix:
        nnz = int(self.indptr[self.rows])
        return sp.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: self.rows + 1]), shape=(self.rows, self.width)
        )


@dataclass(frozen=True)
class NgramBlock:
    """What a fitted tf-idf vectorizer computes with: its vocabulary and idf, and its settings."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]
    sublinear: bool
    dtype: Any  # numpy dtype of the output
    token_pattern: str = ""  # word n-grams only

    @classmethod
    def of(cls, vectorizer: Any, *, idf: Any = None, dtype: Any = None) -> NgramBlock:
        """From a fitted ``TfidfVectorizer`` (``idf``/``dtype`` override its own)."""
        return cls(
            vocabulary=dict(vectorizer.vocabulary_),
            idf=np.asarray(vectorizer.idf_ if idf is None else idf),
            ngram_range=(int(vectorizer.ngram_range[0]), int(vectorizer.ngram_range[1])),
            sublinear=bool(vectorizer.sublinear_tf),
            dtype=np.dtype(vectorizer.dtype if dtype is None else dtype),
            token_pattern=vectorizer.token_pattern if vectorizer.analyzer == "word" else "",
        )


class NgramFeatures:
    """The word and character n-gram blocks of a fitted pipeline, worked out once per distinct chunk.

    Both vectorizers see a text as its whitespace-separated chunks: a word token never spans
    whitespace, and a ``char_wb`` n-gram never leaves its word. So a text's counts are the sum of its
    chunks' counts, plus the word bigrams that join the last token of one chunk to the first token of
    the next. Each distinct chunk is analysed once (its counts, its first and last tokens, where its
    n-grams sit); a batch of texts is then summed with one sparse product per block and the joining
    bigrams are looked up with numpy, so the work per text is a dictionary lookup per chunk.
    The numbers equal the vectorizers' (property-tested in tests/vocml/test_inference.py).

    Given spaCy's tokenizer, each chunk also remembers its spaCy tokens (spaCy, too, tokenizes each
    space-separated chunk on its own), and a batch comes with one ``Doc`` of all its texts for the
    cues (see :meth:`vocml.text.ChunkTokenizer.batch`, which it equals), built from the same lookups.

    Args:
        word: the word n-grams' settings and fitted numbers (:meth:`CompiledModel.from_pipeline`).
        char: the character n-grams' settings and fitted numbers.
        tokenizer: spaCy's tokenizer, to build the batch ``Doc``; ``None`` for none.
    """

    def __init__(self, word: NgramBlock, char: NgramBlock, tokenizer: Tokenizer | None = None) -> None:
        self.pattern = re.compile(word.token_pattern)
        self.vocabulary: dict[str, int] = word.vocabulary
        self.bigrams = word.ngram_range[1] == 2
        self.word_idf = word.idf
        self.word_dtype = word.dtype
        self.word_sublinear = word.sublinear
        self.char_vocabulary = char.vocabulary
        self.char_ngram_range = char.ngram_range
        self.char_sublinear = char.sublinear
        self.char_dtype = char.dtype
        self._char_idf = np.asarray(char.idf, dtype=np.float64)
        # Every token of the vocabulary gets an id; a joining bigram is found by the key a * T + b.
        tokens: dict[str, int] = {}
        for term in self.vocabulary:
            for token in term.split(" "):
                tokens.setdefault(token, len(tokens))
        self.tokens = tokens
        pairs = []
        for term, col in self.vocabulary.items():
            if " " in term:
                a, b = term.split(" ")
                pairs.append((tokens[a] * len(tokens) + tokens[b], col))
        pairs.sort()
        self._pair_keys = np.asarray([k for k, _ in pairs], dtype=np.int64)
        self._pair_cols = np.asarray([c for _, c in pairs], dtype=np.int32)
        self.tokenizer = tokenizer
        self._separator = tokenizer.vocab["\n"].orth if tokenizer is not None else 0
        self._reset()

    @classmethod
    def from_vectorizers(cls, word: Any, char: Any, tokenizer: Tokenizer | None = None) -> NgramFeatures:
        """From a fitted word ``TfidfVectorizer`` and :class:`~vocml.features.WordCharVectorizer`."""
        if not cls.supports(word, char):
            raise ValueError("these vectorizers' settings are not supported by NgramFeatures")
        return cls(NgramBlock.of(word), NgramBlock.of(char.vectorizer_, idf=char.idf_, dtype=char.dtype), tokenizer)

    @staticmethod
    def supports(word: Any, char: Any) -> bool:
        """True when ``word`` and ``char`` are the fitted vectorizers this class reproduces."""
        from vocml.features import WordCharVectorizer

        return word_vectorizer_supported(word) and isinstance(char, WordCharVectorizer) and hasattr(char, "idf_")

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}
        self._word_rows = _GrowingRows(len(self.word_idf))
        self._char_rows = _GrowingRows(len(self._char_idf))
        # Where each chunk's vocabulary n-grams sit in it: column -> start (and, same layout, -> end).
        self._occ_starts = _GrowingRows(len(self.word_idf))
        self._occ_ends = _GrowingRows(len(self.word_idf))
        # Per chunk: first and last token's id (-1 not in the vocabulary, -2 no token), end of the
        # first token, start of the last, the chunk's length, and 1 if lower-casing changed it.
        self._info = np.zeros((1024, 6), dtype=np.int64)
        self._new_info: list[tuple[int, int, int, int, int, bool]] = []
        # spaCy's tokens of each chunk (lexeme ids), and the chunks still to split
        self._orths = _GrowingRows(0, data_dtype=np.uint64)  # values only: its column indices are unused
        self._unsplit: list[str] = []
        self._tokenless = False  # whether some chunk gave spaCy no token

    def __len__(self) -> int:
        return len(self._ids)

    def _add(self, chunk: str) -> int:
        """Analyse a chunk seen for the first time; return its id."""
        low = chunk.lower()
        matches = list(self.pattern.finditer(low))
        toks = [m.group() for m in matches]
        get = self.vocabulary.get
        counts: dict[int, int] = {}
        occ: list[Occurrence] = []
        for j, m in enumerate(matches):
            col = get(toks[j])
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
                occ.append((col, m.start(), m.end()))
            if self.bigrams and j + 1 < len(toks):
                col = get(toks[j] + " " + toks[j + 1])
                if col is not None:
                    counts[col] = counts.get(col, 0) + 1
                    occ.append((col, m.start(), matches[j + 1].end()))
        self._word_rows.append(list(counts), list(counts.values()))
        char_cols, char_counts = char_wb_grams(low, self.char_vocabulary, *self.char_ngram_range)
        self._char_rows.append(char_cols, char_counts)
        self._occ_starts.append([c for c, _, _ in occ], [st for _, st, _ in occ])
        self._occ_ends.append([c for c, _, _ in occ], [en for _, _, en in occ])
        if toks:
            tok = self.tokens.get
            info = (tok(toks[0], -1), tok(toks[-1], -1), matches[0].end(), matches[-1].start(), len(chunk), len(low) != len(chunk))
        else:
            info = (-2, -2, 0, 0, len(chunk), len(low) != len(chunk))
        self._new_info.append(info)
        self._unsplit.append(chunk)
        chunk_id = self._ids[chunk] = len(self._ids)
        return chunk_id

    def _split_new(self) -> None:
        """spaCy's tokens of the chunks added since the last call (:func:`~vocml.text.split_chunks`)."""
        new, self._unsplit = self._unsplit, []
        if self.tokenizer is None:
            return
        for orths in split_chunks(self.tokenizer, new):
            self._tokenless = self._tokenless or not orths
            self._orths.append(np.zeros(len(orths), dtype=np.int32), np.asarray(orths, dtype=np.uint64))

    def _flush(self) -> None:
        """Move what :meth:`_add` learnt into the arrays the batch arithmetic reads."""
        if self._unsplit:
            self._split_new()
        self._orths.flush()
        for table in (self._word_rows, self._char_rows, self._occ_starts, self._occ_ends):
            table.flush()
        if self._new_info:
            end = len(self._ids)
            if end > len(self._info):
                self._info = np.resize(self._info, (max(end, 2 * len(self._info)), 6))
            self._info[end - len(self._new_info) : end] = self._new_info
            self._new_info = []

    def transform(self, texts: list[str]) -> NgramBatch:
        """The word and character tf-idf blocks of ``texts``, where their word n-grams occur, and
        (given a tokenizer) the batch ``Doc`` with each text's first token."""
        if len(self._ids) > MAX_CHUNKS:
            self._reset()
        try:
            seq, lengths = self._learn(texts)
        except BaseException:
            self._reset()  # a chunk half-learnt would break every later batch: forget them all
            raise
        return self._batch(texts, seq, lengths)

    def _learn(self, texts: list[str]) -> tuple[list[int], list[int]]:
        """Each text's chunk ids (analysing the chunks not seen before) and its number of chunks."""
        ids = self._ids
        get = ids.get
        add = self._add
        seq: list[int] = []
        lengths: list[int] = []
        for text in texts:
            chunks = text.split()
            found = list(map(get, chunks))
            if None in found:
                found = [i if i is not None else (get(c) if c in ids else add(c)) for i, c in zip(found, chunks, strict=True)]
            seq += found  # type: ignore[arg-type]  # every None was replaced just above
            lengths.append(len(found))
        self._flush()
        return seq, lengths

    def _batch(self, texts: list[str], seq: list[int], lengths: list[int]) -> NgramBatch:
        """The blocks of a batch whose chunks are all learnt."""
        ids = self._ids
        info = self._info
        n = len(texts)
        seq_a = np.asarray(seq, dtype=np.int32)
        row_ptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths, out=row_ptr[1:])
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pairs = self._joining_bigrams(seq_a, rows, info)
        # Word counts: the chunks' own n-grams plus the bigrams that join neighbouring chunks.
        if n <= FEW_TEXTS:  # gather and merge with numpy: scipy's constructors cost more for a few rows
            r, c, d = self._word_rows.gather(seq_a, rows)
            if pairs is not None:
                r, c, d = np.concatenate([r, pairs[0]]), np.concatenate([c, pairs[1]]), np.concatenate([d, np.ones(len(pairs[0]))])
            word = _merge(n, r, c, d, len(self.word_idf))
            char = _merge(n, *self._char_rows.gather(seq_a, rows), len(self._char_idf))
        else:
            docs = sp.csr_matrix((np.ones(len(seq_a)), seq_a, row_ptr), shape=(n, len(ids)))
            counts = docs @ self._word_rows.matrix()
            if pairs is not None:
                counts = counts + sp.csr_matrix((np.ones(len(pairs[0])), (pairs[0], pairs[1])), shape=counts.shape)
            counts = sp.csr_matrix(counts)
            word = counts.data, counts.indices, counts.indptr
            counts = docs @ self._char_rows.matrix()
            char = counts.data, counts.indices, counts.indptr
        word_data = word[0].astype(self.word_dtype)
        weigh_tfidf(word_data, word[1], word[2], self.word_idf, sublinear=self.word_sublinear)
        word_block = sp.csr_matrix((word_data, word[1], word[2]), shape=(n, len(self.word_idf)))
        char_data = char[0].astype(np.float64)
        weigh_tfidf(char_data, char[1], char[2], self._char_idf, sublinear=self.char_sublinear)
        char_block = sp.csr_matrix((char_data.astype(self.char_dtype), char[1], char[2]), shape=(n, len(self._char_idf)))
        spans = NgramSpans(self, texts, seq_a, rows, row_ptr, pairs)
        doc = self._doc(texts, seq_a, row_ptr) if self.tokenizer is not None else None
        return NgramBatch(word_block, char_block, spans, doc)

    def _doc(self, texts: list[str], seq: np.ndarray, row_ptr: np.ndarray) -> tuple[Doc, list[int]]:
        """What :meth:`vocml.text.ChunkTokenizer.batch` returns for ``texts``: one ``Doc``, each text
        followed by a line-break token, and the index of each text's first token (plus the length)."""
        assert self.tokenizer is not None
        ptr = self._orths.indptr
        at, idx = _expand(ptr, seq)
        # A chunk's last token is followed by a space: between chunks, and before the separator.
        spaces = (idx + 1) == ptr[seq[at] + 1]
        counts = np.diff(ptr)[seq] if len(seq) else np.zeros(0, dtype=np.int64)
        ends = np.concatenate([[0], np.cumsum(counts)])[row_ptr]  # each text's tokens: ends[i]:ends[i + 1]
        orths = self._orths.data[idx]
        # spaCy splits a text into the chunks between single spaces; other texts go to it whole.
        plain = [bool(t) and t[0] != " " and t[-1] != " " and t.isprintable() and "  " not in t for t in texts]
        if self._tokenless:
            empty = counts == 0
            plain = [p and not empty[row_ptr[i] : row_ptr[i + 1]].any() for i, p in enumerate(plain)]
        if all(plain):
            words = np.insert(orths, ends[1:], self._separator).tolist()
            flags = np.insert(spaces, ends[1:], False).tolist()
            bounds = (ends + np.arange(len(ends))).tolist()
            return Doc(self.tokenizer.vocab, words=words, spaces=flags), bounds  # type: ignore[arg-type]
        word_list, space_list = orths.tolist(), spaces.tolist()
        words, flags, bounds = [], [], [0]
        for i, text in enumerate(texts):
            if plain[i]:
                words += word_list[ends[i] : ends[i + 1]]
                flags += space_list[ends[i] : ends[i + 1]]
            else:
                doc = self.tokenizer(text)
                words += [t.orth for t in doc]
                flags += [bool(t.whitespace_) for t in doc]
            words.append(self._separator)
            flags.append(False)
            bounds.append(len(words))
        return Doc(self.tokenizer.vocab, words=words, spaces=flags), bounds  # type: ignore[arg-type]

    def _joining_bigrams(
        self, seq: np.ndarray, rows: np.ndarray, info: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Row, column and chunk positions (left, right) of each vocabulary bigram across two chunks."""
        if not self.bigrams or len(self._pair_keys) == 0 or len(seq) < 2:
            return None
        first, last = info[seq, 0], info[seq, 1]
        positions = np.flatnonzero(first != -2)  # chunks without tokens do not break a bigram
        left, right = positions[:-1], positions[1:]
        ok = (rows[left] == rows[right]) & (last[left] >= 0) & (first[right] >= 0)
        left, right = left[ok], right[ok]
        keys = last[left] * len(self.tokens) + first[right]
        at = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
        hit = self._pair_keys[at] == keys
        return rows[left[hit]], self._pair_cols[at[hit]], left[hit], right[hit]


class NgramSpans:
    """Where the word n-grams of a batch transformed by :class:`NgramFeatures` occur in its texts."""

    def __init__(
        self,
        features: NgramFeatures,
        texts: list[str],
        seq: np.ndarray,
        rows: np.ndarray,
        row_ptr: np.ndarray,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> None:
        self.features = features
        self.texts = texts
        self.seq = seq
        self.rows = rows
        self.row_ptr = row_ptr
        self.pairs = pairs

    def find(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> list[list[tuple[float, int, int]]]:
        """For each text, ``(weight, start, end)`` of every occurrence of the asked n-grams.

        ``rows``, ``cols``, ``weights``: which n-gram (column) of which text to locate, with its weight.
        """
        n = len(self.texts)
        out: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
        if len(rows) == 0:
            return out
        feats = self.features
        width = len(feats.word_idf)
        asked = rows.astype(np.int64) * width + cols
        order = np.argsort(asked, kind="stable")
        asked, asked_w = asked[order], weights[order]
        info = feats._info
        seq = self.seq
        starts = self._chunk_starts(info)
        # Every chunk's own occurrences, moved to the chunk's place in its text.
        at_pos, idx = _expand(feats._occ_starts.indptr, seq)
        r = self.rows[at_pos]
        c = feats._occ_starts.indices[idx].astype(np.int64)
        s_a = starts[at_pos] + feats._occ_starts.data[idx].astype(np.int64)
        e_a = starts[at_pos] + feats._occ_ends.data[idx].astype(np.int64)
        if self.pairs is not None:
            p_rows, p_cols, left, right = self.pairs
            r = np.concatenate([r, p_rows])
            c = np.concatenate([c, p_cols])
            s_a = np.concatenate([s_a, starts[left] + info[seq[left], 3]])
            e_a = np.concatenate([e_a, starts[right] + info[seq[right], 2]])
        keys = r * width + c
        at = np.minimum(np.searchsorted(asked, keys), len(asked) - 1)
        hit = asked[at] == keys
        shifted = self._shifted_rows(info)
        for row, w, s, e in zip(r[hit].tolist(), asked_w[at[hit]].tolist(), s_a[hit].tolist(), e_a[hit].tolist(), strict=True):
            if row not in shifted:
                out[row].append((w, s, e))
        if shifted:  # lower-casing moved characters in these texts: search them in the original text
            take = np.isin(rows, list(shifted))
            located = LocatedSpans(self.texts, feats.pattern, feats.vocabulary, bigrams=feats.bigrams)
            found = located.find(rows[take], cols[take], weights[take])
            for row in shifted:
                out[row] = found[row]
        return out

    def _chunk_starts(self, info: np.ndarray) -> np.ndarray:
        """Character offset of every chunk in its text."""
        seq, row_ptr = self.seq, self.row_ptr
        widths = info[seq, 4] + 1
        starts = np.cumsum(widths) - widths
        row_starts = np.append(starts, 0)[row_ptr[:-1]]  # (an empty text's value is never used)
        starts -= np.repeat(row_starts, np.diff(row_ptr))
        # Where the chunks would end if one character separated them; other texts are measured.
        ends = np.zeros(len(self.texts), dtype=np.int64)
        filled = np.diff(row_ptr) > 0
        last = row_ptr[1:][filled] - 1
        ends[filled] = starts[last] + widths[last] - 1
        lengths = np.fromiter(map(len, self.texts), dtype=np.int64, count=len(self.texts))
        for i in np.flatnonzero(filled & (ends != lengths)).tolist():
            starts[row_ptr[i] : row_ptr[i + 1]] = [m.start() for m in _CHUNK.finditer(self.texts[i])]
        return starts

    def _shifted_rows(self, info: np.ndarray) -> set[int]:
        shifted = info[self.seq, 5] != 0
        return set(self.rows[shifted].tolist()) if shifted.any() else set()


class LocatedSpans:
    """:class:`NgramSpans` for pipelines :class:`NgramFeatures` does not reproduce: each text is searched."""

    def __init__(self, texts: list[str], pattern: re.Pattern[str], vocabulary: dict[str, int], *, bigrams: bool) -> None:
        self.texts = texts
        self.pattern = pattern
        self.vocabulary = vocabulary
        self.bigrams = bigrams

    def find(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> list[list[tuple[float, int, int]]]:
        """As :meth:`NgramSpans.find`."""
        asked: dict[int, dict[int, float]] = {}
        for row, col, w in zip(rows.tolist(), cols.tolist(), weights.tolist(), strict=True):
            asked.setdefault(row, {})[col] = w
        out: list[list[tuple[float, int, int]]] = [[] for _ in self.texts]
        for row, mine in asked.items():
            occ = locate_ngrams(self.texts[row], self.pattern, self.vocabulary, bigrams=self.bigrams)
            out[row] = [(mine[col], s, e) for col, s, e in occ if col in mine]
        return out


def locate_ngrams(text: str, pattern: re.Pattern[str], vocabulary: dict[str, int], *, bigrams: bool) -> list[Occurrence]:
    """Where each vocabulary unigram (and bigram) occurs in ``text``, tokens lower-cased one by one."""
    matches = list(pattern.finditer(text))
    tokens = [m.group().lower() for m in matches]
    occ: list[Occurrence] = []
    for j, (m, token) in enumerate(zip(matches, tokens, strict=True)):
        col = vocabulary.get(token)
        if col is not None:
            occ.append((col, m.start(), m.end()))
        if bigrams and j + 1 < len(tokens):
            col = vocabulary.get(token + " " + tokens[j + 1])
            if col is not None:
                occ.append((col, m.start(), matches[j + 1].end()))
    return occ


class LinearScores:
    """Calibrated probabilities of a fitted ``CalibratedClassifierCV(LogisticRegression, ensemble=False,
    method="temperature")`` from its feature blocks.

    Args:
        coef: the linear model's coefficients, one row per label.
        intercept: its intercepts.
        beta: the temperature calibrator's ``beta_``.
        widths: the number of columns of each feature block, in the union's order.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, beta: float, widths: list[int]) -> None:
        coef = np.asarray(coef, dtype=np.float64)
        bounds = np.cumsum([0, *widths])
        # Each block's coefficients, transposed and contiguous for sparse @ dense.
        self.blocks = [np.ascontiguousarray(coef[:, lo:hi].T) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.beta = float(beta)

    @classmethod
    def from_estimator(cls, calibrated: Any, widths: list[int]) -> LinearScores:
        """From the fitted calibrated classifier (see :meth:`supports`)."""
        if not cls.supports(calibrated):
            raise ValueError("only a single temperature-calibrated linear model is supported")
        inner = calibrated.calibrated_classifiers_[0]
        return cls(inner.estimator.coef_, inner.estimator.intercept_, inner.calibrators[0].beta_, widths)

    @staticmethod
    def supports(calibrated: Any) -> bool:
        """True for one temperature-calibrated multinomial linear model (the shipped configuration)."""
        inners = getattr(calibrated, "calibrated_classifiers_", None)
        if not inners or len(inners) != 1 or inners[0].method != "temperature":
            return False
        coef = getattr(inners[0].estimator, "coef_", None)
        return coef is not None and coef.shape[0] == len(calibrated.classes_) > 2

    def predict_proba(self, blocks: list[sp.csr_matrix]) -> np.ndarray:
        """Probabilities, one row per text, from the feature blocks (same order as ``widths``)."""
        decision = self.intercept + sum(
            np.asarray(X @ W, dtype=np.float64) for X, W in zip(blocks, self.blocks, strict=True)
        )
        if np.all((decision >= 0) & (decision <= 1)) and np.allclose(decision.sum(axis=1), 1.0):
            # what scikit-learn does with decision values that look like probabilities
            logits = self.beta * np.log(decision + 1e-12)
        else:
            logits = self.beta * decision
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[(logits > 1.0) & (logits <= 1.0 + 1e-5)] = 1.0
        return logits


COMPILED_FORMAT = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same model always gives the same bytes


@dataclass(frozen=True)
class CompiledModel:
    """Everything prediction needs from a fitted pipeline, as plain numbers.

    Saved beside the joblib pipeline (``inference.npz``: JSON and ``.npy`` arrays in a zip, read with
    ``allow_pickle=False``), it loads in milliseconds without importing scikit-learn or unpickling
    anything. Only the shipped configuration compiles (:meth:`from_pipeline` returns ``None`` for
    others, which then predict through scikit-learn).
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

    @property
    def widths(self) -> list[int]:
        """Columns of each feature block, in :attr:`parts` order."""
        size = {"word": len(self.word.idf), "char": len(self.char.idf), "cues": len(self.cue_names)}
        return [size[name] for name in self.parts]

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> CompiledModel | None:
        """The fitted numbers of ``pipeline``, or ``None`` if its configuration is not the shipped one."""
        from vocml.features import CueVectorizer

        union, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
        parts = [(name, t) for name, t in union.transformer_list if t not in ("drop", None)]
        named = dict(parts)
        if (
            sorted(named) != ["char", "cues", "word"]
            or getattr(union, "transformer_weights", None)
            or not NgramFeatures.supports(named["word"], named["char"])
            or not isinstance(named["cues"], CueVectorizer)
            or not LinearScores.supports(clf)
        ):
            return None
        inner = clf.calibrated_classifiers_[0]
        char = named["char"]
        return cls(
            labels=[str(c) for c in clf.classes_],
            parts=[name for name, _ in parts],
            word=NgramBlock.of(named["word"]),
            char=NgramBlock.of(char.vectorizer_, idf=char.idf_, dtype=char.dtype),
            cue_names=list(named["cues"].cue_names_),
            lang=named["cues"].lang,
            coef=np.asarray(inner.estimator.coef_, dtype=np.float64),
            intercept=np.asarray(inner.estimator.intercept_, dtype=np.float64),
            beta=float(inner.calibrators[0].beta_),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path`` (the same bytes for the same model)."""
        meta = {
            "format": COMPILED_FORMAT,
            "labels": self.labels,
            "parts": self.parts,
            "cue_names": self.cue_names,
            "lang": self.lang,
            "beta": self.beta,
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
