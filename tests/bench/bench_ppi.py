"""Benchmark (not a test): how often each trend adjustment's 95% interval covers the true needs-first share.

Streams of 2,080 records resampled from the real test split (never trained on), one team, a weekly share
that moves; for the last month, 30 uniformly drawn audit labels give the prediction-powered interval,
and the model card's confusion matrix gives the other. Prints coverage and mean width of both over
repeated draws: on the whole split (where the card's matrix was measured) and on domains where the model
is weaker than its card says.

    .venv/bin/python tests/bench/bench_ppi.py [--repeats 200] [--audits 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests package

from service.trends import ErrorModel  # noqa: E402
from tests.ppi_simulation import coverage, weakest_domains  # noqa: E402
from vocml.bundle import default_model_dir, read_card  # noqa: E402

SCENARIOS = {
    "all domains, 30% signal": {"signal": 0.3},
    "all domains, 15% signal (a raw stream)": {"signal": 0.15},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--audits", type=int, default=30)
    args = parser.parse_args()
    card = read_card(default_model_dir())
    error_model = ErrorModel.from_card(card)
    assert error_model is not None
    weakest = weakest_domains(card)
    scenarios = {
        **SCENARIOS,
        f"{', '.join(weakest)} (the model's two weakest domains on its card)": {
            "signal": 0.3,
            "domains": weakest,
        },
    }
    for name, options in scenarios.items():
        started = time.perf_counter()
        result = coverage(error_model, repeats=args.repeats, audits=args.audits, **options)  # type: ignore[arg-type]
        print(f"{name}: {result.line()} [{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
