"""Cues: small, named rules over a spaCy ``Doc``, taken from the labeling guide (data/LABELING.md).

Each cue votes one label when it fires and abstains otherwise. A cue is a plain function
``cue(doc) -> list[tuple[int, int]]`` returning the character spans it matched (empty: abstain);
its docstring is what the dashboard shows. All cues share one ``PhraseMatcher`` pass over lemmas
(:func:`match_cues`), which is negation-aware: a phrase preceded within three tokens by a negator
("never pushed", "nobody asked"), with no sentence punctuation between them, is credited to the cue named in ``NEGATED_TO`` instead of its own.

Adding a cue means: one entry in ``PHRASES``, one function,
one ``CUES`` entry, one test row. A behaviour change to a cue gets a new name, so old model cards
keep their meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from spacy.attrs import IDX, LENGTH, LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from vocml.errors import UnknownCueError
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

# Phrases match any inflection with the same lemma (spaCy's lookup table), so "asked", "asks" and
# "asking" all match "ask".
PHRASES: dict[str, list[str]] = {
    "feature_dump": [
        "demo",
        "demoed",
        "deck",
        "slide",
        "slides",
        "feature",
        "spec sheet",
        "walkthrough",
        "present",
        "presentation",
        "roadmap",
        "module",
        "brochure",
        "product tour",
        "full suite",
        "capability",
        "capabilities",
        "show the full",
        "leave-behind",
        "case study",
        "core message",
        "core msg",
        "rundown",
        "all the bells",
        "every feature",
        "pitch",
        "pitch deck",
        "the script",
        "sales pitch",
        "features list",
        "tour of feature",
    ],
    "price_push": [
        "discount",
        "% off",
        "percent off",
        "free month",
        "month free",
        "months free",
        "bundle",
        "0% financing",
        "promo",
        "special price",
        "special offer",
        "match any quote",
        "price match",
        "loyalty pricing",
        "best price",
        "rebate",
        "free pillow",
        "freebie",
        "multi-year",
        "3yr deal",
        "lock in",
        "locked in",
        "incentive",
        "waive",
        "price hold",
    ],
    "deadline_pressure": [
        "eoq",
        "eoy",
        "end of quarter",
        "end of the quarter",
        "end of month",
        "end of the month",
        "by friday",
        "by the 30th",
        "by the 31st",
        "today only",
        "sign today",
        "signed today",
        "on the spot",
        "won't last",
        "wo n't last",
        "last chance",
        "before the price go up",
        "price go up",
        "prices go up",
        "limited time",
        "ends next month",
        "ends friday",
        "this week only",
        "q4 close",
        "quarter end",
        "tonight only",
        "same-day",
    ],
    "quota_talk": [
        "quota",
        "spiff",
        "spiffs",
        "commission",
        "comp",
        "my number",
        "accelerator",
        "hit target",
        "hit my target",
        "pipeline target",
        "attainment",
        "leaderboard",
        "bonus",
        "sales target",
    ],
    "overpromise": [
        "out of the box",
        "guarantee",
        "guaranteed",
        "basically zero",
        "pay for itself",
        "pays for itself",
        "game-changer",
        "game changer",
        "no problem at all",
        "will be live by",
        "solve everything",
        "fully compliant",
        "100%",
        "never have to worry",
        "overpromise",
        "overpromised",
        "oversold",
        "oversell",
        "promised",
        "promise",
        "easy integration",
        "plug and play",
        "seamless",
    ],
    "seller_self_talk": [
        "our award",
        "our awards",
        "their award",
        "their awards",
        "about themselves",
        "about their company",
        "their product",
        "their history",
        "our history",
        "market leader",
        "leading provider",
        "industry leader",
        "our logo",
        "logo slide",
        "their logo",
        "company overview",
        "about us",
        "their roadmap",
        "own product",
        "talk about himself",
        "talk about herself",
        "talked about himself",
        "talked about herself",
        "own agenda",
    ],
    "upsell_push": [
        "upsold",
        "up-sell",
        "cross-sell",
        "cross sell",
        "upgrade",
        "add-on",
        "add on",
        "addon",
        "premium",
        "premier",
        "top of line",
        "top of the line",
        "top-of-the-line",
        "bigger package",
        "extended warranty",
        "rider",
        "riders",
        "gold plan",
        "pro plan",
        "pro upgrade",
        "whole life",
        "more seats",
        "platinum",
    ],
    "pushy_close": [
        "push",
        "pushed",
        "pushing",
        "close today",
        "hard close",
        "get this signed",
        "sign today",
        "trial close",
        "close the deal",
        "asap",
        "signature",
        "get it signed",
        "ink",
        "cave",
        "hold firm",
        "holding firm",
        "sign on the dotted line",
        "what would it take",
    ],
    "felt_pressured": [
        "pressure",
        "pressured",
        "pressuring",
        "pushy",
        "sold to",
        "hard-sell",
        "salesy",
        "sales-y",
        "not listen",
        "did n't listen",
        "do n't listen",
        "would n't listen",
        "never listened",
        "would n't stop talking",
        "would not stop talking",
        "talk over",
        "talked over",
        "interrupt",
        "interrupted",
        "script",
        "scripted",
        "sleazy",
        "aggressive",
        "badger",
        "badgered",
        "hassle",
        "hassled",
        "harass",
        "cornered",
        "railroaded",
        "steamroll",
        "bulldoze",
        "monologue",
        "lecture",
        "ignored",
    ],
    "negated_discovery": [
        "nobody asked",
        "no one asked",
        "noone asked",
        "never asked",
        "did n't ask",
        "didnt ask",
        "without asking",
        "no question",
        "no questions",
        "not a single question",
        "not once ask",
        "no idea what they",
        "no idea who",
        "never found out",
        "did n't find out",
        "never ask",
        "zero question",
        "did not ask",
        "not one question",
        "never bothered to ask",
        "before asking",
        "instead of asking",
        "never once asked",
    ],
    "pitch_after_need": [
        "pivoted",
        "pivot to",
        "pivoted straight",
        "went straight to",
        "went straight into",
        "straight into",
        "jumped to",
        "jumped straight",
        "jumped on",
        "redirected",
        "steered",
        "steer",
        "segued",
        "launched into",
        "dove into",
        "dived into",
        "immediately pitched",
        "right away",
        "first 5 min",
        "within minutes",
        "by minute",
    ],
    "discovery_question": [
        "ask",
        "asked",
        "question",
        "questions",
        "dig into",
        "dug into",
        "find out",
        "found out",
        "discovery",
        "disco",
        "probe",
        "probed",
        "explore",
        "explored",
        "curious",
        "interview",
        "understand",
        "learn about",
        "learned about",
        "why does that matter",
        "what made you",
        "walk me through",
        "walked us through",
        "shadow",
        "shadowed",
        "observe",
        "observed",
        "watched",
        "mapped",
        "map out",
    ],
    "pain_goal_talk": [
        "pain",
        "pains",
        "goal",
        "goals",
        "struggle",
        "struggling",
        "bottleneck",
        "frustration",
        "frustrations",
        "problem",
        "what good look like",
        "success criteria",
        "success look",
        "current process",
        "today process",
        "workflow",
        "day to day",
        "priorities",
        "priority",
        "constraint",
        "budget",
        "what's blocking",
        "blocker",
        "root cause",
        "costs them",
        "cost them",
        "what keeps",
        "their situation",
        "my situation",
        "our situation",
        "how they work",
        "how we work",
        "how i use",
        "our needs",
        "my needs",
        "their needs",
        "what we needed",
        "what i needed",
        "what i need",
        "what we need",
        "use case",
    ],
    "summarise_back": [
        "summarise",
        "summarised",
        "summarize",
        "summarized",
        "summary",
        "recap",
        "recapped",
        "played back",
        "play back",
        "play it back",
        "repeated back",
        "read back",
        "in their own words",
        "in our own words",
        "in my own words",
        "confirm understanding",
        "mirrored",
        "paraphrased",
        "wrote down",
        "took notes",
        "notes back",
    ],
    "recommend_less": [
        "talk us out",
        "talked us out",
        "talked me out",
        "talked her out",
        "talked him out",
        "talked them out",
        "cheaper",
        "smaller plan",
        "smaller one",
        "smaller machine",
        "small plan",
        "basic plan",
        "downgrade",
        "did n't need",
        "do n't need",
        "didnt need",
        "wouldn't need",
        "would n't need",
        "no need for",
        "not worth it",
        "do n't buy",
        "don't buy",
        "wait a year",
        "hold off",
        "not the right fit",
        "not a fit",
        "save them",
        "saves them",
        "saved us",
        "saved me",
        "less than",
        "fewer seats",
        "only what",
        "just the",
        "only the bit",
        "cheapest option",
        "recommended against",
        "advised against",
        "honest",
        "honestly told",
    ],
    "follow_up_outcome": [
        "check in",
        "checked in",
        "checking in",
        "follow up on how",
        "followed up",
        "post go-live",
        "after go-live",
        "days later",
        "weeks later",
        "60 days",
        "90 days",
        "see how it",
        "how it's going",
        "how it was going",
        "how things were",
        "still working",
        "rang to check",
        "called to check",
        "called back to see",
        "went down",
    ],
    "own_failure": [
        "apologise",
        "apologised",
        "apologize",
        "apologized",
        "apology",
        "our mistake",
        "our fault",
        "my fault",
        "my mistake",
        "botched",
        "we messed up",
        "messed up",
        "dropped the ball",
        "made it right",
        "make it right",
        "put it right",
        "comped",
        "refunded the",
        "owned it",
        "own it",
        "took responsibility",
        "fix it",
        "sorted it",
    ],
    "felt_heard": [
        "listened",
        "listen",
        "listening",
        "understood",
        "took the time",
        "take the time",
        "cared",
        "patient",
        "advised",
        "advice",
        "advise",
        "helpful",
        "genuinely",
        "felt understood",
        "felt heard",
        "no pressure",
        "never pushy",
        "not pushy",
        "did n't try to sell",
        "didnt try to sell",
        "did not try to sell",
        "never tried to sell",
        "spot on",
        "exactly right",
        "exactly what",
        "made sense for",
        "for us",
        "for me",
        "got it",
        "gets it",
        "get us",
        "trusted advisor",
    ],
    "listening_ratio": [
        "let them talk",
        "let her talk",
        "let him talk",
        "let me talk",
        "let us talk",
        "talked 80%",
        "they talked",
        "they did most of the talking",
        "did most of the talking",
        "zero slides",
        "no slides",
        "no deck",
        "did n't open the deck",
        "never opened the deck",
        "no demo",
        "skip the demo",
        "skipped the demo",
        "skipped the pitch",
        "skipped the deck",
        "never touched the slides",
        "put the laptop away",
        "let them tell",
        "told the story",
        "tell the story",
    ],
    "negated_push": [
        "did n't push",
        "didnt push",
        "never pushed",
        "never push",
        "no hard sell",
        "not pushed",
        "never tried to upsell",
        "did n't upsell",
        "never upsold",
        "did n't lead with",
        "didn't lead with",
        "skipped the discount",
        "no discount talk",
        "did n't pitch",
        "never pitched",
        "held off on",
        "did not push",
        "wasn't pushy",
        "was n't pushy",
        "never once",
        "not once tried",
    ],
    "admin_status": [
        "invoice",
        "po",
        "purchase order",
        "countersigned",
        "contract signed",
        "signed contract",
        "redline",
        "redlines",
        "msa",
        "nda",
        "rescheduled",
        "delivery",
        "delivered",
        "shipment",
        "shipping",
        "eta",
        "customs",
        "permit",
        "paperwork",
        "kickoff",
        "kick-off",
        "crm updated",
        "updated crm",
        "contact change",
        "out of office",
        "ooo",
        "reminder",
        "w-9",
        "address",
        "password",
        "login",
        "install date",
        "appointment",
        "closing date",
        "close date",
        "forecast",
    ],
    "product_issue": [
        "bug",
        "crash",
        "crashes",
        "crashed",
        "glitch",
        "log out",
        "logging me out",
        "wo n't load",
        "doesn't work",
        "does n't work",
        "damaged",
        "torn",
        "scratched",
        "refund",
        "charged",
        "overcharged",
        "price rise",
        "price increase",
        "dirty",
        "wait",
        "waited",
        "queue",
    ],
}

# Question phrases built from combinations, so one PhraseMatcher pass covers them (a token Matcher
# with patterns costs as much as everything else together).
_WH = ["about", "what", "how", "why", "who", "whether", "if", "where", "when", "which"]
PHRASES["discovery_question"] += (
    [f"ask {w}" for w in _WH]
    + [
        f"ask {o} {w}"
        for o in ("them", "her", "him", "us", "me")
        for w in ("what", "how", "why", "about", "who", "whether")
    ]
    + [f"{w} do {p}" for w in ("what", "how") for p in ("they", "you", "we", "she", "he")]
)


LABEL_OF: dict[str, str] = {
    "feature_dump": "pitch_first",
    "price_push": "pitch_first",
    "deadline_pressure": "pitch_first",
    "quota_talk": "pitch_first",
    "overpromise": "pitch_first",
    "seller_self_talk": "pitch_first",
    "upsell_push": "pitch_first",
    "pushy_close": "pitch_first",
    "felt_pressured": "pitch_first",
    "negated_discovery": "pitch_first",
    "pitch_after_need": "pitch_first",
    "discovery_question": "needs_first",
    "pain_goal_talk": "needs_first",
    "summarise_back": "needs_first",
    "recommend_less": "needs_first",
    "follow_up_outcome": "needs_first",
    "own_failure": "needs_first",
    "felt_heard": "needs_first",
    "listening_ratio": "needs_first",
    "negated_push": "needs_first",
    "admin_status": "no_signal",
    "product_issue": "no_signal",
}

# A negated match of the key is credited to the value (None: dropped).
NEGATED_TO: dict[str, str | None] = {
    "discovery_question": "negated_discovery",
    "pain_goal_talk": None,
    "summarise_back": "negated_discovery",
    "felt_heard": "felt_pressured",
    "listening_ratio": None,
    "price_push": "negated_push",
    "upsell_push": "negated_push",
    "pushy_close": "negated_push",
    "felt_pressured": "negated_push",
    "feature_dump": "listening_ratio",
    "deadline_pressure": None,
    "quota_talk": None,
    "overpromise": None,
    "seller_self_talk": None,
    "recommend_less": None,
    "follow_up_outcome": None,
    "own_failure": None,
    "admin_status": None,
    "product_issue": None,
}
# Cues whose phrases already contain their negation are never re-credited.
_SELF_NEGATED = frozenset({"negated_discovery", "negated_push", "pitch_after_need"})


@dataclass(frozen=True, slots=True)
class Cue:
    """A registered cue: its name, the label it votes, what it means, and its function."""

    name: str
    label: str
    description: str
    func: Callable[[Doc], list[Span]]


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
    ``;``, ``!`` or ``?``) is a negator; it is then credited to ``NEGATED_TO[name]`` or dropped.
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
        if neg and name not in _SELF_NEGATED:
            target = NEGATED_TO.get(name)
            if target is None:
                continue
            name = target
        out[i].setdefault(name, []).append((s, e))
    for hits in out:
        for spans in hits.values():
            spans.sort()
    return out


def _hits(doc: Doc, name: str) -> list[Span]:
    return match_cues(doc).get(name, [])


def feature_dump(doc: Doc) -> list[Span]:
    """Features, specs, slides, demos or the roadmap presented (pitch first)."""
    return _hits(doc, "feature_dump")


def price_push(doc: Doc) -> list[Span]:
    """Price, discounts, bundles or financing pushed (pitch first)."""
    return _hits(doc, "price_push")


def deadline_pressure(doc: Doc) -> list[Span]:
    """Deadlines and urgency: end of quarter, 'sign by Friday', 'won't last' (pitch first)."""
    return _hits(doc, "deadline_pressure")


