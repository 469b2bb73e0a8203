"""``python -m evals``: evaluate qa against the dataset and a naive baseline; compare runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

REPORTS = Path(__file__).resolve().with_name("reports")


def _types(value: str) -> list[str]:
    from evals.dataset import TYPES

    types = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if t not in TYPES]
    if unknown or not types:
        raise argparse.ArgumentTypeError(f"unknown type(s) {unknown}; choose from {list(TYPES)}")
    return types


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals",
        description=(
            "Run the evaluation dataset through qa.ask/qa.retrieve and a naive LangChain "
            "baseline, then write report.md, results.json and plots. "
            "Paths and backend settings come from QA_* variables (QA_INDEX_DIR, QA_CORPUS_DIR, "
            "QA_ANSWER_BACKEND, QA_JUDGE_MODEL with QA_OPENAI_BASE_URL for the LLM judge)."
        ),
    )
    p.add_argument("--dataset", type=Path, default=None,
                   help="JSONL dataset (default: evals/dataset.jsonl)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N items")
    p.add_argument("--types", type=_types, default=None, metavar="T1,T2",
                   help="only these question types, e.g. fact,number,follow-up")
    p.add_argument("--backend", choices=("extractive", "ollama", "openai"), default=None,
                   help="answer backend for qa.ask (default: QA_ANSWER_BACKEND or extractive)")
    p.add_argument("--k", type=int, default=None, metavar="K",
                   help="passages qa.ask answers from (default: QA_TOP_K or 5); retrieval "
                        "metrics always fetch max(10, K)")
    p.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    p.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help="also write results.json to OUT")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="report directory (default: evals/reports/<timestamp>/)")
    p.add_argument("--compare", type=Path, nargs="+", default=None, metavar="RESULTS",
                   help="OLD.json: compare this run with an earlier one; "
                        "OLD.json NEW.json: compare two results files without running")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def compare_files(old: Path, new: Path) -> str:
    """What improved and what regressed between two results.json files."""
    from evals.metrics import compare, format_changes
    from evals.report import load
    from evals.runner import flatten

    before, after = load(old), load(new)
    changes = compare(flatten(before.metrics), flatten(after.metrics))
    head = f"{old} -> {new}"
    ids_old = {r["id"] for r in before.records}
    ids_new = {r["id"] for r in after.records}
    if ids_old != ids_new:
        head += (
            f"\nwarning: the runs cover different items ({len(ids_old)} vs {len(ids_new)},"
            f" {len(ids_old & ids_new)} shared); deltas mix item changes with quality changes"
        )
    return head + "\n" + format_changes(changes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.compare and len(args.compare) > 2:
        parser().error("--compare takes OLD.json or OLD.json NEW.json")
    if args.compare and len(args.compare) == 2:
        print(compare_files(args.compare[0], args.compare[1]))
        return 0

    import qa
    from evals.dataset import load_dataset
    from evals.judge import Judge
    from evals.report import summary_table, write
    from evals.runner import run, select

    try:
        settings = qa.Settings.from_env()
        items = select(load_dataset(args.dataset), args.types, args.limit)
        if not items:
            print("no items selected", file=sys.stderr)
            return 2
        judge = Judge.from_settings(settings)
        result = run(
            items, settings, backend=args.backend, k=args.k, with_baseline=not args.no_baseline,
            judge=judge, progress=not args.quiet, log=lambda s: print(s, file=sys.stderr),
        )
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out_dir or REPORTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    report = write(result, out_dir, args.json)
    print(summary_table(result))
    print(f"\nreport: {report}")
    if args.json:
        print(f"results: {args.json}")
    if args.compare:
        print()
        print(compare_files(args.compare[0], out_dir / "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
