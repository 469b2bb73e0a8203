"""The evaluation dataset: typed items, a loader and a validator.

Run ``python -m evals.dataset`` to validate ``evals/dataset.jsonl`` against ``corpus/``
and print counts by type, source, section and tag; ``python -m evals.dataset
evals/testset.jsonl`` validates the frozen held-out test split the same way.
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
TAGS: tuple[str, ...] = (
    "near-miss",  # unanswerable, but worded like a real passage with one detail absent
    "cross-document",  # evidence drawn from more than one corpus document
    "which-source",  # asks which document says something
    "when",  # asks when a document was issued or an event happened
    "list",  # the answer enumerates items
    "comparison",
    "why",
)
CROSS_DOCUMENT = "cross-document"
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
_OPTIONAL_FIELDS = ("answer_short", "tags")  # absent = null and []
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
    answer_short: str | None = None  # minimal verbatim answer span (name, figure, date)
    tags: tuple[str, ...] = ()  # values from TAGS

    @property
    def answerable(self) -> bool:
        """Whether the sources hold an answer (every type except unanswerable and injected)."""
        return self.type not in ABSTAIN_TYPES

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalItem:
        """Build an item from one decoded JSON object; raise ValueError on a bad shape."""
        missing = [name for name in _FIELDS if name not in data]
        extra = sorted(set(data) - set(_FIELDS) - set(_OPTIONAL_FIELDS))
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
            answer_short=_opt_str(data, "answer_short") if "answer_short" in data else None,
            tags=_str_tuple(data, "tags") if "tags" in data else (),
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


def _straighten(text: str) -> str:
    """Straighten quotes and collapse whitespace, keeping case, for answer_short checks."""
    return " ".join(text.translate(_QUOTES).split())


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
    if item.answer_short is not None:
        yield "answer_short must be null"


def _check_tags(item: EvalItem) -> Iterable[str]:
    for tag in item.tags:
        if tag not in TAGS:
            yield f"unknown tag {tag!r}"
    if len(set(item.tags)) < len(item.tags):
        yield "tags must not repeat"
    if "near-miss" in item.tags and item.type != "unanswerable":
        yield "near-miss is for unanswerable items"


def _check_answer_short(item: EvalItem, text: str | None) -> Iterable[str]:
    short = item.answer_short
    if short is None:
        return
    if not short.strip():
        yield "answer_short must not be blank"
        return
    places = [*item.evidence, *([text] if text else [])]
    if not any(_straighten(short) in _straighten(place) for place in places):
        yield f"answer_short {short!r} is not verbatim in the source or the evidence"


def _check_answerable(
    item: EvalItem, texts: dict[str, str | None], corpus: dict[str, str]
) -> Iterable[str]:
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
    cross = CROSS_DOCUMENT in item.tags
    for quote in item.evidence:
        if quote not in text and not (cross and any(quote in doc for doc in corpus.values())):
            where = f"{item.source} or any corpus document" if cross else item.source
            yield f"evidence is not a verbatim substring of {where}: {quote[:60]!r}"
    yield from _check_answer_short(item, text)


def _corpus_documents(corpus: Path) -> dict[str, str]:
    """Every document of the corpus directory by file name (metadata and README left out)."""
    if not corpus.is_dir():
        return {}
    return {
        path.name: path.read_bytes().decode("utf-8")
        for path in sorted(corpus.iterdir())
        if path.is_file() and path.suffix in {".txt", ".md"} and path.name != "README.md"
    }


def validate(items: Sequence[EvalItem], corpus_dir: str | Path) -> list[str]:
    """Return every problem found in the dataset (an empty list when it is sound)."""
    corpus = Path(corpus_dir)
    documents = _corpus_documents(corpus) if any(CROSS_DOCUMENT in i.tags for i in items) else {}
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
        found.extend(_check_tags(item))
        if item.type in ABSTAIN_TYPES:
            found.extend(_check_abstain(item))
        elif item.type in TYPES:
            found.extend(_check_answerable(item, texts, documents))
            names = {item.source} if item.source and texts.get(item.source) else set()
            if CROSS_DOCUMENT in item.tags:
                names |= {n for n, doc in documents.items() if any(q in doc for q in item.evidence)}
            for name in sorted(names):
                text = texts.get(name) or documents[name]
                grams = ngrams.setdefault(name, _ngrams(text))
                if _copied_run(item.question, grams):
                    found.append(f"question copies a run of {name}; paraphrase it")
        problems.extend(f"{item.id}: {problem}" for problem in found)
    return problems


def summary(items: Sequence[EvalItem]) -> str:
    """Counts of items by type, source, section of the primary document and tag."""
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
    by_tag = Counter(tag for item in items for tag in item.tags)
    if by_tag:
        lines.append("by tag:")
        lines += [f"  {name:<14} {by_tag.get(name, 0):>4}" for name in TAGS]
        lines += [f"  {name:<14} {n:>4}" for name, n in sorted(by_tag.items()) if name not in TAGS]
    shorts = sum(item.answer_short is not None for item in items)
    if shorts:
        lines.append(f"with answer_short: {shorts}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the dataset against the corpus and print a summary; 1 on problems."""
    parser = argparse.ArgumentParser(
        prog="python -m evals.dataset",
        description="Validate the evaluation dataset against the corpus and summarise it.",
    )
    parser.add_argument("path", type=Path, nargs="?", help="JSONL file to check; same as --dataset")
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
        items = load_dataset(args.path or args.dataset)
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