def quota_talk(doc: Doc) -> list[Span]:
    """The seller's quota, spiffs or commission steer the conversation (pitch first)."""
    return _hits(doc, "quota_talk")


def overpromise(doc: Doc) -> list[Span]:
    """Overstated fit or promises that can't be kept: 'out of the box', 'pays for itself' (pitch first)."""
    return _hits(doc, "overpromise")


def seller_self_talk(doc: Doc) -> list[Span]:
    """The seller talks about itself: awards, history, 'market leader' (pitch first)."""
    return _hits(doc, "seller_self_talk")


def upsell_push(doc: Doc) -> list[Span]:
    """Upselling or cross-selling: upgrades, add-ons, premium tiers, riders (pitch first)."""
    return _hits(doc, "upsell_push")


def pushy_close(doc: Doc) -> list[Span]:
    """Pushing to close: 'get this signed', 'hard close', 'holding firm' (pitch first)."""
    return _hits(doc, "pushy_close")


def felt_pressured(doc: Doc) -> list[Span]:
    """Someone felt pressured, sold to, talked over or not listened to (pitch first)."""
    return _hits(doc, "felt_pressured")


def negated_discovery(doc: Doc) -> list[Span]:
    """Discovery that did not happen: 'nobody asked', 'never found out', 'no questions' (pitch first)."""
    return _hits(doc, "negated_discovery")


