"""The evaluation runner: metric functions on hand-made cases, and a quality gate on a subset.

The gate runs the first 3 items of every type through the runner with the real index and
asserts floors set a little below measured figures, so a real regression fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import metrics as m
from evals.__main__ import main
from evals.dataset import TYPES, load_dataset
from evals.judge import ERROR, NOT_RUN, Judge, parse_verdict
from evals.runner import RunResult, compute_metrics, run, worst_failures
from qa import Settings

S = "doc.txt"

# Floors for the gate: the whole dev split (1789 items over all six documents; the reader's
# models are fitted on it), a little below the figures measured on it (README, "Latest
# figures"): accuracy 0.677, abstention 0.602, recall@5 0.808, recall@2000c 0.821, MRR 0.719,
# citation recall 0.729, token F1 0.301, short-answer F1 0.349, false abstentions 0.104.
FLOORS = {
    "accuracy": 0.635,
    "abstention_accuracy": 0.57,
    "recall@2000c": 0.79,
    "recall@5": 0.78,
    "mrr": 0.69,
    "citation_recall": 0.70,
    "token_f1": 0.29,
    "short_f1": 0.32,
}
MAX_FALSE_ABSTENTION = 0.12


def span(start: int, end: int, source: str = S) -> m.Span:
    return m.Span(source, start, end)


# -- retrieval ------------------------------------------------------------------------------


def test_cover_needs_half_of_the_gold_span_in_the_same_source() -> None:
    gold = span(100, 200)
    assert m.covers(span(150, 400), gold)  # exactly half
    assert not m.covers(span(151, 400), gold)  # just under half
    assert m.covers(span(0, 1000), gold)  # a passage containing the span
    assert not m.covers(span(100, 200, "other.txt"), gold)
    assert m.overlap(span(0, 10), span(10, 20)) == 0


def test_locate_gives_offsets_and_drops_missing_evidence() -> None:
    text = "Alpha beta. Gamma delta epsilon."
    assert m.locate(text, S, ["Gamma delta", "not there"]) == [span(12, 23)]


def test_char_budget_cuts_the_passage_that_crosses_it() -> None:
    # Three 600-char passages: the third crosses 1,000 chars only in the 2,000 budget.
    passages = [span(0, 600), span(5000, 5600), span(9000, 9600)]
    assert m.within_budget(passages, 1000) == [span(0, 600), span(5000, 5400)]
    gold_late = span(5450, 5550)  # lies in the second passage, beyond the 1,000-char cut
    assert m.recall_at_k(passages, [gold_late], 2) == 1.0
    assert m.recall_at_chars(passages, [gold_late], 1000) == 0.0
    assert m.recall_at_chars(passages, [gold_late], 2000) == 1.0
    gold_straddling = span(5300, 5500)  # half of it inside the cut: still covered
    assert m.recall_at_chars(passages, [gold_straddling], 1000) == 1.0


def test_recall_is_the_share_of_gold_spans_and_mrr_the_first_hit() -> None:
    passages = [span(0, 100), span(500, 600), span(1000, 1100)]
    gold = [span(510, 590), span(2000, 2100)]
    assert m.recall_at_k(passages, gold, 1) == 0.0
    assert m.recall_at_k(passages, gold, 3) == 0.5
    assert m.reciprocal_rank(passages, gold) == 0.5
    assert m.reciprocal_rank(passages, [span(3000, 3100)]) == 0.0
    assert m.recall(passages, []) is None and m.reciprocal_rank(passages, []) is None


# -- answers and citations ------------------------------------------------------------------


def test_token_f1_squad_normalisation_and_markers() -> None:
    assert m.token_f1("Keith Kellogg [1].", "keith kellogg") == 1.0
    assert m.token_f1("The envoy, Kellogg", "an envoy: Kellogg!") == 1.0
    assert m.token_f1("sanctions", "tariffs") == 0.0
    # pred {keith, kellogg, envoy} vs ref {keith, kellogg}: P = 2/3, R = 1, F1 = 0.8
    assert m.token_f1("Keith Kellogg envoy", "Keith Kellogg") == pytest.approx(0.8)


def test_accuracy_needs_a_key_fact_and_no_abstention() -> None:
    assert m.is_accurate("He named KEITH  Kellogg [1].", False, ["Keith Kellogg"])
    assert not m.is_accurate("Keith Kellogg", True, ["Keith Kellogg"])
    assert not m.is_accurate("Mike Pence", False, ["Keith Kellogg", "Kellogg"])
    assert m.has_key_fact("Trump\u2019s plan", ["Trump's plan"])


def test_citation_recall_precision_and_offsets() -> None:
    gold = [span(100, 200)]
    cites = [span(150, 160), span(500, 520)]
    assert m.citation_recall(cites, gold) == 1.0
    assert m.citation_precision(cites, gold) == 0.5
    assert m.citation_recall([span(500, 520)], gold) == 0.0
    assert m.citation_precision([], gold) is None
    text = "The quick brown fox."
    assert m.offset_valid(text, 4, 9, "quick")
    assert not m.offset_valid(text, 4, 10, "quick")
    assert not m.offset_valid(text, 15, 99, "fox.")


def test_percentile_and_latency_ratio() -> None:
    assert m.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert m.percentile([1.0, 2.0], 95) == pytest.approx(1.95)
    lat = m.latency([0.2, 0.4, 0.6], [0.1, 0.1, 0.1])
    assert lat["latency_p50"] == pytest.approx(0.4)
    assert lat["latency_ratio"] == pytest.approx(4.0)


def _record(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "answerable": True, "expect_abstain": False, "abstained": False, "accurate": True,
        "success": True, "f1": 1.0, "length": 10, "citations": 1, "citations_valid": 1,
        "citation_recall": 1.0, "citation_precision": 1.0, "faithfulness": None, "error": None,
        "recall@1": 1.0, "recall@2000c": 1.0, "rr": 1.0,
    }
    return base | kw


def test_aggregate_separates_answerable_and_abstaining_items() -> None:
    records = [
        _record(),
        _record(abstained=True, accurate=False, success=False, f1=0.0, citations=0,
                citations_valid=0, citation_recall=None, citation_precision=None,
                **{"recall@1": 0.0, "rr": 0.5}),
        _record(answerable=False, expect_abstain=True, abstained=True, accurate=False,
                success=True, f1=None, citations=0, citations_valid=0, citation_recall=None,
                citation_precision=None, **{"recall@1": None, "recall@2000c": None, "rr": None}),
        _record(answerable=False, expect_abstain=True, abstained=False, accurate=False,
                success=False, f1=None, citations=2, citations_valid=1, citation_recall=None,
                citation_precision=None, **{"recall@1": None, "recall@2000c": None, "rr": None}),
    ]
    agg = m.aggregate(records)
    assert agg["accuracy"] == 0.5
    assert agg["false_abstention_rate"] == 0.5
    assert agg["abstention_accuracy"] == 0.5
    assert agg["recall@1"] == 0.5 and agg["mrr"] == 0.75
    assert agg["offset_validity"] == pytest.approx(2 / 3)
    assert agg["citation_recall"] == 1.0  # only the answered answerable item counts
    assert agg["success"] == 0.5
    assert agg["faithfulness"] is None


def test_compare_reports_improvements_and_regressions_with_direction() -> None:
    old = {"overall.accuracy": 0.5, "overall.latency_p50": 0.10, "overall.mrr": 0.7,
           "overall.faithfulness": NOT_RUN}
    new = {"overall.accuracy": 0.6, "overall.latency_p50": 0.20, "overall.mrr": 0.7,
           "overall.faithfulness": 0.9}
    changes = {c.name: c for c in m.compare(old, new)}
    assert changes["overall.accuracy"].verdict == "improved"
    assert changes["overall.accuracy"].delta == pytest.approx(0.1)
    assert changes["overall.latency_p50"].verdict == "regressed"  # lower is better
    assert changes["overall.mrr"].verdict == "same"
    assert "overall.faithfulness" not in changes  # "not run" is not a number
    text = m.format_changes(list(changes.values()))
    assert text.index("improved") < text.index("overall.accuracy") < text.index("regressed")
    assert "+0.1" in text and "unchanged: 1" in text


def test_compare_two_files_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def results(acc: float, f1: float) -> dict[str, object]:
        overall = {"accuracy": acc, "token_f1": f1, "faithfulness": NOT_RUN}
        return {"meta": {}, "metrics": {"qa": {"overall": overall, "by_type": {}}}, "items": []}

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(results(0.7, 0.4)))
    new.write_text(json.dumps(results(0.6, 0.5)))
    assert main(["--compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    improved, regressed = out.split("regressed")
    assert "overall.token_f1" in improved and "overall.accuracy" in regressed
    assert "-0.1" in regressed


# -- LLM judge -------------------------------------------------------------------------------


def test_judge_reply_parsing() -> None:
    reply = 'Sure.\n```json\n{"claims": [{"claim": "a", "supported": true},\n' \
        '{"claim": "b", "supported": false}]}\n```'
    assert parse_verdict(reply) == 0.5
    assert parse_verdict('{"claims": []}') == 1.0
    assert parse_verdict("I cannot judge this.") is None
    assert parse_verdict('{"claims": [{"claim": "a", "supported": "yes"}]}') is None


def test_judge_is_off_without_configuration_and_errors_do_not_fail(settings: Settings) -> None:
    assert Judge.from_settings(settings) is None
    # A configured judge whose server refuses connections scores the item "error".
    configured = settings.with_(
        judge_model="judge", openai_base_url="http://127.0.0.1:9/v1", llm_timeout=3.0
    )
    judge = Judge.from_settings(configured)
    assert judge is not None
    assert judge.faithfulness("Kellogg is the envoy [1].", ["Keith Kellogg, envoy"]) == ERROR


# -- baseline and the gate ------------------------------------------------------------------


def test_baseline_offsets_point_into_the_raw_text() -> None:
    from evals.baseline import NaiveBaseline

    para = "Sanctions will play a central role in the strategy toward Moscow. " * 12
    text = "Title\n\n" + para + "\n\n" + "Keith Kellogg was named special envoy. " * 30
    texts = {"a.txt": text, "b.txt": "Unrelated notes on tariffs. " * 50}
    with NaiveBaseline(texts) as base:
        assert base.chunks >= 4
        hits = base.search("Who was named special envoy?", 4)
        assert len(hits) == 4
        for h in hits:
            assert texts[h.source][h.start : h.end] == h.text
        assert hits[0].source == "a.txt" and "Kellogg" in hits[0].text


@pytest.fixture(scope="module")
def gate_run(settings: Settings) -> RunResult:
    return run(load_dataset(), settings, with_baseline=False, progress=False)


def test_gate_subset_covers_every_type(gate_run: RunResult) -> None:
    records = gate_run.records
    assert len(records) == len(load_dataset())
    assert {r["type"] for r in records} == set(TYPES)


def test_gate_quality_floors(gate_run: RunResult) -> None:
    overall = gate_run.metrics["qa"]["overall"]
    print({k: overall[k] for k in (*FLOORS, "false_abstention_rate", "offset_validity")})
    assert overall["errors"] == 0
    assert overall["offset_validity"] == 1.0
    for name, floor in FLOORS.items():
        assert overall[name] >= floor, f"{name} = {overall[name]:.3f} fell below {floor}"
    assert overall["false_abstention_rate"] <= MAX_FALSE_ABSTENTION
    assert overall["faithfulness"] == NOT_RUN


def test_gate_report_files(gate_run: RunResult, tmp_path: Path) -> None:
    from evals.report import load, summary_table, write

    report = write(gate_run, tmp_path / "rep", tmp_path / "copy.json")
    text = report.read_text(encoding="utf-8")
    assert "## Overall" in text and "## By question type: qa" in text
    for name in ("metrics_vs_baseline.png", "per_type_accuracy.png", "latency.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:4] == b"\x89PNG"
    again = load(tmp_path / "copy.json")
    assert again.metrics == json.loads(json.dumps(gate_run.metrics))
    assert compute_metrics(again.records)["qa"]["overall"]["accuracy"] == pytest.approx(
        again.metrics["qa"]["overall"]["accuracy"]
    )
    failures = worst_failures(again.records)
    assert all(not r["qa"]["success"] for r in failures)
    assert f"### {failures[0]['id']}" in text if failures else "None." in text
    assert "answer accuracy" in summary_table(again)
