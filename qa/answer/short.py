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

from qa.answer.features import mentions
from qa.errors import ConfigError
from qa.index.lexical import tokenize, word_root
from qa.ingest.linguistics import (
    CLOCK_COMPONENT,
    NAME,
    OBJECT_ARCS,
    SUBJECT_ARCS,
    balanced,
    nlp,
    role_group,
)
from qa.retrieval.acronyms import aliases
from qa.retrieval.analysis import DESCRIPTION, REASON, YEAR, QuestionAnalysis

MODEL_PATH = Path(__file__).with_name("short_model.json")
_ENUMERATION = re.compile(r"\s*\(?(?:[0-9]{1,3}|[A-Za-z]{1,2}|[ivxlcdmIVXLCDM]{1,6})\)\s+")
MAX_SPAN_TOKENS = 12  # longer than this is a clause, and the quote says it better
_PUNCT = " ,;:\"'“”‘’()[]—–-"
_POSSESSIVE = re.compile(r"['’]s$")
# The grammatical roles of a span's head, grouped the way answers fill them.
_APPOSITION = frozenset({"appos", "conj", "npadvmod"})
_MODIFIER = frozenset({"amod", "compound", "nummod", "poss", "nmod", "quantmod"})
_CLAUSE = frozenset({"ccomp", "xcomp", "advcl", "relcl", "acl", "pcomp"})
_SUBTREE_ROLES = OBJECT_ARCS | SUBJECT_ARCS | _APPOSITION | _CLAUSE | {"prep", "agent"}

# What is measured of every span, one weight each for every kind of question (copies per kind
# of question were tried: cross-validated, they learnt the noise of the few questions of each).
SPAN_FEATURES: tuple[str, ...] = (
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
    "has_number",  # it holds a figure, and the question asks for one
    "stray_number",  # it holds a figure, and the question asks for a name, thing or phrase
    "has_name",  # the span holds a proper noun
    "has_person",  # the span holds a person's name (who-questions also accept offices)
    "focus_head",  # the span's head is the question's focus noun ("the Korea-China-Japan channel")
    "reason_marker",  # the span opens with "to", "because", "due to", "since", "as"
    "constraint_near",  # 1 / (1 + arcs to the nearest entity the question names ("in 2024"))
    "rival_closer",  # an entity of the same kind as one the question names, but another one
    # ("2023" where the question says 2024), sits closer to the span than the named one
    "primary_label",  # the span is exactly an entity of the type's own label (ORG, not GPE)
    "window_share",  # share of the question's words within a few tokens either side of it
    "governor_asked",  # the word that governs it is one of the question's ("… was named X")
    "same_slot",  # it fills the sentence slot the wh-phrase fills in the question (subject,
    # object): "Which outlet said …" -> the subject of "reported"
    "coordinated",  # it joins several items ("Samsung, Hyundai, and LG")
    "plural_coordinated",  # ... and the question asks for several ("which companies")
    "starts_prep",  # it opens with a preposition ("of Article 5")
    "quoted",  # it is all of a quotation ("entitled “Assessing …”")
    "count_met",  # it joins as many items as the question counts ("which two states")
    "post_modified",  # its head takes a phrase or clause after it ("the channel in Asia")
    "opens_bound",  # it opens with a bound on a figure ("no later than 180 days")
    "typed_entity",  # it is an entity, or a bounded or joined one, that holds the type asked
)
_OPENS_BOUND = re.compile(r"(?:(?:no|not)\s+)?(?:(?:later|earlier|longer|shorter|more|less|fewer|"
                          r"greater)\s+)?than\b|at (?:least|most)\b|up to\b", re.IGNORECASE)
_REASON_MARKERS = frozenset({"to", "because", "due", "since", "as", "so"})
WINDOW = 5  # tokens either side of a span that count as its context


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


def correction(
    analysis: QuestionAnalysis, text: str, entities: tuple[tuple[str, int, int], ...],
    label: str, premise: str = "", model: ShortModel | None = None,
) -> str | None:
    """What ``text`` holds where a false premise put a ``label`` entity the sources lack
    ("Reuters" for "Bloomberg"): of the sentence's fresh entities of that label, the one the
    span model likes best, whatever the question's kind (a why-question's correction is a
    name or a figure, not a reason). A stretch of time is corrected by a stretch of time
    ("30 days" for "90 days"), not by a date ("2017"), though spaCy labels both DATE."""
    model = model or load_short_model()
    asked = set(tokenize(analysis.question))
    stretch = bool(_STRETCH.search(premise))
    rivals = {_trim(text, a, b) for lb, a, b in entities
              if lb == label and not set(tokenize(text[a:b])) <= asked
              and not _is_label(text, a, b)
              and (not premise or bool(_STRETCH.search(text, a, b)) == stretch)
              and puts_year_right(premise, text, a, b)}
    if not rivals:
        return None
    candidates = [s for s in span_candidates(analysis, text, entities)
                  if (s.start, s.end) in rivals]
    if model is None or not candidates:
        a, b = min(rivals)
        return text[a:b]
    probs = model.probabilities(np.asarray([s.features for s in candidates], dtype=np.float64))
    best = candidates[int(np.argmax(probs))]
    return text[best.start : best.end]


