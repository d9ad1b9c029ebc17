"""The ``vocml`` command: thin shells over the library (train, evaluate, classify, label) and the service."""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from vocml.errors import DataError, VocmlError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_GOLD = DATA_DIR / "gold.jsonl"
DEFAULT_CONFIG = DATA_DIR / "train.toml"  # the shipped model's recipe: training files, weights, calibration


def _parse_override(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, raw = item.partition("=")
        if not key or not _:
            raise VocmlError(f"--set takes KEY=VALUE (e.g. clf__estimator__C=4), got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from vocml.train import load_config, load_data_config, train

    config = args.config if args.config is not None else (DEFAULT_CONFIG if not args.data else None)
    params = {**load_config(config), **_parse_override(args.set or [])}
    files, calibrate, rationales, source_offsets = (
        load_data_config(config) if config is not None else ([], None, None, ())
    )
    if args.data:  # files on the command line replace the config's, each at weight 1
        files = [(path, 1.0) for path in args.data]
    if args.calibrate is not None:
        calibrate = args.calibrate
    files += [(path, 1.0) for path in args.extra or []]
    if not files:
        raise DataError(f"no training files: pass some, or a --config with a [data] table like {DEFAULT_CONFIG}")
    out = args.out or Path("models") / args.version
    _, card = train(
        [path for path, _ in files],
        out,
        version=args.version,
        params=params,
        seed=args.seed,
        silver=args.silver or [],
        silver_weight=args.silver_weight,
        folds=args.folds,
        weights=[weight for _, weight in files],
        calibrate=calibrate,
        rationales=rationales,
        source_offsets=source_offsets,
    )
    m = card.metrics
    print(f"model {card.version} written to {out}")
    if "macro_f1" in m:
        print(f"cross-validated macro-F1 {m['macro_f1']:.3f}, ECE {m.get('ece', 0):.3f} over {m['n']} training rows")
    if "calibration" in m:
        c = m["calibration"]
        print(
            f"calibrated on {c['path']} ({c['n']} rows): "
            f"log-loss {c['log_loss_before']:.3f} -> {c['log_loss_after']:.3f}"
        )
    for o in m.get("source_offsets", []):
        shifts = ", ".join(f"{lab} {v:+.2f}" for lab, v in o["offsets"].items())
        print(
            f"{o['source']} offsets ({shifts}) fitted on {o['n']} held-out {o['source']} rows: "
            f"macro-F1 {o['macro_f1_before']:.3f} -> {o['macro_f1_after']:.3f}"
        )
    return 0


def read_domains(path: str | Path) -> list[str | None] | None:
    """The ``domain`` of each row of a JSONL file (not part of the data contract), or ``None`` if none has one."""
    if Path(path).suffix.lower() not in (".jsonl", ".ndjson"):
        return None
    with open(path, encoding="utf-8-sig") as fh:
        domains = [json.loads(line).get("domain") for line in fh if line.strip()]
    return domains if any(domains) else None


def evaluation_key(path: str | Path) -> str:
    """How a card names an evaluation set: its last two path parts (``real/test.jsonl``, ``data/dev.jsonl``)."""
    return "/".join(Path(path).parts[-2:])


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vocml.bundle import default_model_dir, load_model, read_card, write_card
    from vocml.data import read_records
    from vocml.evaluate import evaluate

    model_dir = Path(args.model) if args.model else default_model_dir()
    model = load_model(model_dir)
    records = read_records(args.data, require_label=True)
    result = evaluate(model, records, domains=read_domains(args.data))
    result["data"] = str(args.data)
    print(f"model {model.version} on {args.data} ({result['n']} rows)")
    print(f"  macro-F1  {result['macro_f1']:.3f}   accuracy {result['accuracy']:.3f}   ECE {result['ece']:.3f}")
    if result.get("direction") is not None:
        print(f"  direction (pitch vs needs ranked right) {result['direction']:.3f}")
    for lab, s in result["per_label"].items():
        print(f"  {lab:<12} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  (n={s['support']})")
    for src, s in result["per_source"].items():
        print(f"  source {src:<17} macro-F1 {s['macro_f1']:.3f} (n={s['n']})")
    if "hard" in result:
        print(f"  hard cases        macro-F1 {result['hard']['macro_f1']:.3f} (n={result['hard']['n']})")
    for dom, s in result.get("per_domain", {}).items():
        print(f"  domain {dom:<26} macro-F1 {s['macro_f1']:.3f} (n={s['n']}, {s['signal']} with a signal)")
    labels = result["confusion"]["labels"]
    print("  confusion (rows true, columns predicted): " + " ".join(labels))
    for lab, row in zip(labels, result["confusion"]["matrix"], strict=True):
        print(f"    {lab:<12} {row}")
    out = Path(args.out) if args.out else Path(f"evaluation-{Path(args.data).stem}.json")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")
    if args.record:
        card = read_card(model_dir)
        card.evaluations[evaluation_key(args.data)] = {
            k: result[k]
            for k in (
                "n",
                "macro_f1",
                "accuracy",
                "ece",
                "direction",
                "per_label",
                "per_source",
                "per_domain",
                "hard",
                "confusion",
                "reliability",
                "cue_precision",
            )
            if k in result
        }
        write_card(card, model_dir)
        print(f"recorded in {model_dir / 'card.json'}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from vocml.bundle import default_model_dir, load_model
    from vocml.stream import classify_stream

    model_dir = Path(args.model) if args.model else default_model_dir()
    model = load_model(model_dir, threshold=args.threshold)  # with --workers, the helpers share it
    bar = None
    from_stdin = args.input == "-"
    if sys.stderr.isatty() and not args.quiet and not from_stdin:
        from tqdm import tqdm

        bar = tqdm(
            total=Path(args.input).stat().st_size, unit="B", unit_scale=True, desc="classifying", file=sys.stderr
        )
    out_fh = open(args.output, "w", encoding="utf-8") if args.output != "-" else sys.stdout  # noqa: SIM115
    try:
        summary = classify_stream(
            model,
            sys.stdin.buffer if from_stdin else args.input,
            out_fh,
            batch_size=args.batch_size,
            workers=args.workers,
            model_dir=model_dir,
            max_chars=args.max_chars,
            progress=bar,
            threshold=args.threshold,
        )
    finally:
        if out_fh is not sys.stdout:
            out_fh.close()
        if bar is not None:
            bar.close()
    print(
        f"{summary.rows} rows: {summary.classified} classified, {summary.rejected} rejected"
        + (" (see the 'error' objects in the output)" if summary.rejected else ""),
        file=sys.stderr,
    )
    return 1 if (summary.rejected and args.strict) else 0


def cmd_label(args: argparse.Namespace) -> int:
    from vocml.data import read_records, write_jsonl
    from vocml.weak import label_records

    unlabeled = read_records(args.input)
    gold = []
    for path in args.gold or ([DEFAULT_GOLD] if DEFAULT_GOLD.exists() else []):
        gold.extend(read_records(path, require_label=True))
    rows, report = label_records(unlabeled, gold)
    write_jsonl(rows, args.output)
    print(f"{len(rows)} silver labels written to {args.output} (label model fitted with {len(gold)} gold rows)")
    print(f"{'cue':<20} {'label':<12} {'coverage':>8} {'overlap':>8} {'conflict':>8} {'gold acc':>8} {'learned':>8}")
    for r in report:
        acc = "-" if r["gold_accuracy"] is None else f"{r['gold_accuracy']:.3f}"
        print(
            f"{r['cue']:<20} {r['label']:<12} {r['coverage']:>8.3f} {r['overlap']:>8.3f} {r['conflict']:>8.3f} "
            f"{acc:>8} {r.get('learned_accuracy', 0):>8.3f}"
        )
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="vocml", description="Needs-first or pitch-first? Label, train, evaluate, serve."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model bundle from labelled data")
    p.add_argument(
        "data",
        nargs="*",
        type=Path,
        help=f"labelled JSONL/CSV files, weight 1 each (default: the [data] table of "
        f"{DEFAULT_CONFIG.relative_to(DATA_DIR.parent)})",
    )
    p.add_argument("--calibrate", type=Path, help="labelled file never trained on, to calibrate the probabilities on")
    p.add_argument("--extra", nargs="*", type=Path, help="more gold files, e.g. reviewed labels from the service")
    p.add_argument("--silver", nargs="*", type=Path, help="silver files from `vocml label`, weighted by confidence")
    p.add_argument("--silver-weight", type=float, default=0.5, help="weight of a silver row per unit of confidence")
    p.add_argument("--out", type=Path, help="output directory (default: models/<version>)")
    p.add_argument("--version", default=_default_version(), help="model version recorded in the card")
    p.add_argument("--seed", type=int, default=0, help="cross-validation seed")
    p.add_argument(
        "--folds",
        type=int,
        default=0,
        help="cross-validation folds over the training rows "
        "(default 0: none; held-out figures come from `vocml evaluate`)",
    )
    p.add_argument(
        "--config", type=Path, help="TOML file with [pipeline] parameters and [data] files (default: data/train.toml)"
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a pipeline parameter")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled data (macro-F1, per label/source, ECE)")
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL/CSV file")
    p.add_argument("--model", type=Path, help="model directory (default: the shipped model)")
    p.add_argument("--out", type=Path, help="where to write the JSON report")
    p.add_argument("--record", action="store_true", help="also record the figures in the model card")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("classify", help="classify a JSONL/CSV file, one JSON line out per row")
    p.add_argument("input", help="JSONL or CSV file in the data contract; - reads standard input")
    p.add_argument("-o", "--output", default="-", help="output JSONL (default: stdout)")
    p.add_argument("--model", type=Path, help="model directory (default: the shipped model)")
    p.add_argument("--workers", type=int, default=1, help="processes to classify with (2 uses both cores here)")
    p.add_argument("--batch-size", type=int, default=1000, help="rows per batch")
    p.add_argument("--threshold", type=float, help="confidence below which a prediction is uncertain")
    p.add_argument("--max-chars", type=int, default=20_000, help="reject texts longer than this")
    p.add_argument("--strict", action="store_true", help="exit 1 if any row was rejected")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("label", help="weak supervision: cues + label model give silver labels")
    p.add_argument("input", help="unlabeled JSONL/CSV file")
    p.add_argument("-o", "--output", required=True, help="silver JSONL to write")
    p.add_argument("--gold", nargs="*", type=Path, help="gold files to fit and check the label model")
    p.add_argument("--report", type=Path, help="also write the per-cue report as JSON")
    p.set_defaults(func=cmd_label)

    try:
        from service.cli import add_service_commands
    except ImportError:  # the library works without the service package
        return parser
    add_service_commands(sub)
    return parser


def _default_version() -> str:
    from vocml import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vocml`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except VocmlError as e:
        print(f"vocml: error: {e}", file=sys.stderr)
        return 2


def run() -> None:
    """The ``vocml`` console script: :func:`main`, then exit without tearing the interpreter down.

    Once scikit-learn and spaCy are loaded, freeing every module and object at exit takes about
    0.4 s, longer than classifying a few thousand texts. By the time :func:`main` returns, output
    files are closed; exit hooks run and the standard streams and logging are flushed here. Errors (exceptions,
    argparse's exits) leave the normal way.
    """
    code = main()
    # the exit hooks still run (cheap): joblib's, after training's folds, stop its worker pool and remove its
    # temporary folder, else its resource tracker warns of leaked semaphores and folders
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
