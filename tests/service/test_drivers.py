"""What drives the share (service/drivers.py): cue counts kept with the records, rates against the
previous period, example sentences from the teams' own records, and the same counts rebuilt from
stored predictions by the migration. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from service.db import cue_counts, migrate, records, score_sums
from service.drivers import drivers, sentence_around

ROWS = (
    "id,team,source,created_at,text\n"
    # February: 1 of 4 records with a discount
    "f1,EMEA,call_note,2026-02-02T10:00:00Z,We asked about their goals.\n"
    "f2,EMEA,call_note,2026-02-03T10:00:00Z,Pushed a discount on day one. Then nothing.\n"
    "f3,EMEA,customer_comment,2026-02-04T10:00:00Z,The delivery was late.\n"
    "f4,EMEA,customer_comment,2026-02-05T10:00:00Z,They asked and listened.\n"
    # March: 3 of 4 with a discount, none asked
    "m1,EMEA,call_note,2026-03-02T10:00:00Z,Opened with the roadmap. Then a discount if they sign EOQ.\n"
    "m2,EMEA,customer_comment,2026-03-03T10:00:00Z,Another discount offer.\n"
    "m3,EMEA,customer_comment,2026-03-04T10:00:00Z,discount discount\n"
    "m4,EMEA,call_note,2026-03-05T10:00:00Z,Invoice sent.\n"
    # another team, never to be counted for EMEA
    "x1,APAC,call_note,2026-03-05T10:00:00Z,Huge discount for APAC only.\n"
)


def _load(client: Any, tokens: Any, helpers: Any) -> None:
    r = helpers.upload(client, ROWS, tokens["admin"])
    assert helpers.wait_batch(client, r.json()["id"], tokens["admin"])["rows_stored"] == 9


def test_cue_counts_follow_the_stored_records(client: Any, tokens: Any, helpers: Any) -> None:
    _load(client, tokens, helpers)
    engine = client.app.state.engine
    with engine.connect() as conn:
        counts = {
            (r.team, r.cue): int(r.total)
            for r in conn.execute(
                sa.select(cue_counts.c.team, cue_counts.c.cue, sa.func.sum(cue_counts.c.n).label("total")).group_by(
                    cue_counts.c.team, cue_counts.c.cue
                )
            )
        }
    assert counts == {
        ("EMEA", "price_push"): 4,
        ("EMEA", "discovery_question"): 2,
        ("EMEA", "deadline_pressure"): 1,
        ("APAC", "price_push"): 1,
    }
    # the same file again stores nothing and counts nothing
    helpers.wait_batch(
        client, helpers.upload(client, ROWS, tokens["admin"], name="again.csv").json()["id"], tokens["admin"]
    )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(cue_counts.c.n))).scalar_one() == 8


def test_drivers_rank_risers_and_fallers_with_examples_from_the_team_only(
    client: Any, tokens: Any, helpers: Any
) -> None:
    _load(client, tokens, helpers)
    with client.app.state.engine.connect() as conn:
        found = drivers(conn, ["EMEA"], date(2026, 3, 1), "month")
    by_cue = {d.cue: d for d in found}
    push = by_cue["price_push"]
    assert (push.count, push.previous_count) == (3, 1) and round(push.change, 1) == 50.0
    assert push.direction == "rose" and push.title == "discount or price push"
    assert [e.team for e in push.examples] == ["EMEA"] * 3  # newest first, never APAC's
    assert push.examples[0].sentence == "discount discount"
    assert push.examples[2].sentence == "Then a discount if they sign EOQ."  # the sentence, not the record
    asked = by_cue["discovery_question"]
    assert (asked.count, asked.previous_count, asked.direction) == (0, 2, "fell") and asked.examples == []
    assert [d.direction for d in found] == ["rose", "rose", "fell"]  # risers first, largest change first
    with client.app.state.engine.connect() as conn:
        assert drivers(conn, [], date(2026, 3, 1), "month") == []
        assert drivers(conn, ["EMEA"], date(2027, 1, 1), "month") == []  # nothing in that period


def test_records_filter_by_behaviour_through_the_api(client: Any, tokens: Any, helpers: Any) -> None:
    _load(client, tokens, helpers)
    r = client.get("/v1/records?team=EMEA&cue=price_push", headers=tokens["viewer"])
    assert r.status_code == 200
    assert sorted(i["external_id"] for i in r.json()["items"]) == ["f2", "m1", "m2", "m3"]
    r = client.get("/v1/records?team=EMEA&cue=mind_reading", headers=tokens["viewer"])
    assert r.status_code == 422 and "cue" in r.text and "price_push" in r.text  # the known ones listed
    r = client.get("/v1/records?cue=price%25push", headers=tokens["viewer"])
    assert r.status_code == 422  # no LIKE wildcards through the filter


def test_the_migration_rebuilds_cue_counts_from_stored_predictions(client: Any, tokens: Any, helpers: Any) -> None:
    """A database from before cue counts and score sums: the upgrade counts every stored prediction once."""
    _load(client, tokens, helpers)
    engine = client.app.state.engine
    from alembic import command
    from alembic.config import Config

    from service.db import MIGRATIONS_DIR

    with engine.begin() as conn:
        before = sorted(tuple(r) for r in conn.execute(sa.select(cue_counts)))
        sums_before = sorted(tuple(r) for r in conn.execute(sa.select(score_sums)))
        assert conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one() == 9
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    migrate(engine)
    with engine.begin() as conn:
        assert sorted(tuple(r) for r in conn.execute(sa.select(cue_counts))) == before
        sums_after = sorted(tuple(r) for r in conn.execute(sa.select(score_sums)))
    assert len(sums_after) == len(sums_before) > 0  # the model's score sums too (for prediction-powered trends)
    for a, b in zip(sums_after, sums_before, strict=True):
        assert a[:4] == b[:4] and a[4:] == pytest.approx(b[4:])


def test_sentence_around_keeps_the_phrase_and_shortens_long_sentences() -> None:
    text = "First line.\nWe talked. Then they offered 20% off today! Fine."
    start = text.index("20% off")
    assert sentence_around(text, (start, start + 7)) == "Then they offered 20% off today!"
    long = "word " * 80 + "the discount here " + "word " * 80
    at = long.index("discount")
    got = sentence_around(long, (at, at + 8))
    assert "discount" in got and len(got) <= 230 and got.startswith("…") and got.endswith("…")
    assert sentence_around("No phrase found again here.", None) == "No phrase found again here."