def pitch_after_need(doc: Doc) -> list[Span]:
    """A need was mentioned and the seller pivoted or jumped straight to a pitch (pitch first)."""
    return _hits(doc, "pitch_after_need")


def discovery_question(doc: Doc) -> list[Span]:
    """Questions about the customer: 'asked how they...', 'wanted to know', 'dug into' (needs first)."""
    return _hits(doc, "discovery_question")


def pain_goal_talk(doc: Doc) -> list[Span]:
    """The customer's goals, pains, process, constraints or success criteria (needs first)."""
    return _hits(doc, "pain_goal_talk")


def summarise_back(doc: Doc) -> list[Span]:
    """Listening and summarising back: 'recapped', 'played it back', 'in their own words' (needs first)."""
    return _hits(doc, "summarise_back")


def recommend_less(doc: Doc) -> list[Span]:
    """Recommending less, cheaper, or nothing when that fits the customer (needs first)."""
    return _hits(doc, "recommend_less")


def follow_up_outcome(doc: Doc) -> list[Span]:
    """Following up on the customer's outcome after the sale (needs first)."""
    return _hits(doc, "follow_up_outcome")


def own_failure(doc: Doc) -> list[Span]:
    """Owning a failure and making it right: apologised, comped, fixed it (needs first)."""
    return _hits(doc, "own_failure")