def puts_year_right(premise: str, text: str, a: int, b: int) -> bool:
    """Whether ``text[a:b]`` can stand where the premise stood, as far as years go: a year is
    put right by a year ("2023, not 2024"), not by a day of another ("August 27")."""
    return YEAR.fullmatch(premise.strip()) is None or YEAR.search(text, a, b) is not None


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
    # The question's own words, all of them: "May" in "the May 2025 report" is no answer.
    # So are the sentence's words for what the question names by an acronym or spells out
    # ("the United States" for "the U.S.").
    asked = set(tokenize(analysis.question)) | set(tokenize(" ".join(analysis.content)))
    asked |= aliases(analysis.question, text)
    # The question's words by their first five letters, so that a word's derivations meet
    # ("appointed" and "the appointment of", "negotiate" and "negotiations").
    lemmas = {word_root(w) for w in analysis.content}
    primary = analysis.primary_labels
    roots = [word_root(t.lemma_.lower()) for t in doc]  # each token's, by index
    anchors = [t for t in doc if roots[t.i] in lemmas]
    first_anchor = min((t.idx for t in anchors), default=len(text))
    labels = analysis.labels
    entity_spans = _titles_joined(text, {(a, b): label for label, a, b in entities})
    # Entities the question does not already name: "Trump" is no answer to "Who did Trump …",
    # nor "Donald J. Trump" (a person the question names by the surname).
    question = f"{analysis.question} {' '.join(analysis.content)}".lower()
    fresh = {(a, b): label for (a, b), label in entity_spans.items()
             if not set(tokenize(text[a:b])) <= asked
             and not (label == "PERSON" and mentions(question, text[a:b], label))}
    n_tokens = max(len(doc), 1)
    # The sentence's tokens inside an entity the question names, and inside a rival: a fresh
    # entity of a kind the question names one of (another year, another country).
    named_labels = {label for label, _ in analysis.entities}
    if analysis.years:
        named_labels.add("DATE")
    named_tokens = _tokens_in(doc, [ab for ab in entity_spans if ab not in fresh])
    rival_tokens = _tokens_in(doc, [ab for ab, label in fresh.items() if label in named_labels])
    focus = analysis.focus
    # A figure answers a question for a figure: not "which country", nor "what did they agree".
    stray = not labels & FIGURE_LABELS
    out: list[SpanCandidate] = []
    seen: set[tuple[int, int]] = set()
    for a, b, kind in _spans(doc, entities):
        a, b = _trim(text, a, b)
        if b <= a or (a, b) in seen or not balanced(text[a:b]) or _is_label(text, a, b):
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
        if all(t.pos_ in ("PRON", "DET") or t.is_punct for t in span):
            continue  # "us", "this": a pronoun stands for the answer, it is not one
        root = span.root
        inside = {t.i for t in span}
        if root.dep_ == "compound" and root.head.pos_ == "PROPN" and root.head.i not in inside:
            continue  # a piece of a longer name ("Minister" of "Defense Minister Sergei Shoigu")
        outside = [t for t in anchors if t.i not in inside]
        arcs = min((_arcs(root, t) for t in outside), default=99)
        to_named = min((_arcs(root, t) for t in named_tokens if t.i not in inside), default=99)
        to_rival = min((_arcs(root, t) for t in rival_tokens if t.i not in inside), default=99)
        holds_type = any(label in labels and a <= ea and eb <= b
                         for (ea, eb), label in fresh.items())
        is_entity = (a, b) in entity_spans or kind == "entity"
        window = set(roots[max(span.start - WINDOW, 0) : span.start])
        window |= set(roots[span.end : span.end + WINDOW])
        governor = _governor(root)
        coordinated = any(c.dep_ == "conj" and c.i in inside for c in root.children)
        has_number = any(t.like_num for t in span)
        items = 1 + sum(1 for t in span if t.dep_ == "conj" and t.head.i in inside)
        row = (  # in SPAN_FEATURES order
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
            float(root.dep_ in OBJECT_ARCS),
            float(root.dep_ in SUBJECT_ARCS),
            float(root.dep_ in _APPOSITION),
            float(root.dep_ in _MODIFIER),
            float(has_number and not stray),
            float(has_number and stray),
            float(any(t.pos_ == "PROPN" for t in span)),
            float(any(label == "PERSON" and a <= ea and eb <= b
                      for (ea, eb), label in fresh.items())),
            float(focus is not None and root.lemma_.lower() == focus),
            float(span[0].lower_ in _REASON_MARKERS),
            1.0 / (1.0 + to_named) if to_named < 99 else 0.0,
            float(to_rival < to_named),
            float(fresh.get((a, b)) in primary),
            len(window & lemmas) / len(lemmas) if lemmas else 0.0,
            float(governor is not None and roots[governor.i] in lemmas),
            float(analysis.wh_role is not None and role_group(root) == analysis.wh_role),
            float(coordinated),
            float(coordinated and analysis.wh_plural),
            float(span[0].pos_ == "ADP"),
            float(kind == "quote"),
            float(analysis.wh_count > 1 and items == analysis.wh_count),
            float(any(c.i > root.i and c.i in inside and c.dep_ in ("prep", "relcl", "acl")
                      for c in root.children)),
            float(_OPENS_BOUND.match(text, a, b) is not None),
            float(holds_type and is_entity),
        )
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
    if _asks_reason(analysis) or _DESCRIBE.match(analysis.question):
        return False
    define = _DEFINE.match(analysis.question)
    if define and analysis.answer_type == DESCRIPTION and not analysis.focus_is_type \
            and analysis.focus not in _NAMING_NOUNS:  # "What is the name of …?" wants one
        rest = _parse(define.group("rest"))
        return any(t.pos_ in ("VERB", "AUX") for t in rest)  # "what is X doing …" asks more
    return True


