"""Cues: named phrase lists from the labeling guide (data/LABELING.md), kept as data in ``cues.toml``.

Each cue votes one label when one of its phrases occurs and abstains otherwise; its ``title`` (plain
words) and ``description`` (the rule) are what the dashboard shows. All cues share one
``PhraseMatcher`` pass over lemmas (:func:`match_cues`), which is negation-aware: a phrase preceded
within three tokens by a negator ("never pushed", "nobody asked"), with no sentence punctuation
between them, counts as the entry's ``when_negated`` says (another cue, or nothing).

Adding a cue means one entry in ``cues.toml`` and one example row in tests/vocml/test_cues.py. A
behaviour change to a cue gets a new name, so old model cards keep their meaning.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from spacy.attrs import IDX, LENGTH, LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from vocml.errors import ConfigError, UnknownCueError
from vocml.text import get_chunk_tokenizer, get_nlp, surface_forms_of

Span = tuple[int, int]

NEGATORS = frozenset(
    {
        "not",
        "n't",
        "never",
        "no",
        "nobody",
        "without",
        "none",
        "zero",
        "nothing",
        "noone",
        "neither",
        "nor",
        "didnt",
        "dont",
        "wasnt",
        "wont",
        "cannot",
        "nt",
    }
)

REGISTRY_FILE = Path(__file__).with_name("cues.toml")
NEGATION_RULES = ("drop", "keep")  # besides another cue's name


@dataclass(frozen=True, slots=True)
class Cue:
    """A registered cue (one entry of ``cues.toml``): what it is called, the label it votes, what a
    reader sees, its phrases and what a negated phrase counts as."""

    name: str
    label: str
    title: str  # plain words for the dashboard ("discount or price push")
    description: str  # the rule, for the tooltip
    phrases: tuple[str, ...]  # matched on lemmas: "ask" also matches "asked"
    when_negated: str  # another cue's name, "drop" or "keep"

    def spans(self, doc: Doc) -> list[Span]:
        """Character spans of this cue in ``doc`` (empty: the cue abstains)."""
        return match_cues(doc).get(self.name, [])


def load_registry(path: Path = REGISTRY_FILE) -> dict[str, Cue]:
    """Read and check the cue registry; raise :class:`ConfigError` naming the entry and the fix."""
    with path.open("rb") as fh:
        entries = tomllib.load(fh).get("cue", [])
    labels = ("pitch_first", "needs_first", "no_signal")
    registry: dict[str, Cue] = {}
    for i, entry in enumerate(entries):
        where = f"{path.name}: cue {i + 1} ({entry.get('name', 'no name')!r})"
        missing = [k for k in ("name", "label", "title", "description", "when_negated", "phrases") if k not in entry]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if entry["label"] not in labels:
            raise ConfigError(f"{where}: label must be one of {', '.join(labels)}")
        if entry["name"] in registry:
            raise ConfigError(f"{where}: the name is already used by an earlier entry")
        phrases = [str(p).lower() for p in entry["phrases"]]
        for parts in entry.get("combinations", []):
            phrases += [" ".join(words) for words in itertools.product(*parts)]
        retired = {str(p).lower() for p in entry.get("retired", [])}
        phrases = [p for p in phrases if p not in retired]
        if not phrases or any(not p.strip() for p in phrases):
            raise ConfigError(f"{where}: needs at least one phrase and no empty ones")
        registry[entry["name"]] = Cue(
            entry["name"],
            entry["label"],
            entry["title"],
            entry["description"],
            tuple(dict.fromkeys(phrases)),
            entry["when_negated"],
        )
    for cue in registry.values():
        if cue.when_negated not in NEGATION_RULES and cue.when_negated not in registry:
            raise ConfigError(
                f"{path.name}: cue {cue.name!r}: when_negated must be a cue name, 'drop' or 'keep', "
                f"not {cue.when_negated!r}"
            )
    return registry


CUES: dict[str, Cue] = load_registry()
CUE_NAMES: tuple[str, ...] = tuple(CUES)
PHRASES: dict[str, tuple[str, ...]] = {name: cue.phrases for name, cue in CUES.items()}
LABEL_OF: dict[str, str] = {name: cue.label for name, cue in CUES.items()}


MAX_VARIANTS = 256


def _variants(tokens: list[str], forms: dict[str, frozenset[str]]) -> list[str]:
    """Every surface form of a phrase whose tokens share the phrase tokens' lemmas (``forms``: the
    :func:`~vocml.text.surface_forms` of each token)."""
    options = [sorted(forms[t]) for t in tokens]
    out = [""]
    for choices in options:
        out = [f"{prefix} {f}".strip() for prefix in out for f in choices][:MAX_VARIANTS]
    return out


@lru_cache(maxsize=4)
def _matcher(lang: str = "en") -> tuple[PhraseMatcher, Language]:
    """One PhraseMatcher over lower-case forms, with each phrase expanded to its inflections.

    Matching "ask" against every form that spaCy's lookup table lemmatises to "ask" (asks, asked,
    asking) is the same as matching lemmas, without running the lemmatizer on every text.
    """
    nlp = get_nlp(lang)
    tokens = {name: [[t.lower_ for t in nlp.make_doc(text)] for text in phrases] for name, phrases in PHRASES.items()}
    forms = surface_forms_of({t for phrases in tokens.values() for phrase in phrases for t in phrase})
    variants: list[tuple[str, str]] = []
    for name, phrases in tokens.items():
        found: set[str] = set()
        for phrase_tokens in phrases:
            found.update(_variants(phrase_tokens, forms))
        variants += [(name, form) for form in sorted(found)]
    # Each variant as its tokens' LOWER ids, which is all the matcher keeps of a pattern Doc: one
    # Doc for them all costs a fraction of a Doc each (thousands of them, at every start).
    doc, bounds = get_chunk_tokenizer(lang).batch([form for _, form in variants])
    lowers = doc.to_array(LOWER).tolist()
    patterns: dict[str, list[list[int]]] = {}
    for (name, _), lo, hi in zip(variants, bounds, bounds[1:], strict=False):
        patterns.setdefault(name, []).append(lowers[lo : hi - 1])
    phrase = PhraseMatcher(nlp.vocab, attr="LOWER")
    for name, keys in patterns.items():
        phrase.add(name, keys)  # type: ignore[arg-type]  # lexeme-id lists: what Doc-free PhraseMatcher keys are
    return phrase, nlp


@lru_cache(maxsize=4)
def _token_ids(lang: str = "en") -> tuple[dict[int, str], np.ndarray, np.ndarray]:
    """Cue name of each match id, and the lower-case ids of the negators and of sentence punctuation."""
    strings = get_nlp(lang).vocab.strings
    names = {strings.add(name): name for name in PHRASES}
    negators = np.asarray(sorted(strings.add(w) for w in NEGATORS), dtype=np.uint64)
    stops = np.asarray(sorted(strings.add(p) for p in ".;!?"), dtype=np.uint64)
    return names, negators, stops


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a small sorted set, without ``isin``'s set-up cost."""
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def match_cues(doc: Doc) -> dict[str, list[Span]]:
    """Run every cue over ``doc`` in one pass; return cue name -> character spans (only cues that fired).

    ``doc`` only needs tokens (``nlp.make_doc(text)`` is enough). Never raises and never mutates ``doc``.
    """
    return match_batch(doc, [0, len(doc) + 1])[0]


