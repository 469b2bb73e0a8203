"""The minimal answer: a name, figure, date or short phrase, verbatim from the first quote.

The quoted sentence is parsed once (spaCy, without its NER: the entities were stored at index
time) and every span that could stand alone is a candidate: its named entities, its noun
chunks and the subtrees of its objects, subjects, appositions and clauses. A logistic model
fitted on the dev split's reference spans (``python -m evals.fit_short``, written to
``short_model.json``) scores them from what the parse says: how much of the span the question
already says, whether it is of the expected answer type, how many arcs it sits from the
question's words in the sentence, its length and grammatical role. The best span is the short
answer when its probability passes the fitted threshold; otherwise the quotes speak alone.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ConfigError
from qa.index.lexical import tokenize
from qa.ingest.linguistics import CLOCK_COMPONENT, nlp
from qa.retrieval.analysis import DESCRIPTION, REASON, QuestionAnalysis

MODEL_PATH = Path(__file__).with_name("short_model.json")
_ENUMERATION = re.compile(r"\s*\(?(?:[0-9]{1,3}|[A-Za-z]{1,2}|[ivxlcdmIVXLCDM]{1,6})\)\s+")
MAX_SPAN_TOKENS = 12  # longer than this is a clause, and the quote says it better
_PUNCT = " ,;:\"'“”‘’()[]—–-"
# The grammatical roles of a span's head, grouped the way answers fill them.
_OBJECT = frozenset({"dobj", "pobj", "attr", "oprd", "dative"})
_SUBJECT = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
_APPOSITION = frozenset({"appos", "conj", "npadvmod"})
_MODIFIER = frozenset({"amod", "compound", "nummod", "poss", "nmod", "quantmod"})
_CLAUSE = frozenset({"ccomp", "xcomp", "advcl", "relcl", "acl", "pcomp"})
_SUBTREE_ROLES = _OBJECT | _SUBJECT | _APPOSITION | _CLAUSE | {"prep", "agent"}

# What is measured of every span ...
SPAN_BASE: tuple[str, ...] = (
    "new_share",  # share of the span's words the question does not say
    "asked_share",  # share of the question's words the span repeats
    "type_match",  # the span is or holds an entity of the expected type
    "typed_exact",  # the span is exactly an entity of the expected type ("five", not "five …")
    "is_entity",  # the span is exactly a stored entity
    "is_chunk",  # the span is a noun chunk
    "is_clause",  # the span is the subtree of a clause
    "length",  # log tokens
    "sentence_share",  # its share of the sentence's tokens
    "anchor_near",  # 1 / (1 + arcs from its head to the nearest question word in the sentence)
    "after_anchor",  # it follows the first question word of the sentence
    "object",  # its head is an object, attribute or object of a preposition
    "subject",
    "apposition",
    "modifier",
    "has_number",
    "has_name",  # the span holds a proper noun
    "has_person",  # the span holds a person's name (who-questions also accept offices)
    "focus_head",  # the span's head is the question's focus noun ("the Korea-China-Japan channel")
    "reason_marker",  # the span opens with "to", "because", "due to", "since", "as"
    "constraint_near",  # 1 / (1 + arcs to the nearest entity the question names ("in 2024"))
    "rival_closer",  # an entity of the same kind as one the question names, but another one
    # ("2023" where the question says 2024), sits closer to the span than the named one
    "bias",  # 1: the group's own intercept, for the threshold
)
# ... weighed for each kind of question too: a "how many" question wants the bare
# figure, a why-question the clause, a "which X" question the name.
QUESTION_KINDS: tuple[str, ...] = ("typed", "reason", "named", "open")
# Each feature once for every question, and again for its kind alone: regularised, the
# kind's copy only learns where that kind of question differs from the rest.
SPAN_FEATURES: tuple[str, ...] = SPAN_BASE + tuple(
    f"{k}:{f}" for k in QUESTION_KINDS for f in SPAN_BASE
)
_REASON_MARKERS = frozenset({"to", "because", "due", "since", "as", "so"})


@dataclass(frozen=True)
class SpanCandidate:
    """A span of the quoted sentence that could be the short answer, and its features."""

    start: int
    end: int
    features: tuple[float, ...]


@dataclass(frozen=True)
class ShortModel:
    """Fitted logistic weights over ``SPAN_FEATURES`` and the threshold fitted with them."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    bias: float
    threshold: float

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@functools.lru_cache(maxsize=1)
def load_short_model(path: Path = MODEL_PATH) -> ShortModel | None:
    """The fitted span model, or None before the first fit (then no short answers)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the short-answer model {path} is unreadable ({exc}); "
                          "run `python -m evals.fit_short`") from exc
    if data.get("features") != list(SPAN_FEATURES):
        raise ConfigError(f"{path} was fitted for other features; "
                          "run `python -m evals.fit_short` to fit it again")
    return ShortModel(
        weights=np.asarray(data["weights"], dtype=np.float64),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        bias=float(data["bias"]), threshold=float(data["threshold"]),
    )


def short_answer(
    analysis: QuestionAnalysis,
    text: str,
    entities: tuple[tuple[str, int, int], ...],
    model: ShortModel | None = None,
) -> str | None:
    """The span of ``text`` that answers on its own, or None when no span is likely enough."""
    model = model or load_short_model()
    if model is None or not wants_short(analysis):
        return None
    spans = span_candidates(analysis, text, entities)
    if not spans:
        return None
    probs = model.probabilities(np.asarray([s.features for s in spans], dtype=np.float64))
    best = int(np.argmax(probs))
    if probs[best] < model.threshold:
        return None
    return text[spans[best].start : spans[best].end]


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Any:
    # ``disable`` per call, not ``select_pipes``: that would change the pipeline every other
    # thread (the chat's concurrent answers, a background sync) is using at the same time.
    return nlp()(text, disable=["ner", CLOCK_COMPONENT])


def span_candidates(
    analysis: QuestionAnalysis, text: str, entities: tuple[tuple[str, int, int], ...]
) -> list[SpanCandidate]:
    """Every span of ``text`` that could stand alone as the answer, with its features."""
    doc = _parse(text)
    asked = set(tokenize(" ".join(analysis.content)))
    lemmas = set(analysis.content)
    anchors = [t for t in doc if t.lemma_.lower() in lemmas]
    first_anchor = min((t.idx for t in anchors), default=len(text))
    labels = analysis.labels
    entity_spans = {(a, b): label for label, a, b in entities}
    # Entities the question does not already name: "Trump" is no answer to "Who did Trump …".
    fresh = {(a, b): label for (a, b), label in entity_spans.items()
             if not set(tokenize(text[a:b])) <= asked}
    n_tokens = max(len(doc), 1)
    # The sentence's tokens inside an entity the question names, and inside a rival: a fresh
    # entity of a kind the question names one of (another year, another country).
    named_labels = {label for label, _ in analysis.entities}
    if analysis.years:
        named_labels.add("DATE")
    named_tokens = _tokens_in(doc, [ab for ab in entity_spans if ab not in fresh])
    rival_tokens = _tokens_in(doc, [ab for ab, label in fresh.items() if label in named_labels])
    focus = analysis.focus
    question_kind = _question_kind(analysis)
    out: list[SpanCandidate] = []
    seen: set[tuple[int, int]] = set()
    for a, b, kind in _spans(doc, entities):
        a, b = _trim(text, a, b)
        if b <= a or (a, b) in seen:
            continue
        seen.add((a, b))
        span = doc.char_span(a, b, alignment_mode="expand")
        if span is None or len(span) > MAX_SPAN_TOKENS:
            continue
        words = set(tokenize(text[a:b]))
        if not words:
            continue
        new_share = len(words - asked) / len(words)
        if new_share == 0:
            continue  # the question's own words are never its answer
        root = span.root
        inside = {t.i for t in span}
        outside = [t for t in anchors if t.i not in inside]
        arcs = min((_arcs(root, t) for t in outside), default=99)
        to_named = min((_arcs(root, t) for t in named_tokens if t.i not in inside), default=99)
        to_rival = min((_arcs(root, t) for t in rival_tokens if t.i not in inside), default=99)
        holds_type = any(label in labels and a <= ea and eb <= b
                         for (ea, eb), label in fresh.items())
        is_entity = (a, b) in entity_spans or kind == "entity"
        base = (
            new_share,
            len(words & asked) / len(asked) if asked else 0.0,
            float(holds_type),
            float(fresh.get((a, b)) in labels),
            float(is_entity),
            float(kind == "chunk"),
            float(kind == "clause"),
            math.log1p(len(span)),
            len(span) / n_tokens,
            1.0 / (1.0 + arcs),
            float(a >= first_anchor),
            float(root.dep_ in _OBJECT),
            float(root.dep_ in _SUBJECT),
            float(root.dep_ in _APPOSITION),
            float(root.dep_ in _MODIFIER),
            float(any(t.like_num for t in span)),
            float(any(t.pos_ == "PROPN" for t in span)),
            float(any(label == "PERSON" and a <= ea and eb <= b
                      for (ea, eb), label in fresh.items())),
            float(focus is not None and root.lemma_.lower() == focus),
            float(span[0].lower_ in _REASON_MARKERS),
            1.0 / (1.0 + to_named) if to_named < 99 else 0.0,
            float(to_rival < to_named),
            1.0,
        )
        row = base + tuple(v if k == question_kind else 0.0 for k in QUESTION_KINDS for v in base)
        out.append(SpanCandidate(a, b, row))
    return out


_DESCRIBE = re.compile(r"^\s*(describe|explain|tell me about|summari[sz]e)\b", re.IGNORECASE)
_NAMING_NOUNS = frozenset({"name", "title", "term", "acronym", "abbreviation", "word"})
_DEFINE = re.compile(r"^\s*(what|who)\s+(is|are|was|were)\s+(?P<rest>[^?]+)\??\s*$",
                     re.IGNORECASE)


def wants_short(analysis: QuestionAnalysis) -> bool:
    """Whether a minimal span can answer the question at all (the API contract: none for why-,
    how- and describe-questions): not a reason or a manner ("why …", "how did …"), and not a
    request to describe something the question names ("Who is Keith Kellogg?", "What is the
    Black Sea Initiative?", "Explain …")."""
    if _question_kind(analysis) == "reason" or _DESCRIBE.match(analysis.question):
        return False
    define = _DEFINE.match(analysis.question)
    if define and analysis.answer_type == DESCRIPTION and not analysis.focus_is_type \
            and analysis.focus not in _NAMING_NOUNS:  # "What is the name of …?" wants one
        rest = _parse(define.group("rest"))
        return any(t.pos_ in ("VERB", "AUX") for t in rest)  # "what is X doing …" asks more
    return True


def _tokens_in(doc: Any, spans: list[tuple[int, int]]) -> list[Any]:
    return [t for t in doc if any(a <= t.idx < b for a, b in spans)]


def _question_kind(analysis: QuestionAnalysis) -> str:
    """Which of ``QUESTION_KINDS`` the question is: typed (a name, date or figure of a known
    type), reason (why/how), named ("which/what X" with X not a type noun) or open."""
    if analysis.labels:
        return "typed"
    if analysis.answer_type == REASON or analysis.wh == "how":
        return "reason"
    if analysis.wh in ("which", "what") and analysis.focus and not analysis.focus_is_type:
        return "named"
    return "open"


def _spans(doc: Any, entities: tuple[tuple[str, int, int], ...]) -> Iterator[tuple[int, int, str]]:
    for _, a, b in entities:
        yield a, b, "entity"
    for chunk in doc.noun_chunks:
        yield chunk.start_char, chunk.end_char, "chunk"
    for t in doc:
        if t.dep_ in _SUBTREE_ROLES:
            left, right = t.left_edge, t.right_edge
            kind = "clause" if t.dep_ in _CLAUSE else "phrase"
            yield left.idx, right.idx + len(right.text), kind
            if t.dep_ == "prep" and t.i < right.i:  # "in June 2024" -> also "June 2024"
                yield doc[t.i + 1].idx, right.idx + len(right.text), "phrase"


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Without edge punctuation, and without the sentence's full stop (not an abbreviation's
    "U.S.": a span ending mid-sentence keeps its dot)."""
    label = _ENUMERATION.match(text, a, b)  # "(VI) Zorsecurity" -> "Zorsecurity"
    if label:
        a = label.end()
    while a < b and text[a] in _PUNCT:
        a += 1
    while b > a and (text[b - 1] in _PUNCT or (text[b - 1] == "." and not text[b:].strip())):
        b -= 1
    return a, b


def _arcs(a: Any, b: Any) -> int:
    """Arcs between two tokens of one parse (through their lowest common ancestor)."""
    up = {a.i: 0}
    for depth, t in enumerate(a.ancestors, start=1):
        up[t.i] = depth
    if b.i in up:
        return up[b.i]
    for depth, t in enumerate(b.ancestors, start=1):
        if t.i in up:
            return depth + up[t.i]
    return 99