def _titles_joined(text: str, spans: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    """A run of unlabelled proper nouns (``NAME``) right before or after an entity is a title
    or a modifier of it ("President" of "President Donald J. Trump"): it takes that entity's
    label, so a place question's type is not met by a person's title."""
    labelled = [(a, b, label) for (a, b), label in spans.items() if label != NAME]
    out = dict(spans)
    for (a, b), label in spans.items():
        if label != NAME:
            continue
        for c, d, other in labelled:
            if (c >= b and not text[b:c].strip()) or (a >= d and not text[d:a].strip()):
                out[(a, b)] = other
                break
    return out


def _governor(token: Any) -> Any:
    """The content word a head depends on, through any preposition ("the appointment of X")."""
    head = token.head  # spaCy makes a new Token object per access: compare indexes
    while head.i != token.i and head.pos_ == "ADP":
        token, head = head, head.head
    return None if head.i == token.i else head


def _is_label(text: str, a: int, b: int) -> bool:
    """The label of an enumerated clause ("4" of "(4) The Government …"), not a figure."""
    before = text[: max(a - 1, 0)].rstrip()
    return _ENUMERATION.fullmatch(text[max(a - 1, 0) : b + 2]) is not None and (
        not before or before[-1] in ";:")


def _tokens_in(doc: Any, spans: list[tuple[int, int]]) -> list[Any]:
    return [t for t in doc if any(a <= t.idx < b for a, b in spans)]


def _asks_reason(analysis: QuestionAnalysis) -> bool:
    """A why- or how-question that no typed span answers ("how long" asks for a duration)."""
    return not analysis.labels and (analysis.answer_type == REASON or analysis.wh == "how")


# A stretch of time: a figure and a unit of time ("90 days", "ten years", "a few months").
_STRETCH = re.compile(
    r"\b(?:\d[\d,.]*|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred|several|few)[\s-]+(?:calendar\s+|"
    r"business\s+|working\s+)?(?:second|minute|hour|day|week|month|year|decade)s?\b",
    re.IGNORECASE,
)
_QUOTATION = re.compile(r"[\"“]([^\"“”]{2,120})[\"”]")


# The words that bound a figure's reach (a closed class of English): "three or more",
# "at least 120", "180 days after August 2, 2017".
_BOUND_BEFORE = re.compile(r"(?:at least|at most|more than|less than|fewer than|up to|over|"
                           r"under|nearly|almost|about|around|approximately|roughly|only|all)\s+$",
                           re.IGNORECASE)
_BOUND_AFTER = re.compile(r"\s+or\s+(?:more|less|fewer|greater|higher|lower|longer|later)\b",
                          re.IGNORECASE)
_RELATIVE_TO = re.compile(r"\s+(?:after|before|from|of)\s+$", re.IGNORECASE)
FIGURE_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME"})
_RANGE = re.compile(r"\s*(?:and|to|or|-|–|—)\s*")
_RANGE_OPENS = re.compile(r"\b(?:between|from)\s+$", re.IGNORECASE)
# Words that cannot end a phrase that stands alone ("between $7.7 and", "the talks of").
_DANGLING = re.compile(r"\s+(?:and|or|but|nor|of|to|in|on|at|by|for|with|from|the|a|an|"
                       r"between|than|as)$", re.IGNORECASE)


def _spans(doc: Any, entities: tuple[tuple[str, int, int], ...]) -> Iterator[tuple[int, int, str]]:
    text = doc.text
    for n, (label, a, b) in enumerate(entities):
        yield a, b, "entity"
        if label not in FIGURE_LABELS:
            continue
        before = _BOUND_BEFORE.search(text, 0, a)
        after = _BOUND_AFTER.match(text, b)
        if before:
            yield before.start(), b, "entity"
        if after:
            yield (before.start() if before else a), after.end(), "entity"
        for other, c, d in entities[n + 1 :]:  # "180 days after August 2, 2017"
            if other in ("DATE", "TIME") and c > b and _RELATIVE_TO.fullmatch(text, b, c):
                yield a, d, "entity"
            if other == label and c > b and _RANGE.fullmatch(text, b, c):
                # "between $7.7 and $14.4 billion", "from 2020 to 2025": the range is one figure
                opens = _RANGE_OPENS.search(text, 0, a)
                yield (opens.start() if opens else a), d, "entity"
    yield from _joined_names(doc, entities)
    for q in _QUOTATION.finditer(text):  # a title or a phrase the sentence quotes
        yield q.start(1), q.end(1), "quote"
    for chunk in doc.noun_chunks:
        yield chunk.start_char, chunk.end_char, "chunk"
    for t in doc:
        if t.dep_ in _SUBTREE_ROLES:
            left, right = t.left_edge, t.right_edge
            if t.dep_ == "conj":  # "Hyundai" of "Samsung, Hyundai, and LG", not "Hyundai, and"
                own = [c for c in t.children if c.dep_ not in ("cc", "conj", "punct")]
                left = min([t, *(c.left_edge for c in own)], key=lambda x: x.i)
                right = max([t, *(c.right_edge for c in own)], key=lambda x: x.i)
            kind = "clause" if t.dep_ in _CLAUSE else "phrase"
            if t.dep_ != "prep" or t.lower_ not in _FRAME_PREPOSITIONS or t.i == right.i:
                yield left.idx, right.idx + len(right.text), kind
            if t.dep_ == "prep" and t.i < right.i:  # "in June 2024" -> also "June 2024"
                yield doc[t.i + 1].idx, right.idx + len(right.text), "phrase"


# Prepositions that only frame their object ("in June 2024", "of Article 5", "to Congress"):
# the object answers alone. Others carry the answer's sense and stay ("via Poland",
# "without territorial recovery", "between 2020 and 2025"). A closed class of English.
_FRAME_PREPOSITIONS = frozenset("""in on at of to from for with into onto about regarding
    toward towards during within upon after before since""".split())


# Lower-case words inside a title-case name ("Countering America's Adversaries Through
# Sanctions Act", "Bureau of Industry and Security"): a closed class of English.
_NAME_JOINERS = frozenset({"of", "the", "for", "and", "through", "on", "in", "to", "'s", "’s",
                           "-", "&"})


def _joined_names(doc: Any, entities: tuple[tuple[str, int, int], ...]
                  ) -> Iterator[tuple[int, int, str]]:
    """A title-case run that the NER cut into pieces ("Countering America's" + "Adversaries"
    + "Sanctions Act"), as one name: every run of capitalised words, joined by the words
    names are joined by, that covers two entities or more."""
    spans = [(a, b) for _, a, b in entities]
    i, n = 0, len(doc)
    while i < n:
        if not (doc[i].is_title or doc[i].is_upper) or doc[i].is_punct:
            i += 1
            continue
        j = last = i
        while j + 1 < n and (doc[j + 1].is_title or doc[j + 1].is_upper or doc[j + 1].like_num
                             or doc[j + 1].lower_ in _NAME_JOINERS) and not doc[j + 1].is_punct:
            j += 1
            if doc[j].is_title or doc[j].is_upper or doc[j].like_num:
                last = j
        a, b = doc[i].idx, doc[last].idx + len(doc[last].text)
        if sum(a <= ea and eb <= b for ea, eb in spans) >= 2:
            yield a, b, "entity"
        i = last + 1


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
    possessive = _POSSESSIVE.search(text, a, b)  # "United Russia Party’s" -> the party
    if possessive and possessive.end() == b and possessive.start() > a:
        b = possessive.start()
    dangling = _DANGLING.search(text, a, b)
    while dangling and dangling.end() == b:
        b = dangling.start()
        dangling = _DANGLING.search(text, a, b)
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