def match_texts(texts: Sequence[str], lang: str = "en") -> list[dict[str, list[Span]]]:
    """:func:`match_cues` of each text's ``Doc``, matched in one pass over a ``Doc`` of the whole batch."""
    doc, bounds = get_chunk_tokenizer(lang).batch(texts)
    return match_batch(doc, bounds, lang)


def match_batch(doc: Doc, bounds: list[int], lang: str = "en") -> list[dict[str, list[Span]]]:
    """Cue hits of each text of a batch ``Doc``: text ``i`` is tokens ``bounds[i]`` up to
    ``bounds[i + 1] - 1`` (a separator no phrase contains, or the end), and starts at its first
    token's character offset; spans are relative to the text.

    A phrase is negated when one of the three tokens before it (within its text, not across ``.``,
    ``;``, ``!`` or ``?``) is a negator; it then counts as the cue's ``when_negated`` says.
    """
    phrase, _ = _matcher(lang)
    names, negators, stops = _token_ids(lang)
    out: list[dict[str, list[Span]]] = [{} for _ in range(len(bounds) - 1)]
    matches = phrase(doc) if len(doc) else []
    if not matches:
        return out
    table = doc.to_array([LOWER, IDX, LENGTH])
    lower = table[:, 0]
    starts = np.fromiter((m[1] for m in matches), dtype=np.int64, count=len(matches))
    ends = np.fromiter((m[2] for m in matches), dtype=np.int64, count=len(matches))
    text_of = np.searchsorted(np.asarray(bounds), starts, side="right") - 1
    first = np.asarray(bounds)[text_of]
    # Negated: a negator among the three tokens before, with no sentence punctuation in between.
    negated = np.zeros(len(starts), dtype=bool)
    decided = np.zeros(len(starts), dtype=bool)
    for back in (1, 2, 3):
        at = starts - back
        open_ = ~decided & (at >= first)
        before = lower[np.maximum(at, 0)]
        is_negator = open_ & _member(before, negators)
        negated |= is_negator
        decided |= is_negator | (open_ & _member(before, stops))
    text_start = table[np.minimum(first, len(doc) - 1), 1].astype(np.int64)  # a text starts at its first token
    span_start = table[starts, 1].astype(np.int64) - text_start
    span_end = table[ends - 1, 1].astype(np.int64) + table[ends - 1, 2].astype(np.int64) - text_start
    for (match_id, _, _), i, neg, s, e in zip(
        matches, text_of.tolist(), negated.tolist(), span_start.tolist(), span_end.tolist(), strict=True
    ):
        name = names[match_id]
        if neg:
            rule = CUES[name].when_negated
            if rule == "drop":
                continue
            if rule != "keep":
                name = rule
        out[i].setdefault(name, []).append((s, e))
    for hits in out:
        for spans in hits.values():
            spans.sort()
    return out


