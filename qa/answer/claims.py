"""Term checks for generated claims: names, numbers and dates a claim turns on must appear in
the passages it cites (used by ``qa.answer.verify`` on LLM answers).

The extractive reader (``qa.answer.extractive``) no longer uses these; they remain for
verification of free text, where no parse of the candidate is stored.

Sentences are scored by the cosine similarity of their stored embedding to the query, the share
of the question's words they contain (IDF-weighted), and the rank of their passage. The answer
abstains when the best support is weak, or when a name, number or date the question hinges on
appears in none of the retrieved passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from qa.index.lexical import stem, tokenize
from qa.models import Citation
from qa.retrieval.questions import METONYMS

if TYPE_CHECKING:
    pass

MIN_SIMILARITY = 0.34  # below this the best sentence does not answer the question
MIN_SCORE = 0.29  # floor of the combined score (0.7 cosine + 0.3 overlap + rank bonus)
FULL_OVERLAP = 0.95  # a sentence holding (nearly) every question word ...
MIN_SIMILARITY_FULL_OVERLAP = 0.25  # ... needs less semantic similarity
ANSWER_POOL = 5  # passages whose sentences may be quoted
MAX_SENTENCES = 3
CLOSE_MARGIN = 0.16
MAX_ANSWER_CHARS = 420
TYPE_MARGIN = 0.12  # a typed sentence this much weaker than the best one is no answer
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*[A-Za-z0-9]\b|\b[A-Z]\b")
_STRUCTURE_REF = re.compile(r"\b(section|part|chapter|paragraph|block|position|no\.?)\s*$", re.I)
_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_AS_TEXT = r"(\1)"
_LABEL = re.compile(
    r"\b(?:Position|Plan|Option|Scenario|Article|Section|Phase|Stage|Type|Group|Annex|Table|"
    r"Figure|Title|Chapter)\s+(?:[A-Z]|[IVX]{1,4}|\d{1,3})\b"
)
_QUOTED = re.compile(r"[\"“]([^\"”]{3,60})[\"”]")
GENERIC_CAPITALS = frozenset(
    """what who whom whose when where why how which is are was were do does did can could would
    should will the a an and in on of for to according i if please tell explain describe give list
    summarize summarise name is does has have did according per as by with about from s""".split()
)


@dataclass(frozen=True)
class ScoredSentence:
    chunk_id: str
    rank: int  # rank of its passage in retrieval
    start: int
    end: int
    text: str
    similarity: float
    overlap: float
    score: float


def hinge_terms(question: str) -> list[str]:
    """Names, numbers, dates and quoted phrases the question turns on."""
    terms: list[str] = []
    for m in _QUOTED.finditer(question):
        terms.append(m.group(1))
    terms.extend(m.group() for m in _LABEL.finditer(question))
    for m in _NUMBER.finditer(question):
        value = m.group().rstrip(".,")
        if value and not _STRUCTURE_REF.search(question[: m.start()]):
            terms.append(value)
    words = list(_CAPITALISED.finditer(question))
    for m in words:
        word = m.group().strip("’'-")
        if (
            m.start() == 0
            or word.lower() in GENERIC_CAPITALS
            or len(word) < 2
            or re.fullmatch(r"I['’]\w+", word)  # I've, I'm
        ):
            continue
        terms.append(word)
    seen: list[str] = []
    for t in terms:
        if t not in seen:
            seen.append(t)
    return seen


def term_present(term: str, haystack: str) -> bool:
    """Case-insensitive presence, tolerant of inflection ("Korean" matches "Korea")."""
    low = term.lower().replace("’", "'")
    if _LABEL.fullmatch(term):  # "Position A" must not match "position above"
        return re.search(rf"\b{re.escape(low)}\b", haystack) is not None
    if low in haystack:
        return True
    if re.fullmatch(r"[\d,.]+", low):
        return low.replace(",", "") in haystack.replace(",", "")
    words = [w for w in re.split(r"[\s/-]+", low) if w]
    if all(_word_present(w, haystack) for w in words):
        return True
    return _acronym_present(term, haystack)


def _acronym_present(term: str, haystack: str) -> bool:
    """An all-caps term ("MAGA") spelled out in the text ("Make America Great Again")."""
    letters = term.strip("’'s").replace(".", "")
    if not (2 <= len(letters) <= 8 and letters.isalpha() and letters.isupper()):
        return False
    pattern = r"\b" + r"\W+".join(f"{c.lower()}[\\w’'-]*" for c in letters) + r"\b"
    return re.search(pattern, haystack) is not None


def _word_present(word: str, haystack: str) -> bool:
    word = word.removesuffix("'s").strip("'")
    if not word:
        return True
    alias = METONYMS.get(word)
    if alias and alias.lower().removeprefix("the ") in haystack:
        return True
    if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", haystack):
        return True
    root = stem(word)
    if len(root) >= 4 and root[: max(4, len(root) - 1)] in haystack:
        return True
    return len(word) >= 5 and word[: max(4, len(word) - 2)] in haystack


def missing_terms(question: str, haystack: str) -> list[str]:
    return [t for t in hinge_terms(question) if not term_present(t, haystack)]


@lru_cache(maxsize=65536)
def _sentence_tokens(text: str) -> frozenset[str]:
    """Tokens of a stored sentence; sentences recur across questions, so this is cached."""
    return frozenset(tokenize(text))


def score_sentences(
    query: str,
    vector: np.ndarray,
    sentences: list[tuple[str, int, int, int, str, np.ndarray]],
    idf: dict[str, float],
) -> list[ScoredSentence]:
    """Score (chunk id, rank, start, end, text, vector) tuples, best first."""
    q_tokens = set(tokenize(query))
    labels = [m.group() for m in _LABEL.finditer(query)]
    weight = {t: idf.get(t, 1.0) for t in q_tokens}
    total = sum(weight.values()) or 1.0
    scored = []
    for chunk_id, rank, start, end, text, svec in sentences:
        sim = float(np.dot(vector, svec))
        s_tokens = _sentence_tokens(text)
        overlap = sum(w for t, w in weight.items() if t in s_tokens) / total
        length_penalty = 0.05 if len(text) < 40 else 0.0
        # A labelled item the question names ("Position A") must be the one the sentence names.
        label_bonus = 0.1 if labels and any(
            re.search(rf"\b{re.escape(lab)}\b", text) for lab in labels
        ) else 0.0
        score = 0.7 * sim + 0.3 * overlap + 0.04 / (rank + 1) - length_penalty + label_bonus
        scored.append(ScoredSentence(chunk_id, rank, start, end, text, sim, overlap, score))
    scored.sort(key=lambda s: -s.score)
    return scored


def choose(scored: list[ScoredSentence]) -> list[ScoredSentence]:
    """The best sentence, plus up to two close runners-up that add something new."""
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    length = len(best.text)
    for cand in scored[1:]:
        if len(chosen) >= MAX_SENTENCES:
            break
        if cand.score < best.score - CLOSE_MARGIN or cand.similarity < MIN_SIMILARITY:
            break
        if length + len(cand.text) > MAX_ANSWER_CHARS:
            continue
        if any(_overlaps(cand, c) or _redundant(cand, c) for c in chosen):
            continue
        chosen.append(cand)
        length += len(cand.text)
    return chosen


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    return a.start < b.end and b.start < a.end


def _redundant(a: ScoredSentence, b: ScoredSentence) -> bool:
    ta, tb = _sentence_tokens(a.text), _sentence_tokens(b.text)
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.7


def format_answer(parts: list[tuple[str, Citation]]) -> str:
    """``sentence [1] sentence [2]``: each sentence followed by its marker."""
    # A bracketed number inside a quoted sentence would read as one of our markers.
    return " ".join(
        f"{_MARKER.sub(_MARKER_AS_TEXT, text)} [{i}]"
        for i, (text, _) in enumerate(parts, start=1)
    )


def supported(best: ScoredSentence) -> bool:
    """Strong enough to answer: semantically close, or holding every word of a short question
    whose embedding says little ("What is Position A?")."""
    if best.overlap >= FULL_OVERLAP and best.similarity >= MIN_SIMILARITY_FULL_OVERLAP:
        return True
    return best.similarity >= MIN_SIMILARITY and best.score >= MIN_SCORE


# --- expected answer type: a "how many" question needs a number the question lacks ---------

_NUMBER_Q = re.compile(
    r"\bhow\s+(many|much)\b|\bby\s+how\s+much\b|\bwhat\s+(share|percentage|percent|proportion|"
    r"number|amount|rate|figure|sum|total)\b|\bhow\s+(large|big|high|low)\s+(was|is|were|are)\b",
    re.IGNORECASE,
)
_DATE_Q = re.compile(
    r"^\s*(since\s+)?when\b|\bwhat\s+(exact\s+)?(date|day|month|year)\b|"
    r"\b(in\s+|on\s+)?which\s+(exact\s+)?(year|month|day|date)\b",
    re.IGNORECASE,
)
_COUNTED = re.compile(r"\bhow\s+(?:many|much)\s+((?:[\w’'-]+\s+){0,3})", re.IGNORECASE)
NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
    fifty hundred hundreds thousand thousands million millions billion billions trillion dozen
    dozens half third quarter twice double triple percent several""".split()
)
DATE_WORDS = frozenset(
    """january february march april may june july august september october november december
    spring summer autumn fall winter century decade noon midnight morning afternoon evening
    night today tomorrow yesterday""".split()
)
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b[ap]\.m\.|o'clock", re.IGNORECASE)
_FIGURE = re.compile(r"\d")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)s?\b")


