"""The seven-habits scorecard: validation errors name the habit, bands hold at every boundary."""

from __future__ import annotations

import pytest

from vocml.errors import ScorecardError
from vocml.scorecard import HABIT_KEYS, HABITS, band_for, rubric, score_card


def _scores(total: int) -> dict[str, int]:
    out, left = {}, total
    for key in HABIT_KEYS:
        out[key] = min(4, left)
        left -= out[key]
    return out


def test_rubric_has_seven_habits_with_five_levels_each() -> None:
    assert len(HABITS) == 7
    assert all(len(h.levels) == 5 and all(len(level) > 20 for level in h.levels) for h in HABITS)
    assert [b["key"] for b in rubric()["bands"]] == ["turns_away", "irritates", "doing_well", "want_to_buy"]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "turns_away"),
        (14, "turns_away"),
        (15, "irritates"),
        (20, "irritates"),
        (21, "doing_well"),
        (25, "doing_well"),
        (26, "want_to_buy"),
        (28, "want_to_buy"),
    ],
)
def test_bands_at_every_boundary(total: int, band: str) -> None:
    result = score_card(_scores(total))
    assert result.total == total and result.band.key == band and band_for(total).key == band


def test_habits_below_four_are_where_to_do_more() -> None:
    scores = dict.fromkeys(HABIT_KEYS, 4) | {"website": 2, "telephone": 3}
    assert score_card(scores).do_more == ["website", "telephone"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"promise": 5}, "scores.promise", "out of range"),
        ({"promise": -1}, "scores.promise", "out of range"),
        ({"promise": 2.5}, "scores.promise", "whole number"),
        ({"promise": True}, "scores.promise", "whole number"),
        ({"charisma": 3}, "scores.charisma", "unknown habit"),
    ],
)
def test_invalid_scores_name_the_habit(change: dict, field: str, words: str) -> None:
    with pytest.raises(ScorecardError) as info:
        score_card(dict.fromkeys(HABIT_KEYS, 2) | change)
    assert any(e["field"] == field and words in e["message"] for e in info.value.errors)


def test_missing_habit_is_reported() -> None:
    scores = dict.fromkeys(HABIT_KEYS, 2)
    del scores["website"]
    with pytest.raises(ScorecardError, match="scores.website: missing"):
        score_card(scores)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ScorecardError) as info:
        score_card({"promise": 9, "bogus": 1})
    assert len(info.value.errors) == 1 + 1 + 6
