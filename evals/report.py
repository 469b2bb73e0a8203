"""Write a run's report: report.md, results.json and PNG plots; format the stdout summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.dataset import TYPES
from evals.runner import RunResult, worst_failures

# (metric key, label) in the order the tables show them.
ROWS: tuple[tuple[str, str], ...] = (
    ("recall@1", "retrieval recall@1"),
    ("recall@3", "retrieval recall@3"),
    ("recall@5", "retrieval recall@5"),
    ("recall@1000c", "retrieval recall@1000 chars"),
    ("recall@2000c", "retrieval recall@2000 chars"),
    ("mrr", "MRR"),
    ("accuracy", "answer accuracy (key fact)"),
    ("token_f1", "token F1 vs reference"),
    ("short_f1", "short-answer token F1 (items with answer_short)"),
    ("success", "items handled right (all types)"),
    ("length_median", "answer length median (chars)"),
    ("length_mean", "answer length mean (chars)"),
    ("citation_recall", "citation recall"),
    ("citation_precision", "citation precision"),
    ("offset_validity", "citation offset validity"),
    ("abstention_accuracy", "abstention accuracy"),
    ("false_abstention_rate", "false-abstention rate"),
    ("faithfulness", "faithfulness (LLM judge)"),
    ("latency_p50", "latency p50 (ms)"),
    ("latency_p95", "latency p95 (ms)"),
    ("latency_ratio", "qa.ask p50 / baseline search p50"),
    ("errors", "errors"),
)
TYPE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "n"),
    ("success", "handled right"),
    ("recall@5", "recall@5"),
    ("recall@2000c", "recall@2000c"),
    ("mrr", "MRR"),
    ("token_f1", "F1"),
    ("citation_precision", "cite prec."),
    ("false_abstention_rate", "false abst."),
    ("faithfulness", "faithful."),
)
PLOT_METRICS = (
    "recall@1", "recall@5", "recall@2000c", "mrr", "accuracy", "token_f1",
    "citation_recall", "citation_precision", "abstention_accuracy",
)


def fmt(value: Any, key: str = "") -> str:
    """A metric for a table: 3 decimals, ms for latencies, "n/a" when not applicable."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if key in ("latency_p50", "latency_p95", "baseline_search_p50", "retrieve_p50"):
        return f"{value * 1000:.1f}"
    if key in ("n", "errors", "length_median", "length_mean") or isinstance(value, int):
        return f"{value:.0f}"
    return f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _overall(result: RunResult) -> tuple[dict[str, Any], dict[str, Any]]:
    metrics = result.metrics
    return metrics["qa"]["overall"], metrics.get("baseline", {}).get("overall", {})


def summary_table(result: RunResult) -> str:
    """A compact plain-text table of the overall metrics, qa against the baseline."""
    ours, base = _overall(result)
    lines = [f"{'metric':<36} {'qa':>10} {'baseline':>10}", "-" * 58]
    for key, label in ROWS:
        if key == "latency_ratio":
            lines.append(f"{label:<36} {fmt(ours.get(key), key):>10} {'':>10}")
            continue
        lines.append(f"{label:<36} {fmt(ours.get(key), key):>10} {fmt(base.get(key), key):>10}")
    return "\n".join(lines)