_NAME_Q = re.compile(
    r"\bwhat\s+(is|was)\s+the\s+(title|name)\s+of\b|\bwhat\s+(is|was)\s+\w+(\s+\w+)?\s+called\b",
    re.IGNORECASE,
)
_TITLE_LIKE = re.compile(r"[\"“‘][^\"”’]{3,}[\"”’]|\*[^*]{3,}\*|(?:\b[A-Z][\w’'-]+\s+){2,}[A-Z]")


def answer_kind(question: str) -> str | None:
    """"number", "date" or "name" when the question asks for one, else None."""
    if _NAME_Q.search(question):
        return "name"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    return None


def fits_kind(kind: str | None, sentence: str, question: str) -> bool:
    """Does the sentence hold a figure (or date) of the kind asked, beyond those in the question?"""
    if kind is None:
        return True
    q_low = question.lower()
    if kind == "name":  # a quoted or capitalised name the question does not already give
        return any(m.group().lower() not in q_low for m in _TITLE_LIKE.finditer(sentence))
    words = set(re.findall(r"[a-z]+", sentence.lower()))
    if kind == "date":
        years = {m.group(1) for m in _YEAR.finditer(sentence)} - set(_YEAR.findall(question))
        if years or _CLOCK.search(sentence):
            return True
        return bool((words & DATE_WORDS) - set(re.findall(r"[a-z]+", q_low)))
    figures = [
        t for t in re.findall(r"[\d][\d,.]*%?", sentence)
        if t.strip(".,") not in q_low and not _YEAR.fullmatch(t.strip(".,"))  # a year is no count
    ]
    if not (figures or (words & NUMBER_WORDS)):
        return False
    counted = _COUNTED.search(question)
    if counted:
        nouns = [w for w in tokenize(counted.group(1)) if len(w) > 2]
        if nouns and not any(_word_present(n, sentence.lower()) for n in nouns):
            return False
    return True
