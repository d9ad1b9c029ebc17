"""The seven-habits customer-centricity scorecard: a team's self-assessment, set beside its measured voice.

Seven habits scored 0-4 each (total 0-28), four bands. :func:`score_card` validates a scorecard and
returns its total, band and the habits below 4 ("where to do more").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vocml.errors import ScorecardError


@dataclass(frozen=True, slots=True)
class Habit:
    """One habit: its key in a scorecard, its title, and what each level 0-4 looks like."""

    key: str
    title: str
    levels: tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Band:
    """A band of totals with its verdict."""

    key: str
    low: int
    high: int
    verdict: str


HABITS: tuple[Habit, ...] = (
    Habit(
        "promise",
        "A promise to customers, not just a mission for ourselves",
        (
            "We have no stated promise to customers; our statements are about our own growth and targets.",
            "A customer promise exists on paper, but few staff know it and nothing is measured against it.",
            "Most staff can state the promise; some decisions and messages refer to it.",
            "The promise is known across the company and checked in reviews of deals and service.",
            "Customers can repeat our promise, we measure ourselves against it and act when we miss it.",
        ),
    ),
    Habit(
        "services_bundled",
        "Services bundled with products",
        (
            "We sell the product only; anything after the sale is the customer's problem.",
            "Services exist but are sold separately, hard to find, and rarely offered.",
            "Common services (set-up, training) are offered with some products.",
            "Products come with the services most customers need to get value from them.",
            "Every offer is shaped around the outcome the customer wants, with the services that make it happen.",
        ),
    ),
    Habit(
        "website",
        "A website that is a welcoming door",
        (
            "The website is a brochure about us; customers cannot find prices, answers or a way in.",
            "Basic information is there, but it is hard to navigate and speaks our jargon.",
            "Customers can find most answers and a way to contact us without much effort.",
            "The site starts from customers' questions and makes the next step easy.",
            "Customers tell us the site helped them decide and act; we improve it from their feedback.",
        ),
    ),
    Habit(
        "easy_contact",
        "Easy contact by whatever method suits the customer",
        (
            "One channel, limited hours, and long waits; customers give up.",
            "Several channels exist but answers are slow and inconsistent between them.",
            "Customers can reach us by phone, email or chat in reasonable time.",
            "Every channel answers quickly and knows what was said on the others.",
            "Customers choose how to reach us and get a fast, complete answer every time.",
        ),
    ),
    Habit(
        "telephone",
        "A customer-friendly telephone system",
        (
            "Long menus, long holds, and calls that end without reaching a person.",
            "A person can be reached, but only after menus and transfers.",
            "Calls reach a person quickly most of the time; few transfers.",
            "Calls are answered promptly by someone who can help or owns the follow-up.",
            "Customers praise how easy it is to call us; we track and fix every bad call.",
        ),
    ),
    Habit(
        "one_contact",
        "One main contact per customer who makes everything happen",
        (
            "Customers are passed between departments and must repeat themselves.",
            "There is a named contact on paper who rarely follows through.",
            "Most customers have a contact who answers and passes requests on.",
            "Each customer has one contact who owns their requests until they are done.",
            "The contact knows the customer's goals and makes everything happen across the company.",
        ),
    ),
    Habit(
        "service_wanted",
        "Customer service that gives the service the customer really wants",
        (
            "Service follows our rules and convenience; customers' requests are often refused.",
            "We fix what is asked if it fits our process, slowly.",
            "Service solves most problems and asks whether the customer is satisfied.",
            "Service asks what the customer is trying to achieve and solves for that.",
            "Customers say we gave them what they really needed, often before they asked.",
        ),
    ),
)

BANDS: tuple[Band, ...] = (
    Band("turns_away", 0, 14, "Turns away a large share of potential customers."),
    Band("irritates", 15, 20, "Irritates some of its potential customers."),
    Band("doing_well", 21, 25, "Doing well, though competitors may do better."),
    Band("want_to_buy", 26, 28, "A company customers want to buy from."),
)
HABIT_KEYS: tuple[str, ...] = tuple(h.key for h in HABITS)
MAX_LEVEL = 4


@dataclass(frozen=True, slots=True)
class ScorecardResult:
    """A validated scorecard: scores, total, band and the habits below the top level."""

    scores: dict[str, int]
    total: int
    band: Band
    do_more: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scores": self.scores,
            "total": self.total,
            "band": {"key": self.band.key, "low": self.band.low, "high": self.band.high, "verdict": self.band.verdict},
            "do_more": self.do_more,
        }


def band_for(total: int) -> Band:
    """The band a total falls in; raises :class:`ScorecardError` outside 0-28."""
    for band in BANDS:
        if band.low <= total <= band.high:
            return band
    raise ScorecardError(f"total {total} is outside 0-{MAX_LEVEL * len(HABITS)}")


def score_card(scores: Mapping[str, Any]) -> ScorecardResult:
    """Validate a scorecard (each of the seven habits an integer 0-4) and score it.

    Raises:
        ScorecardError: listing every problem (missing, unknown, non-integer or out-of-range habit).
    """
    errors: list[dict[str, str]] = []
    if not isinstance(scores, Mapping):
        raise ScorecardError(
            "scores must be an object mapping each habit to 0-4",
            errors=[{"field": "scores", "message": "not an object"}],
        )
    for key in scores:
        if key not in HABIT_KEYS:
            errors.append(
                {"field": f"scores.{key}", "message": f"unknown habit {key!r}; habits are {', '.join(HABIT_KEYS)}"}
            )
    clean: dict[str, int] = {}
    for key in HABIT_KEYS:
        if key not in scores:
            errors.append({"field": f"scores.{key}", "message": f"missing; score every habit 0-{MAX_LEVEL}"})
            continue
        value = scores[key]
        if isinstance(value, float) and value.is_integer():  # JSON's 3.0 is the whole number 3
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append({"field": f"scores.{key}", "message": f"must be a whole number 0-{MAX_LEVEL}, got {value!r}"})
        elif not 0 <= value <= MAX_LEVEL:
            errors.append({"field": f"scores.{key}", "message": f"{value} is out of range; use 0-{MAX_LEVEL}"})
        else:
            clean[key] = value
    if errors:
        raise ScorecardError("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    total = sum(clean.values())
    return ScorecardResult(clean, total, band_for(total), [k for k in HABIT_KEYS if clean[k] < MAX_LEVEL])


def rubric() -> dict[str, Any]:
    """The whole rubric as data (habits with level descriptions, and bands), for forms and APIs."""
    return {
        "habits": [{"key": h.key, "title": h.title, "levels": list(h.levels)} for h in HABITS],
        "bands": [{"key": b.key, "low": b.low, "high": b.high, "verdict": b.verdict} for b in BANDS],
    }
