"""vocml.text: the chunk-caching tokenizer gives spaCy's own Doc, token for token."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vocml.text import ChunkTokenizer, get_chunk_tokenizer, get_tokenizer, lemma_of, surface_forms

PIECES = st.sampled_from(
    [
        "don't",
        "Don't.",
        "e.g.",
        "(e.g.",
        "U.S.",
        "can't!",
        "it's",
        "£5",
        "20%",
        "re-quote",
        "3/4",
        "—",
        ":)",
        "hello",
        "WORLD",
        "a.m.",
        "naïve",
        "İstanbul",
        "https://x.io/a?b=1",
        "x@y.com",
        '"quoted"',
        "end.",
        "'s",
    ]
)
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", "\u00a0", ""])


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=25))
    out = ""
    for piece in pieces:
        out += piece + draw(SEPARATORS)
    return out


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return [t.text_with_ws for t in a] == [t.text_with_ws for t in b] and a.text == b.text


@settings(max_examples=400, deadline=None)
@given(texts())
def test_chunk_tokenizer_equals_spacy(text: str) -> None:
    tokenizer = ChunkTokenizer(get_tokenizer())
    first = tokenizer(text)
    again = tokenizer(text)  # from the chunk cache this time
    expected = get_tokenizer()(text)
    assert _same(first, expected)
    assert _same(again, expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts(), max_size=6))
def test_a_batch_doc_holds_each_text_as_spacy_splits_it(batch: list[str]) -> None:
    tokenizer = ChunkTokenizer(get_tokenizer())  # nothing remembered: new chunks are learnt together
    for _ in range(2):
        doc, bounds = tokenizer.batch(batch)
        assert len(bounds) == len(batch) + 1 and bounds[-1] == len(doc)
        for i, text in enumerate(batch):
            tokens = doc[bounds[i] : bounds[i + 1] - 1]
            expected = get_tokenizer()(text)
            assert [t.text for t in tokens] == [t.text for t in expected]
            assert doc[bounds[i + 1] - 1].text == "\n"  # the separator
            start = doc[bounds[i]].idx  # where the text starts in the batch Doc
            assert doc.text[start : start + len(text)] == text


def test_chunk_tokenizer_splits_contractions_and_punctuation() -> None:
    doc = get_chunk_tokenizer()("Nobody asked, they didn't listen.")
    assert [t.text for t in doc] == ["Nobody", "asked", ",", "they", "did", "n't", "listen", "."]
    assert doc.text == "Nobody asked, they didn't listen."


def test_lemma_tables() -> None:
    assert lemma_of("Asked") == "ask"
    assert {"asks", "asked", "asking"} <= surface_forms("ask")
