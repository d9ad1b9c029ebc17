"""The word and character n-gram tf-idf blocks of a fitted model, computed once per distinct chunk
of text, without scikit-learn (its per-call checks cost several times the arithmetic for one text).

:class:`NgramFeatures` also gives where the word n-grams of a batch sit (:class:`~vocml.spans.NgramSpans`,
for the evidence) and one spaCy ``Doc`` of the batch (for the cues). Property-tested against the
fitted vectorizers in tests/vocml/test_ngrams.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from vocml.spans import NgramSpans, Occurrence
from vocml.sparse_rows import GrowingRows, expand, merge
from vocml.text import split_chunks
from vocml.tfidf import char_wb_grams, weigh_tfidf
from vocml.windows import SENTENCE_END, chunk_spans, plan

MAX_CHUNKS = 200_000  # distinct chunks remembered; the table starts again past this
FEW_TEXTS = 8  # up to this many texts, counts are merged with numpy rather than sparse products


def single_spaced(text: str) -> bool:
    """Whether ``text`` is its chunks joined by single spaces (no other whitespace, none at the ends):
    then spaCy splits it at those spaces and a chunk's offset follows from the lengths before it."""
    return bool(text) and text[0] != " " and text[-1] != " " and text.isprintable() and "  " not in text


class WindowBlocks(NamedTuple):
    """The sentence windows of a batch (:mod:`vocml.windows`): their word and character blocks, the text
    each belongs to, and where in that text each starts and ends (characters)."""

    word: sp.csr_matrix
    char: sp.csr_matrix
    owner: np.ndarray
    start: np.ndarray
    end: np.ndarray