def felt_heard(doc: Doc) -> list[Span]:
    """The customer felt listened to, understood, advised, not pushed (needs first)."""
    return _hits(doc, "felt_heard")


def listening_ratio(doc: Doc) -> list[Span]:
    """The customer did the talking: 'let them talk', 'no slides', 'skipped the demo' (needs first)."""
    return _hits(doc, "listening_ratio")


def negated_push(doc: Doc) -> list[Span]:
    """A push that did not happen: 'didn't push', 'never tried to upsell', 'no pressure' (needs first)."""
    return _hits(doc, "negated_push")


def admin_status(doc: Doc) -> list[Span]:
    """Admin and logistics: invoices, contracts, deliveries, scheduling (no signal)."""
    return _hits(doc, "admin_status")


def product_issue(doc: Doc) -> list[Span]:
    """Product, delivery or billing problems that say nothing about selling (no signal)."""
    return _hits(doc, "product_issue")


_FUNCS: list[Callable[[Doc], list[Span]]] = [
    feature_dump,
    price_push,
    deadline_pressure,
    quota_talk,
    overpromise,
    seller_self_talk,
    upsell_push,
    pushy_close,
    felt_pressured,
    negated_discovery,
    pitch_after_need,
    discovery_question,
    pain_goal_talk,
    summarise_back,
    recommend_less,
    follow_up_outcome,
    own_failure,
    felt_heard,
    listening_ratio,
    negated_push,
    admin_status,
    product_issue,
]

CUES: dict[str, Cue] = {f.__name__: Cue(f.__name__, LABEL_OF[f.__name__], (f.__doc__ or "").strip(), f) for f in _FUNCS}
CUE_NAMES: tuple[str, ...] = tuple(CUES)


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


def describe_cues() -> list[dict[str, str]]:
    """Name, label and description of every cue, for reports and the dashboard."""
    return [{"name": c.name, "label": c.label, "description": c.description} for c in CUES.values()]
