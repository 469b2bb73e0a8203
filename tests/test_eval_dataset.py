"""The evaluation dataset is well formed and its evidence is verbatim from the corpus."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from evals.dataset import (
    PRIMARY_SOURCE,
    SECTIONS,
    TYPES,
    EvalItem,
    load_dataset,
    main,
    validate,
)

CORPUS = Path(__file__).parents[1] / "corpus"
RELATED_SOURCES = (
    "caatsa_title_II_22usc_ch102.txt",
    "crs_IF12760_russia_north_korea_relations.md",
    "trump_inaugural_address_2025-01-20.txt",
    "wh_black_sea_expert_group_outcomes_2025-03-25.md",
    "wh_eo_russian_oil_tariffs_2025-08-06.md",
)


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_dataset()


def _first(items: list[EvalItem], type_: str) -> EvalItem:
    return next(item for item in items if item.type == type_)


def test_dataset_validates_against_corpus(items: list[EvalItem]) -> None:
    assert validate(items, CORPUS) == []


def test_each_type_has_at_least_14_items(items: list[EvalItem]) -> None:
    counts = Counter(item.type for item in items)
    assert {t: counts[t] for t in TYPES if counts[t] < 14} == {}


def test_primary_sections_are_covered_evenly(items: list[EvalItem]) -> None:
    counts = Counter(item.section for item in items if item.source == PRIMARY_SOURCE)
    assert set(counts) == set(SECTIONS)
    assert min(counts.values()) >= 0.7 * max(counts.values()), counts
    assert sum(counts.values()) >= 90


def test_related_sources_are_all_used(items: list[EvalItem]) -> None:
    counts = Counter(item.source for item in items)
    assert all(counts[source] >= 3 for source in RELATED_SOURCES), counts
    assert sum(counts[source] for source in RELATED_SOURCES) >= 25


def test_abstain_flag_matches_type(items: list[EvalItem]) -> None:
    for item in items:
        assert item.expect_abstain == (item.type in {"unanswerable", "injected"}), item.id


def test_validate_catches_evidence_that_is_not_verbatim(items: list[EvalItem]) -> None:
    item = next(i for i in items if any("\u2019" in quote for quote in i.evidence))
    straightened = tuple(quote.replace("\u2019", "'") for quote in item.evidence)
    others = [other for other in items if other is not item]
    problems = validate([*others, replace(item, evidence=straightened)], CORPUS)
    assert any(p.startswith(f"{item.id}:") and "verbatim" in p for p in problems), problems


def test_validate_catches_answer_without_key_fact(items: list[EvalItem]) -> None:
    item = _first(items, "number")
    broken = replace(item, answer="The document does not say.")
    others = [other for other in items if other is not item]
    problems = validate([*others, broken], CORPUS)
    assert f"{item.id}: no key fact appears in the answer" in problems


def test_validate_catches_structural_errors(items: list[EvalItem]) -> None:
    follow_up = _first(items, "follow-up")
    injected = _first(items, "injected")
    multi = _first(items, "multi-passage")
    broken = [
        replace(follow_up, history=()),
        replace(injected, answer="yes", expect_abstain=False),
        replace(_first(items, "fact"), type="trivia"),
        replace(_first(items, "reasoning"), key_facts=()),
        replace(multi, evidence=multi.evidence[:1]),
        replace(_first(items, "fact"), id="dup-001"),
        replace(_first(items, "number"), id="dup-001"),
    ]
    problems = validate(broken, CORPUS)
    joined = "\n".join(problems)
    assert f"{follow_up.id}: follow-up needs a history" in problems
    assert f"{injected.id}: expect_abstain must be true" in problems
    assert f"{injected.id}: answer must be null" in problems
    assert "unknown type 'trivia'" in joined
    assert "key_facts must not be empty" in joined
    assert "multi-passage needs evidence from at least 2 places" in joined
    assert "dup-001: id used 2 times" in problems
    assert any(p.startswith("dataset has 7 items") for p in problems)


def test_validate_catches_unknown_source(items: list[EvalItem]) -> None:
    item = replace(_first(items, "fact"), source="missing.txt", section=None)
    problems = validate([item], CORPUS)
    assert f"{item.id}: source 'missing.txt' not found in the corpus" in problems


def test_load_dataset_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "type": "fact"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: missing fields"):
        load_dataset(path)


def test_main_help_and_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, items: list[EvalItem]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--corpus" in capsys.readouterr().out

    assert main(["--corpus", str(CORPUS)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out

    empty = tmp_path / "corpus"
    empty.mkdir()
    assert main(["--corpus", str(empty)]) == 1