def registry_digest(names: Sequence[str]) -> str:
    """sha256 of what decides the hits of the cues ``names`` (their labels, phrases and negation, and
    those of the cues their negated phrases count as): a model records it, and refuses to load when the
    registry has changed under it (titles and descriptions do not count)."""
    wanted = set(names)
    wanted |= {CUES[n].when_negated for n in list(wanted) if n in CUES and CUES[n].when_negated in CUES}
    entries = [
        {"name": c.name, "label": c.label, "phrases": list(c.phrases), "when_negated": c.when_negated}
        for c in CUES.values()
        if c.name in wanted
    ]
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def resolve_cue_names(names: Iterable[str] | None) -> list[str]:
    """Return the cue names to use (all when ``None``); raise :class:`UnknownCueError` for others."""
    if names is None:
        return list(CUE_NAMES)
    out = list(names)
    unknown = [n for n in out if n not in CUES]
    if unknown:
        raise UnknownCueError(f"unknown cue(s) {', '.join(map(repr, unknown))}; known cues: {', '.join(CUE_NAMES)}")
    return out


def cue_matrix(hits: Sequence[dict[str, list[Span]]], names: Sequence[str]) -> sp.csr_matrix:
    """Binary indicators, one row per text and one column per name in ``names``, of the cues in ``hits``."""
    index = {name: i for i, name in enumerate(names)}
    indptr = [0]
    indices: list[int] = []
    for row in hits:
        indices.extend(sorted(index[name] for name in row if name in index))
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
        shape=(len(hits), len(names)),
    )


MIN_FIRES = 3  # a phrase is judged on real text once it fires on this many texts
MIN_PRECISION = 0.6  # ... and retired when fewer than this share of them carry its cue's label


def misleading_phrases(texts: Sequence[str], labels: Sequence[str]) -> dict[str, list[tuple[str, int, float]]]:
    """Per cue, the phrases that mislead on labelled texts: each fires on at least :data:`MIN_FIRES` of
    ``texts``, fewer than :data:`MIN_PRECISION` of which carry the cue's label. ``(phrase, fires, precision)``.

    Phrases of one cue that share a lemma ("ask" and "asked") match the same words: a surface form
    counts for every phrase that produces it, so such phrases are judged (and retired) together. A hit
    credited to a cue by negation ("never pushy" for ``negated_push``) counts for no phrase of it.
    """
    nlp = get_nlp()
    phrases_of: dict[tuple[str, str], set[str]] = {}
    for name, cue in CUES.items():
        tokens = {p: [t.lower_ for t in nlp.make_doc(p)] for p in cue.phrases}
        forms = surface_forms_of({t for toks in tokens.values() for t in toks})
        for phrase, toks in tokens.items():
            for v in _variants(toks, forms):
                phrases_of.setdefault((name, v), set()).add(phrase)
    fires: dict[tuple[str, str], list[int]] = {}
    for text, label, hits in zip(texts, labels, match_texts(texts), strict=True):
        for name, spans in hits.items():
            seen: set[str] = set()
            for s, e in spans:
                surface = " ".join(t.lower_ for t in nlp.make_doc(text[s:e]))
                seen |= phrases_of.get((name, surface), set())
            for phrase in seen:
                counts = fires.setdefault((name, phrase), [0, 0])
                counts[0] += 1
                counts[1] += label == CUES[name].label
    out: dict[str, list[tuple[str, int, float]]] = {}
    for (name, phrase), (n, right) in sorted(fires.items()):
        if n >= MIN_FIRES and right / n < MIN_PRECISION:
            out.setdefault(name, []).append((phrase, n, right / n))
    return out


def describe_cues() -> list[dict[str, str]]:
    """Name, label, plain-words title and rule of every cue, for reports and the dashboard."""
    return [{"name": c.name, "label": c.label, "title": c.title, "description": c.description} for c in CUES.values()]
