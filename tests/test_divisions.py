"""Numbered divisions ("§ 12. Mooring fees", "Sec. 3.  Pilotage."): found by label, read
first for a question about one, and answered by their heading."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.retrieval.divisions import asked_numbers, divisions_of, named_divisions

CODE = (
    "HARBOUR CODE\n\n"
    "#### §\u202f12. Mooring fees\n\n"
    "A vessel moored for more than two nights pays a fee of 40 crowns a night.\n\n"
    "#### §\u202f13. Pilotage\n\n"
    "A pilot boards every vessel longer than 90 metres before it enters the inner basin.\n"
)
ORDER = (
    "Sec. 1.  Purpose.  This order sets the tide watch.\n\n"
    "Sec. 2.  Watch Keeping and\nSignals.  (a)  The harbour master keeps a watch.\n"
)


def test_headings_are_read_with_their_titles_and_reach() -> None:
    code = divisions_of("code.md", CODE)
    assert [(d.label.replace("\u202f", " "), d.title) for d in code] == [
        ("§ 12", "Mooring fees"), ("§ 13", "Pilotage")]
    assert code[0].end == code[1].start  # a division runs to the next heading
    assert "40 crowns" in CODE[code[0].start : code[0].end]
    order = divisions_of("order.md", ORDER)
    # an inline heading ends at its full stop; a hard-wrapped one carries on to the next line
    assert [d.title for d in order] == ["Purpose", "Watch Keeping and Signals"]
    assert ORDER[order[1].start : order[1].heading_end] == "Sec. 2.  Watch Keeping and\nSignals."


@pytest.mark.parametrize(("question", "numbers"), [
    ("what does sec 12 do", ("12",)),
    ("§ 13 - what's it about?", ("13",)),
    ("What does Sec. 2(a) of the order say?", ("2",)),
    ("Compare section 12 and section 13.", ("12", "13")),
    ("Which section covers pilotage?", ()),
])
def test_a_question_names_divisions_by_number(question: str, numbers: tuple[str, ...]) -> None:
    assert asked_numbers(question) == numbers


def test_a_number_two_documents_use_is_taken_from_the_preferred_one() -> None:
    texts = {"code.md": CODE, "other.md": "#### § 12. Lighthouses\n\nThe lamp burns.\n"}
    assert named_divisions("What is § 12?", texts, ["other.md", "code.md"])[0].source == "other.md"
    assert named_divisions("What is § 12?", texts, ["code.md"])[0].title == "Mooring fees"
    assert named_divisions("What is § 12?", texts, []) == []  # no guess between documents
    assert named_divisions("What is § 99?", texts, ["code.md"]) == []


@pytest.mark.slow
def test_a_division_asked_about_by_number_is_answered_by_its_heading(tmp_path: Path) -> None:
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "harbour_code.md": CODE,
        "harbour_code.md.meta.json": '{"title": "Harbour Code"}',
        "tides.txt": "Tide Notes\n\nThe spring tide at Port Elwood reaches 4.2 metres.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("What's § 13 of the harbour code called?", settings=settings)
    assert not answer.abstained and answer.short == "Pilotage"
    heading = answer.citations[0]
    assert heading.quote.endswith("Pilotage")
    assert qa.source_text(heading.source, settings=settings)[heading.start:heading.end] \
        == heading.quote
    assert any("90 metres" in c.quote for c in answer.citations)  # and what it says
    # the passage it opens is read first, though its text never says "13"
    assert "pilot boards" in qa.retrieve("sec 13 - what is it about?", settings=settings)[0].text
    answer = qa.ask("Which section is titled 'Mooring fees'?", settings=settings)
    assert answer.short is not None and answer.short.endswith("12")
    # a question that asks more than what the division is keeps the ordinary reader
    answer = qa.ask("How much does § 12 charge a night for mooring?", settings=settings)
    assert answer.short is not None and "40 crowns" in answer.short
    # ... and is not abstained on because its passage never writes the division's number
    answer = qa.ask("Under § 13, which vessels must take a pilot on board?", settings=settings)
    assert not answer.abstained and "90 metres" in answer.citations[0].quote


def test_a_passage_is_about_the_division_it_sits_in() -> None:
    """The passage under "§ 13. Pilotage" never says "13": the division's label and title
    are what it is about, as a section heading is."""
    from qa.retrieval.divisions import division_at

    at = CODE.index("A pilot boards")
    division = division_at("code.md", CODE, at)
    assert division is not None and division.title == "Pilotage"
    assert division_at("code.md", CODE, 0) is None  # before the first heading
