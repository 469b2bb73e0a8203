"""The evaluation dataset: typed items, a loader and a validator.

Run ``python -m evals.dataset`` to validate ``evals/dataset.jsonl`` against ``corpus/``
and print counts by type, source and section.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TYPES: tuple[str, ...] = (
    "fact",
    "number",
    "multi-passage",
    "reasoning",
    "follow-up",
    "unanswerable",
    "false-premise",
    "injected",
)
ABSTAIN_TYPES = frozenset({"unanswerable", "injected"})
PRIMARY_SOURCE = "sejong-outlook-russia-2025.txt"
SECTIONS: tuple[str, ...] = ("1", "2", "3", "4")
MIN_ITEMS = 120
MAX_EVIDENCE = 3
EVIDENCE_CHARS = (40, 300)
MAX_KEY_FACT_WORDS = 4
COPIED_RUN_WORDS = 10  # a question sharing this many consecutive words with its source is a copy

DEFAULT_PATH = Path(__file__).resolve().with_name("dataset.jsonl")
DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "corpus"

_FIELDS = (
    "id",
    "type",
    "question",
    "history",
    "source",
    "section",
    "answer",
    "key_facts",
    "evidence",
    "expect_abstain",
)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"[a-z0-9]+(?:['.,][a-z0-9]+)*")


@dataclass(frozen=True, kw_only=True)
class EvalItem:
    """One question of the evaluation set, with its reference answer and evidence."""

    id: str
    type: str
    question: str
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns, oldest first
    source: str | None = None  # corpus file name holding the answer
    section: str | None = None  # "1".."4" for the primary document
    answer: str | None = None
    key_facts: tuple[str, ...] = ()  # any one, case-insensitive, must appear in a good answer
    evidence: tuple[str, ...] = ()  # verbatim substrings of the source
    expect_abstain: bool = False

    @property
    def answerable(self) -> bool:
        """Whether the sources hold an answer (every type except unanswerable and injected)."""
        return self.type not in ABSTAIN_TYPES

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalItem:
        """Build an item from one decoded JSON object; raise ValueError on a bad shape."""
        missing = [name for name in _FIELDS if name not in data]
        extra = sorted(set(data) - set(_FIELDS))
        if missing or extra:
            raise ValueError(f"missing fields {missing}, unknown fields {extra}")
        history = data["history"]
        if not isinstance(history, list) or not all(
            isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
            for turn in history
        ):
            raise ValueError("history must be a list of [question, answer] string pairs")
        return cls(
            id=_str(data, "id"),
            type=_str(data, "type"),
            question=_str(data, "question"),
            history=tuple((q, a) for q, a in history),
            source=_opt_str(data, "source"),
            section=_opt_str(data, "section"),
            answer=_opt_str(data, "answer"),
            key_facts=_str_tuple(data, "key_facts"),
            evidence=_str_tuple(data, "evidence"),
            expect_abstain=_bool(data, "expect_abstain"),
        )


def _str(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data[name]
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null")
    return value


def _str_tuple(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(value)


def _bool(data: dict[str, Any], name: str) -> bool:
    value = data[name]
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a boolean")
    return value


def load_dataset(path: str | Path | None = None) -> list[EvalItem]:
    """Read a JSONL dataset (default ``evals/dataset.jsonl``); blank lines are skipped."""
    file = Path(path) if path is not None else DEFAULT_PATH
    items: list[EvalItem] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            items.append(EvalItem.from_dict(data))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{file}:{number}: {exc}") from exc
    return items


def _fold(text: str) -> str:
    """Lower-case, straighten quotes and collapse whitespace, for lenient comparisons."""
    return " ".join(text.translate(_QUOTES).lower().split())


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


def _copied_run(question: str, source_words: set[tuple[str, ...]]) -> bool:
    words = _words(question)
    return any(
        tuple(words[i : i + COPIED_RUN_WORDS]) in source_words
        for i in range(len(words) - COPIED_RUN_WORDS + 1)
    )


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {
        tuple(words[i : i + COPIED_RUN_WORDS]) for i in range(len(words) - COPIED_RUN_WORDS + 1)
    }


def _check_abstain(item: EvalItem) -> Iterable[str]:
    if not item.expect_abstain:
        yield "expect_abstain must be true"
    for name in ("source", "section", "answer"):
        if getattr(item, name) is not None:
            yield f"{name} must be null"
    if item.key_facts:
        yield "key_facts must be empty"
    if item.evidence:
        yield "evidence must be empty"


def _check_answerable(item: EvalItem, texts: dict[str, str | None]) -> Iterable[str]:
    if item.expect_abstain:
        yield "expect_abstain must be false"
    if not item.answer or not item.answer.strip():
        yield "answer is required"
    if not item.key_facts:
        yield "key_facts must not be empty"
    for fact in item.key_facts:
        if not fact.strip() or len(fact.split()) > MAX_KEY_FACT_WORDS:
            yield f"key fact {fact!r} must have 1-{MAX_KEY_FACT_WORDS} words"
    if item.answer and item.key_facts:
        if not any(_fold(fact) in _fold(item.answer) for fact in item.key_facts):
            yield "no key fact appears in the answer"
    if not 1 <= len(item.evidence) <= MAX_EVIDENCE:
        yield f"evidence must hold 1-{MAX_EVIDENCE} strings"
    if item.type == "multi-passage":
        if len(item.evidence) < 2:
            yield "multi-passage needs evidence from at least 2 places"
        elif len(set(item.evidence)) < len(item.evidence):
            yield "multi-passage evidence strings must differ"
    low, high = EVIDENCE_CHARS
    for quote in item.evidence:
        if not low <= len(quote) <= high:
            yield f"evidence of {len(quote)} chars (want {low}-{high}): {quote[:50]!r}"
    if item.evidence and item.key_facts:
        joined = _fold(" ".join(item.evidence))
        if not any(_fold(fact) in joined for fact in item.key_facts):
            yield "no key fact appears in the evidence"
    if item.source is None:
        yield "source is required"
        return
    if item.source == PRIMARY_SOURCE:
        if item.section not in SECTIONS:
            yield f"section must be one of {SECTIONS} for {PRIMARY_SOURCE}"
    elif item.section is not None:
        yield "section must be null outside the primary document"
    text = texts.get(item.source)
    if text is None:
        yield f"source {item.source!r} not found in the corpus"
        return
    for quote in item.evidence:
        if quote not in text:
            yield f"evidence is not a verbatim substring of {item.source}: {quote[:60]!r}"


def validate(items: Sequence[EvalItem], corpus_dir: str | Path) -> list[str]:
    """Return every problem found in the dataset (an empty list when it is sound)."""
    corpus = Path(corpus_dir)
    problems: list[str] = []
    if len(items) < MIN_ITEMS:
        problems.append(f"dataset has {len(items)} items, want at least {MIN_ITEMS}")
    for item_id, count in Counter(item.id for item in items).items():
        if count > 1:
            problems.append(f"{item_id}: id used {count} times")
    missing_types = sorted(set(TYPES) - {item.type for item in items})
    if missing_types:
        problems.append(f"types without items: {', '.join(missing_types)}")

    texts: dict[str, str | None] = {}
    ngrams: dict[str, set[tuple[str, ...]]] = {}
    for item in items:
        if item.source is not None and item.source not in texts:
            path = corpus / item.source
            is_file = path.is_file() and path.parent == corpus
            texts[item.source] = path.read_bytes().decode("utf-8") if is_file else None

    for item in items:
        found: list[str] = []
        if not item.id.strip():
            found.append("id must not be empty")
        if item.type not in TYPES:
            found.append(f"unknown type {item.type!r}")
        if not item.question.strip():
            found.append("question must not be empty")
        if item.type == "follow-up" and not item.history:
            found.append("follow-up needs a history")
        if item.type != "follow-up" and item.history:
            found.append("history must be empty except for follow-ups")
        if item.type in ABSTAIN_TYPES:
            found.extend(_check_abstain(item))
        elif item.type in TYPES:
            found.extend(_check_answerable(item, texts))
            text = texts.get(item.source) if item.source else None
            if item.source and text:
                grams = ngrams.setdefault(item.source, _ngrams(text))
                if _copied_run(item.question, grams):
                    found.append("question copies a run of the source; paraphrase it")
        problems.extend(f"{item.id}: {problem}" for problem in found)
    return problems


def summary(items: Sequence[EvalItem]) -> str:
    """Counts of items by type, by source and by section of the primary document."""
    by_type = Counter(item.type for item in items)
    by_source = Counter(item.source or "(none)" for item in items)
    by_section = Counter(item.section for item in items if item.source == PRIMARY_SOURCE)
    lines = [f"{len(items)} items", "by type:"]
    lines += [f"  {name:<14} {by_type.get(name, 0):>4}" for name in TYPES]
    lines += [f"  {name:<14} {n:>4}" for name, n in sorted(by_type.items()) if name not in TYPES]
    lines.append("by source:")
    lines += [f"  {name:<50} {n:>4}" for name, n in sorted(by_source.items())]
    lines.append(f"by section of {PRIMARY_SOURCE}:")
    lines += [f"  section {name:<6} {by_section.get(name, 0):>4}" for name in SECTIONS]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the dataset against the corpus and print a summary; 1 on problems."""
    parser = argparse.ArgumentParser(
        prog="python -m evals.dataset",
        description="Validate the evaluation dataset against the corpus and summarise it.",
    )
    parser.add_argument(
        "--dataset", type=Path, default=DEFAULT_PATH, help="JSONL file (default: %(default)s)"
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="corpus directory (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        items = load_dataset(args.dataset)
    except (OSError, ValueError) as exc:
        print(f"cannot load dataset: {exc}", file=sys.stderr)
        return 1
    print(summary(items))
    problems = validate(items, args.corpus)
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
