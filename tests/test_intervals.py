"""The time between two events the sources date, counted by the reader."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import qa
from qa.answer.intervals import Dated, asked_interval, count, parse_date, spelled
from qa.models import Citation


@pytest.mark.parametrize("question, first, second, unit", [
    ("How many months passed between the quay opening and the report's publication?",
     "quay opening", "report's publication", "month"),
    ("How many years separate the treaty and the summit?", "treaty", "summit", "year"),
    ("How long after his inaugural address did he sign the order?",
     "his inaugural address", "he sign the order", None),
    ("How many months after the May 2025 report did the admiral testify?",
     "May 2025 report", "admiral testify", "month"),
])
def test_a_question_for_the_time_between_two_events(
    question: str, first: str, second: str, unit: str | None
) -> None:
    asked = asked_interval(question)
    assert asked is not None and (asked.first, asked.second, asked.unit) == (first, second, unit)


@pytest.mark.parametrize("question", [
    "How many days after enactment must the President report?",  # a rule: the text states it
    "How many days may the debate last after the veto?",
    "How many troops did North Korea send?",
])
def test_a_rule_or_a_count_is_no_interval(question: str) -> None:
    assert asked_interval(question) is None


@pytest.mark.parametrize("text, year, expected", [
    ("December 23, 2024", None, (date(2024, 12, 23), "day")),
    ("Aug. 2, 2017", None, (date(2017, 8, 2), "day")),
    ("23 December 2024", None, (date(2024, 12, 23), "day")),
    ("2024-12-23", None, (date(2024, 12, 23), "day")),
    ("June 2024", None, (date(2024, 6, 15), "month")),
    ("March 23-25", 2025, (date(2025, 3, 23), "day")),  # the year of the document writing it
    ("March 23-25", None, None),
    ("2017", None, (date(2017, 7, 1), "year")),
    ("the past three years", None, None),
])
def test_written_dates_are_read_with_their_precision(
    text: str, year: int | None, expected: tuple[date, str] | None
) -> None:
    assert parse_date(text, year) == expected


def _dated(day: date, precision: str) -> Dated:
    cite = Citation(source="s", title="t", section=None, quote="q", start=0, end=1)
    return Dated(day, precision, str(day), cite)


def test_the_count_is_in_the_unit_asked_and_says_when_it_is_rounded() -> None:
    june, december = _dated(date(2024, 6, 15), "month"), _dated(date(2024, 12, 23), "day")
    assert count(june, december, "month") == (6, "month", True)
    assert count(december, june, "month") == (6, "month", True)  # in either order
    inaugural, order = _dated(date(2025, 1, 20), "day"), _dated(date(2025, 8, 6), "day")
    assert count(inaugural, order, "day") == (198, "day", False)
    assert count(inaugural, order, None) == (198, "day", False)  # "how long": days, if known
    assert count(_dated(date(2017, 7, 1), "year"), order, "year") == (8, "year", True)
    assert spelled(6, "month") == "six months" and spelled(42, "day") == "42 days"
    assert spelled(1, "year") == "one year"


def test_the_reader_counts_between_two_dated_events(tmp_path: Path) -> None:
    """A passage dates one event, a document's own date (cited where its text writes it)
    or a "today" of a dated document the other; the answer cites both and has no short span;
    a question for a day is not answered from a month."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "harbour_report.txt": "Harbour Report\nDecember 23, 2024\n\nThe new quay of Elwood "
                              "opened in June 2024, after two years of building. The old "
                              "lighthouse keeper of Elwood retired in March 2021.\n",
        "ferry_notice.md": "# Ferry Notice\n\nToday, the harbour board of Elwood signed the "
                           "ferry charter for the island route.\n\nThe island ferry began "
                           "sailing on September 17, 2025.\n",
    })
    for name, meta in {"harbour_report.txt": {"title": "Harbour Report", "date": "2024-12-23"},
                       "ferry_notice.md": {"title": "Ferry Notice", "date": "2025-08-06"}}.items():
        (corpus / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("How many months passed between the opening of the new quay of Elwood and "
                    "the publication of the Harbour Report?", settings=settings)
    assert answer.text.startswith("About six months: from June 2024 [1] to December 23, 2024 [2]")
    assert answer.short is None and not answer.abstained
    assert [c.source for c in answer.citations] == ["harbour_report.txt", "harbour_report.txt"]
    answer = qa.ask("How many days after the harbour board signed the ferry charter did the "
                    "island ferry begin sailing?", settings=settings)
    assert answer.text.startswith("42 days: from August 6, 2025"), answer.text
    for c in answer.citations:
        assert (corpus / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    answer = qa.ask("How many days passed between the opening of the new quay of Elwood and "
                    "the retirement of the lighthouse keeper?", settings=settings)
    assert "days:" not in answer.text  # months and years date nothing to the day