class NgramBatch(NamedTuple):
    """What :meth:`NgramFeatures.transform` gives for a batch of texts."""

    word: sp.csr_matrix
    char: sp.csr_matrix
    spans: NgramSpans
    doc: tuple[Doc, list[int]] | None  # the batch Doc and each text's first token, given a tokenizer
    windows: WindowBlocks | None = None  # asked for with ``windows=True``, given a tokenizer


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
    The numbers equal the vectorizers' (property-tested in tests/vocml/test_ngrams.py).

    Given spaCy's tokenizer, each chunk also remembers its spaCy tokens (spaCy, too, tokenizes each
    space-separated chunk on its own), and a batch comes with one ``Doc`` of all its texts for the
    cues (see :meth:`vocml.text.ChunkTokenizer.batch`, which it equals), built from the same lookups.

    Args:
        word: the word n-grams' settings and fitted numbers (see :func:`vocml.compile.compile_pipeline`).
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
        self._end_orths = {tokenizer.vocab[s].orth for s in SENTENCE_END} if tokenizer is not None else set()
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}
        self._word_rows = GrowingRows(len(self.word_idf))
        self._char_rows = GrowingRows(len(self._char_idf))
        # Where each chunk's vocabulary n-grams sit in it: column -> start (and, same layout, -> end).
        self._occ_starts = GrowingRows(len(self.word_idf))
        self._occ_ends = GrowingRows(len(self.word_idf))
        # Per chunk: first and last token's id (-1 not in the vocabulary, -2 no token), end of the
        # first token, start of the last, the chunk's length, and 1 if lower-casing changed it.
        self._info = np.zeros((1024, 6), dtype=np.int64)
        self._new_info: list[tuple[int, int, int, int, int, bool]] = []
        # spaCy's tokens of each chunk (lexeme ids), and the chunks still to split
        self._orths = GrowingRows(0, data_dtype=np.uint64)  # values only: its column indices are unused
        self._unsplit: list[str] = []
        self._tokenless = False  # whether some chunk gave spaCy no token
        self._ends = np.zeros(1024, dtype=bool)  # per chunk id: its last spaCy token ends a sentence

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
            info = (
                tok(toks[0], -1),
                tok(toks[-1], -1),
                matches[0].end(),
                matches[-1].start(),
                len(chunk),
                len(low) != len(chunk),
            )
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
        flags = []
        for orths in split_chunks(self.tokenizer, new):
            self._tokenless = self._tokenless or not orths
            self._orths.append(np.zeros(len(orths), dtype=np.int32), np.asarray(orths, dtype=np.uint64))
            flags.append(bool(orths) and orths[-1] in self._end_orths)
        end = len(self._ids)  # the new chunks are the last ids, in order
        if end > len(self._ends):
            self._ends = np.resize(self._ends, max(end, 2 * len(self._ends)))
        self._ends[end - len(flags) : end] = flags

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

    def transform(self, texts: list[str], *, windows: bool = False) -> NgramBatch:
        """The word and character tf-idf blocks of ``texts``, where their word n-grams occur, and
        (given a tokenizer) the batch ``Doc`` with each text's first token and, with ``windows``, the
        blocks of the texts' sentence windows (:mod:`vocml.windows`)."""
        if len(self._ids) > MAX_CHUNKS:
            self._reset()
        try:
            seq, lengths = self._learn(texts)
        except BaseException:
            self._reset()  # a chunk half-learnt would break every later batch: forget them all
            raise
        return self._batch(texts, seq, lengths, windows=windows and self.tokenizer is not None)

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
                found = [
                    i if i is not None else (get(c) if c in ids else add(c)) for i, c in zip(found, chunks, strict=True)
                ]
            seq += found  # type: ignore[arg-type]  # every None was replaced just above
            lengths.append(len(found))
        self._flush()
        return seq, lengths

    def _batch(self, texts: list[str], seq: list[int], lengths: list[int], *, windows: bool = False) -> NgramBatch:
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
                r, c, d = (
                    np.concatenate([r, pairs[0]]),
                    np.concatenate([c, pairs[1]]),
                    np.concatenate([d, np.ones(len(pairs[0]))]),
                )
            word = merge(n, r, c, d, len(self.word_idf))
            char = merge(n, *self._char_rows.gather(seq_a, rows), len(self._char_idf))
        else:
            docs = sp.csr_matrix((np.ones(len(seq_a)), seq_a, row_ptr), shape=(n, len(ids)))
            counts = docs @ self._word_rows.matrix()
            if pairs is not None:
                counts = counts + sp.csr_matrix((np.ones(len(pairs[0])), (pairs[0], pairs[1])), shape=counts.shape)
            counts = sp.csr_matrix(counts)
            word = counts.data, counts.indices, counts.indptr
            counts = docs @ self._char_rows.matrix()
            char = counts.data, counts.indices, counts.indptr
        word_block, char_block = self._weigh(n, word, char)
        spans = NgramSpans(self, texts, seq_a, rows, row_ptr, pairs)
        doc = self._doc(texts, seq_a, row_ptr) if self.tokenizer is not None else None
        window_blocks = self._windows(texts, seq_a, rows, row_ptr, pairs) if windows else None
        return NgramBatch(word_block, char_block, spans, doc, window_blocks)

    def _weigh(
        self, n: int, word: tuple[Any, Any, Any], char: tuple[Any, Any, Any]
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The tf-idf blocks of ``n`` rows of word and character counts (CSR ``data, indices, indptr``)."""
        word_data = word[0].astype(self.word_dtype)
        weigh_tfidf(word_data, word[1], word[2], self.word_idf, sublinear=self.word_sublinear)
        word_block = sp.csr_matrix((word_data, word[1], word[2]), shape=(n, len(self.word_idf)))
        char_data = char[0].astype(np.float64)
        weigh_tfidf(char_data, char[1], char[2], self._char_idf, sublinear=self.char_sublinear)
        char_block = sp.csr_matrix(
            (char_data.astype(self.char_dtype), char[1], char[2]), shape=(n, len(self._char_idf))
        )
        return word_block, char_block

    def _windows(
        self,
        texts: list[str],
        seq: np.ndarray,
        rows: np.ndarray,
        row_ptr: np.ndarray,
        pairs: tuple[np.ndarray, ...] | None,
    ) -> WindowBlocks:
        """The blocks of the batch's sentence windows: each window's counts are its chunks' counts plus
        the joining bigrams inside it (:func:`vocml.windows.plan` says which chunks)."""
        start, end, owner, end_pos, win_of_sent = plan(self._ends[seq], rows, row_ptr)
        m = len(start)
        sizes = end - start + 1
        wptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(sizes, out=wptr[1:])
        positions = np.repeat(start - wptr[:-1], sizes) + np.arange(wptr[-1])
        docs = sp.csr_matrix((np.ones(len(positions)), seq[positions], wptr), shape=(m, len(self._ids)))
        counts = docs @ self._word_rows.matrix()
        if pairs is not None and m:
            _, cols, left, right = pairs
            s_left = np.searchsorted(end_pos, left)
            # a joining bigram is in a window when both its chunks are in that sentence
            w = np.where(s_left == np.searchsorted(end_pos, right), win_of_sent[s_left], -1)
            keep = w >= 0
            counts = counts + sp.csr_matrix((np.ones(int(keep.sum())), (w[keep], cols[keep])), shape=counts.shape)
        counts = sp.csr_matrix(counts)
        char_counts = sp.csr_matrix(docs @ self._char_rows.matrix())
        word_block, char_block = self._weigh(
            m,
            (counts.data, counts.indices, counts.indptr),
            (char_counts.data, char_counts.indices, char_counts.indptr),
        )
        # Where each window starts and ends: from the chunks' lengths where single spaces separate them,
        # else by finding the chunks again.
        step = self._info[seq, 4] + 1
        offset = np.cumsum(step) - step  # of each position, counted from the batch's first chunk
        first = row_ptr[owner]
        start_char = offset[start] - offset[first]
        end_char = offset[end] - offset[first] + step[end] - 1
        for i in np.unique(owner).tolist():
            text = texts[i]
            if not single_spaced(text):
                chunks = chunk_spans(text)
                at = np.flatnonzero(owner == i)
                start_char[at] = [chunks[p][0] for p in (start[at] - first[at]).tolist()]
                end_char[at] = [chunks[p][1] for p in (end[at] - first[at]).tolist()]
        return WindowBlocks(word_block, char_block, owner, start_char, end_char)

    def _doc(self, texts: list[str], seq: np.ndarray, row_ptr: np.ndarray) -> tuple[Doc, list[int]]:
        """What :meth:`vocml.text.ChunkTokenizer.batch` returns for ``texts``: one ``Doc``, each text
        followed by a line-break token, and the index of each text's first token (plus the length)."""
        assert self.tokenizer is not None
        ptr = self._orths.indptr
        at, idx = expand(ptr, seq)
        # A chunk's last token is followed by a space: between chunks, and before the separator.
        spaces = (idx + 1) == ptr[seq[at] + 1]
        counts = np.diff(ptr)[seq] if len(seq) else np.zeros(0, dtype=np.int64)
        ends = np.concatenate([[0], np.cumsum(counts)])[row_ptr]  # each text's tokens: ends[i]:ends[i + 1]
        orths = self._orths.data[idx]
        # spaCy splits a text into the chunks between single spaces; other texts go to it whole.
        plain = [single_spaced(t) for t in texts]
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
