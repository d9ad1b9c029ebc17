"""Settings from the environment: the retrain settings, and errors that name the variable and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import get_settings
from vocml.errors import ConfigError


def test_retrain_settings_come_from_the_environment() -> None:
    s = get_settings(
        {
            "VOCML_MODELS_DIR": "/srv/models",
            "VOCML_RETRAIN_RECIPE": "/srv/recipe.toml",
            "VOCML_RETRAIN_EVAL_SETS": "/a/dev.jsonl:/b/dev.jsonl",
            "VOCML_HOLDOUT_PERCENT": "25",
            "VOCML_RECLASSIFY_CHUNK_ROWS": "200",
        }
    )
    assert s.models_dir == Path("/srv/models") and s.retrain_recipe == Path("/srv/recipe.toml")
    assert s.retrain_eval_sets == (Path("/a/dev.jsonl"), Path("/b/dev.jsonl"))
    assert (s.holdout_percent, s.reclassify_chunk_rows) == (25, 200)
    default = get_settings({})
    assert default.retrain_recipe.name == "train.toml" and default.retrain_recipe.exists()
    assert all(p.exists() for p in default.retrain_eval_sets)


@pytest.mark.parametrize("value", ["0", "95", "-3"])
def test_a_holdout_share_out_of_range_is_refused_with_the_fix(value: str) -> None:
    with pytest.raises(ConfigError, match=f"VOCML_HOLDOUT_PERCENT={value} is out of range"):
        get_settings({"VOCML_HOLDOUT_PERCENT": value})