def markdown(result: RunResult, plots: Sequence[Path] = ()) -> str:
    """The full report: settings, overall and per-type tables, worst failures, plots."""
    meta = result.meta
    ours, base = _overall(result)
    lines = [
        f"# Evaluation report {meta['timestamp']}",
        "",
        f"{meta['items']} items ({', '.join(meta['types'])}); backend `{meta['backend']}`, "
        f"k={meta['k']}, retrieval depth {meta['depth']}; judge: {meta['judge']}.",
    ]
    if meta.get("baseline"):
        b = meta["baseline"]
        lines.append(
            f"Baseline: RecursiveCharacterTextSplitter(1000/200) + Chroma + MiniLM, "
            f"{b['chunks']} chunks embedded in {b['build_seconds']:.1f} s; answer = top chunk."
        )
    lines += ["", "## Overall", ""]
    rows = [
        [label, fmt(ours.get(key), key), "" if key == "latency_ratio" else fmt(base.get(key), key)]
        for key, label in ROWS
    ]
    lines += _table(["metric", "qa", "baseline"], rows)
    for system in ("qa", "baseline"):
        by_type = result.metrics.get(system, {}).get("by_type", {})
        if not by_type:
            continue
        lines += ["", f"## By question type: {system}", ""]
        rows = [
            [t] + [fmt(by_type[t].get(k), k) for k, _ in TYPE_COLUMNS]
            for t in TYPES
            if t in by_type
        ]
        lines += _table(["type"] + [label for _, label in TYPE_COLUMNS], rows)
    lines += ["", "## Worst failures (qa)", ""]
    failures = worst_failures(result.records)
    if not failures:
        lines.append("None.")
    for r in failures:
        q = r["qa"]
        expected = " / ".join(r["expected"]) if r["expected"] else "(abstain)"
        lines += [
            f"### {r['id']} ({r['type']})",
            "",
            f"- question: {r['question']}",
            f"- expected: {expected}",
            f"- answer{' (abstained)' if q['abstained'] else ''}: {_one_line(q['answer'], 400)}",
        ]
        if q.get("error"):
            lines.append(f"- error: {q['error']}")
        for i, p in enumerate(q["retrieved"], start=1):
            where = f"`{p['source']}` [{p['start']}:{p['end']}]"
            lines.append(f"- retrieved {i}: {where} {p['snippet']}")
        lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot(result: RunResult, out_dir: Path) -> list[Path]:
    """PNG plots: metrics vs baseline, per-type success, latency histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    ours, base = _overall(result)
    keys = [k for k in PLOT_METRICS if isinstance(ours.get(k), float)]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], [ours[k] for k in keys], 0.4, label="qa")
    if base:
        ax.bar([x + 0.2 for x in xs], [base.get(k) or 0.0 for k in keys], 0.4, label="baseline")
    ax.set_xticks(list(xs), keys, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("qa vs naive LangChain baseline")
    ax.legend()
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "metrics_vs_baseline.png"))

    types = [t for t in TYPES if t in result.metrics["qa"]["by_type"]]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(types))
    for offset, system in ((-0.2, "qa"), (0.2, "baseline")):
        by_type = result.metrics.get(system, {}).get("by_type", {})
        if by_type:
            values = [by_type[t].get("success") or 0.0 for t in types]
            ax.bar([x + offset for x in xs], values, 0.4, label=system)
    ax.set_xticks(list(xs), types, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("handled right by question type (abstained for unanswerable/injected)")
    ax.legend()
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "per_type_accuracy.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    ask = [r["qa"]["seconds"] * 1000 for r in result.records]
    search = [r["baseline"]["seconds"] * 1000 for r in result.records if "baseline" in r]
    top = max(ask + search + [1.0])
    bins = [top * i / 30 for i in range(31)]  # shared bins so the two are comparable
    ax.hist(ask, bins=bins, alpha=0.7, label="qa.ask")
    if search:
        ax.hist(search, bins=bins, alpha=0.7, label="baseline search")
    ax.set_xlabel("ms")
    ax.set_ylabel("questions")
    ax.set_title("latency per question")
    ax.legend()
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "latency.png"))
    plt.close("all")
    return paths


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


def write(result: RunResult, out_dir: Path, extra_json: Path | None = None) -> Path:
    """Write results.json, the plots and report.md into ``out_dir``; return report.md's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(result.to_json(), indent=1, ensure_ascii=False)
    (out_dir / "results.json").write_text(data, encoding="utf-8")
    if extra_json is not None:
        extra_json.parent.mkdir(parents=True, exist_ok=True)
        extra_json.write_text(data, encoding="utf-8")
    plots = plot(result, out_dir)
    report = out_dir / "report.md"
    report.write_text(markdown(result, plots), encoding="utf-8")
    return report


def load(path: Path) -> RunResult:
    """Read a results.json back."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunResult(meta=data["meta"], metrics=data["metrics"], records=data.get("items", []))
