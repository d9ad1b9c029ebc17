"""The held-out rule and which labels a retrain learns from."""

from __future__ import annotations

from typing import Any

import pytest

from service.retrain import Weights, held_out, labelled_records
from tests.service.test_models import review_all, seed
from vocml.errors import ConfigError


def test_held_out_depends_only_on_the_record_and_keeps_about_the_share_asked() -> None:
    keys = [("EMEA", i) for i in range(10_000)]
    first = [held_out(t, i, 20) for t, i in keys]
    assert first == [held_out(t, i, 20) for t, i in keys]  # the same records in every retrain
    assert 0.18 < sum(first) / len(first) < 0.22
    assert not any(held_out(t, i, 0) for t, i in keys[:500]) and all(held_out(t, i, 100) for t, i in keys[:500])
    # a larger share keeps every record a smaller one kept
    assert all(held_out(t, i, 30) for (t, i), kept in zip(keys, first, strict=True) if kept)


def test_an_audit_label_wins_over_a_correction_of_the_same_record(client: Any, tokens: Any, helpers: Any) -> None:
    ids = seed(client, tokens["uploader"], helpers, "EMEA", n=2)
    seed(client, tokens["uploader"], helpers, "NA", n=1)
    review_all(client, tokens["uploader"], "EMEA")
    review_all(client, tokens["uploader"], "NA")
    audit = client.get(
        "/v1/audit?team=EMEA&period=month&start=2026-03-01&end=2026-03-31", headers=tokens["uploader"]
    ).json()["items"]
    assert audit
    first = audit[0]["id"]
    r = client.post(
        f"/v1/records/{first}/review", json={"label": "no_signal", "audit": True}, headers=tokens["uploader"]
    )
    assert r.status_code == 200, r.text
    engine = client.app.state.engine
    with engine.connect() as conn:
        emea = {rid: (label, kind) for rid, team, _, label, kind, _ in labelled_records(conn, "EMEA")}
        every = list(labelled_records(conn, "*"))
    assert set(emea) == set(ids)
    assert emea[first] == ("no_signal", "audit")
    assert sum(kind == "review" for _, kind in emea.values()) == len(ids) - 1
    assert {team for _, team, _, _, _, _ in every} == {"EMEA", "NA"}


def test_weights_out_of_range_are_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="weights.audit=-1"):
        Weights(audit=-1).check()
