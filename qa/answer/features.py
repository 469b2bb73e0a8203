"""The features of one candidate sentence for one question, as the fitted scorer reads them.

Every feature is a number in about [0, 1] computed from what the index stores (the sentence,
its vector, its role and entities, its chunk's rank and section, its document's title) and from
the question's parse; ``qa/answer/reader_model.json`` holds the weights a script in ``evals/``
fits on the dev split. Adding a feature means adding it here and re-running the fit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qa.index.lexical import idf_range as range_of
from qa.index.lexical import stem, tokenize, word_root, word_stems
from qa.ingest.months import MONTH
from qa.retrieval.acronyms import covered
from qa.retrieval.analysis import DATE, FRAMING_NOUNS, NUMBER, YEAR, QuestionAnalysis
from qa.retrieval.questions import METONYMS

BASE_FEATURES: tuple[str, ...] = (
    "cosine",  # sentence vector . query vector
    "chunk_cosine",  # best cosine of the sentence's chunk (chunk or any sentence of it)
    "overlap",  # IDF-weighted share of the question's words in the sentence
    "noun_cover",  # share of the question's nouns in the sentence, its section or title
    "rarest_present",  # the question's rarest noun is in the sentence (or its context)
    "pool_cover",  # share of the question's nouns found anywhere in the retrieved passages
    "rarest_in_pool",  # the question's rarest noun (unseen = rarest) is in the passages
    "corpus_cover",  # share of the question's nouns that any document of the corpus holds
    "typed",  # the question expects a typed answer (a person, date, figure, ...)
    "open",  # it asks a reason or a description, which no minimal span answers (a question
    # for a detail is the kind the sources more often lack)
    "type_match",  # the sentence holds a new entity of the expected type (1 when untyped)
    "grain",  # ... as fine as asked: "which month", "on what date", "at what time" want a
    # month, a day, a clock time, not a bare year (1 when no grain is asked)
    "constraints",  # share of the question's entities and years in the sentence or context
    "pool_constraints",  # share of them anywhere in the retrieved passages
    "counted",  # "how many X": a figure right before X in the sentence (1 otherwise)
    "focus_present",  # the noun the question asks about is in the sentence
    "rank",  # 1 / (1 + the chunk's fused rank)
    "fused",  # the chunk's fused score relative to the best one
    "first_in_chunk",  # the sentence opens its chunk (topic sentences answer more often)
    "length",  # log length, so fragments and run-ons can be told apart
    "fresh",  # log count of its words the question does not say: "(V) the Special Technology
    # Center;" repeats the question and adds nothing to answer it with
    "prose",  # a full sentence of prose, not a clause of a legal enumeration or a list item
    "missing_max",  # IDF of the rarest question word the sentence and its context lack (/ max)
    "pool_overlap",  # IDF-weighted share of the question's words anywhere in the passages
    "pool_missing_max",  # IDF of the rarest question word no passage holds (/ max)
    "topic_in_corpus",  # the words that say which rate, year or number is asked ("unemployment
    # rate") occur somewhere in the corpus (1 when the focus is no type noun)
    "rival",  # in place of an entity or year the question names and no passage holds, the
    # sentence holds another of the same label ("in 2024" where the question asks about 2025)
    "rival_here",  # the same, for an entity or year the sentence and its context lack (the
    # passages may hold it elsewhere): "Putin met Kim three times" for a question on Trump
    "dated_rival",  # the noun the question dates ("the 2024 assessment") is in the sentence
    # dated by another year ("the 2025 assessment"), and the question's year is not
    "named_source",  # +1 from a document the question names ("in his speech"), -1 from
    # another when it names one, 0 when it names none
)
# Each of these again as its gap to the best candidate of the same question: how a sentence
# compares with its rivals generalises better than its raw value.
RELATIVE: tuple[str, ...] = ("cosine", "overlap", "noun_cover", "type_match")
FEATURES = BASE_FEATURES + tuple(f"{name}_gap" for name in RELATIVE)


def with_gaps(rows: list[list[float]]) -> list[list[float]]:
    """Append each ``RELATIVE`` feature's gap to the question's best value (0 for the best)."""
    if not rows:
        return rows
    columns = [BASE_FEATURES.index(name) for name in RELATIVE]
    best = [max(r[i] for r in rows) for i in columns]
    return [r + [r[i] - b for i, b in zip(columns, best, strict=True)] for r in rows]


@dataclass(frozen=True, kw_only=True)
class SentenceView:
    """A candidate sentence with the context its features need."""

    text: str
    vector: np.ndarray
    entities: tuple[tuple[str, int, int], ...]  # (label, start, end) within ``text``
    context: str  # section heading and document title, lower-cased
    heading: str = ""  # the section heading alone (and a legal clause's lead), lower-cased
    rank: int  # fused rank of its chunk
    fused: float  # fused score of its chunk relative to the best
    chunk_cosine: float
    first_in_chunk: bool
    prose: bool
    named_source: float = 0.0  # +1 / -1 / 0 as the feature of that name


@functools.lru_cache(maxsize=65536)
def _stems(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))  # tokenize stems and drops stop words


# Words that frame a question rather than say what it asks about ("what kind of peace", "which
# year", "according to the report"): a passage that lacks them misses nothing.
_FRAMING = frozenset(word_stems(sorted(FRAMING_NOUNS)))
# A capital stands for its country ("Kyiv" for Ukraine): present when the country is.
_ALIASES = {stem: frozenset(tokenize(country)) for alias, country in METONYMS.items()
            for stem in tokenize(alias)}


def _lacks(stem_: str, stems: frozenset[str] | set[str]) -> bool:
    """Whether a question word is missing from ``stems`` (framing words never are)."""
    if stem_ in stems or stem_ in _FRAMING:
        return False
    country = _ALIASES.get(stem_)
    return not (country and country <= stems)


@dataclass(frozen=True)
class QuestionPool:
    """What every sentence's features share for one question: the question's terms weighed
    by IDF, and what the retrieved passages and the corpus hold of them (computed once per
    question, not per sentence)."""

    weights: dict[str, float]  # stems of the question's content words -> IDF (unseen: rarest)
    roots: frozenset[str]  # the roots of all the question's words
    nouns: tuple[str, ...]  # stems of the question's nouns
    rarest: str | None  # the rarest of them
    named: tuple[tuple[str, str], ...]  # (label, text) of its entities and years (a year: DATE)
    absent: tuple[tuple[str, str], ...]  # those of them no passage holds
    asked: frozenset[str]  # its entities, lower-cased
    focus: frozenset[str]  # stems of the focus noun (empty when it only names a type)
    pool_cover: float
    rarest_in_pool: float
    corpus_cover: float
    pool_constraints: float
    unseen: float  # the largest IDF (a word no chunk holds)
    pool_overlap: float
    pool_missing_max: float
    topic_in_corpus: float
    open: bool = False  # it asks a reason or a description (no minimal span answers it)


def question_pool(
    analysis: QuestionAnalysis,
    idf: Mapping[str, float],
    pool_stems: set[str],
    pool_text: str,
    vocabulary: frozenset[str],
    dated_text: str | None = None,
    *,
    open_question: bool = False,
    english: frozenset[str] = frozenset(),
    idf_range: tuple[float, float] | None = None,
) -> QuestionPool:
    """The question-level part of the features, for the passages ``pool_*`` describe; a date
    the question names is looked for in ``dated_text`` (the passages and their headings, not
    their documents' titles) when given. ``open_question``: it asks a reason or a description
    (``qa.answer.short.wants_short`` says no). ``english``: the everyday words of English
    (``Embedder.english_words``); ``idf_range``: the median and largest of ``idf``, when the
    caller keeps them (``LexicalIndex.idf_range``)."""
    # A word no chunk holds is the rarest of all, unless it is an everyday English word
    # ("essay", "clout", "coffers"): a paraphrase as likely as a detail, it weighs as a
    # typical word of the corpus.
    typical, unseen = idf_range or range_of(idf)
    # (written in lower case: "Geneva" is a name, whatever an uncased vocabulary holds)
    everyday = {t for w in analysis.content if w in english
                and re.search(rf"\b{re.escape(analysis.written_form(w))}\b", analysis.question)
                for t in tokenize(w)}

    def weight(stem_: str) -> float:
        return idf.get(stem_, typical if stem_ in everyday else unseen)

    content = word_stems(analysis.content)
    nouns = tuple(word_stems(analysis.nouns))
    pool_roots = {word_root(t) for t in pool_stems}
    rarest = max(nouns, key=weight) if nouns else None
    weights = {t: weight(t) for t in content}
    total = sum(weights.values()) or 1.0
    named = analysis.entities + tuple(("DATE", y) for y in analysis.years)

    def share(found: Iterable[bool], of: Sequence[object]) -> float:
        return sum(found) / len(of) if of else 1.0

    return QuestionPool(
        weights=weights,
        roots=frozenset(word_root(t) for t in [*tokenize(analysis.question), *content]),
        nouns=nouns,
        rarest=rarest,
        named=named,
        absent=tuple((label, text) for label, text in named if not mentions(
            dated_text if label == "DATE" and dated_text is not None else pool_text, text,
            label) and not named_by(text, pool_stems)),
        asked=frozenset(text.lower() for _, text in analysis.entities),
        focus=frozenset(tokenize(analysis.focus))
        if analysis.focus and not analysis.focus_is_type else frozenset(),
        pool_cover=share((word_root(t) in pool_roots for t in nouns), nouns),
        rarest_in_pool=float(rarest is None or word_root(rarest) in pool_roots),
        corpus_cover=share((word_root(t) in vocabulary for t in nouns), nouns),
        pool_constraints=share((mentions(pool_text, w, label) or named_by(w, pool_stems)
                                for label, w in named), named),
        unseen=unseen,
        pool_overlap=sum(w for t, w in weights.items() if word_root(t) in pool_roots) / total,
        pool_missing_max=max(
            (w for t, w in weights.items()
             if word_root(t) not in pool_roots and _lacks(t, pool_stems)), default=0.0
        ) / unseen,
        topic_in_corpus=float(all(word_root(t) in vocabulary for t in word_stems(analysis.topic))),
        open=open_question,
    )


def features(
    analysis: QuestionAnalysis,
    pool: QuestionPool,
    sentence: SentenceView,
    query_vector: np.ndarray,
) -> list[float]:
    """The feature vector of ``sentence`` for the question, in ``BASE_FEATURES`` order (the
    gaps of ``with_gaps`` come once every candidate of the question is known)."""
    nouns = pool.nouns
    # The question's "U.S." is in a sentence that says "the United States" (and back).
    words = _stems(sentence.text) | covered(analysis.question, sentence.text)
    around = words | _stems(sentence.context)
    total = sum(pool.weights.values()) or 1.0
    overlap = sum(w for t, w in pool.weights.items() if t in words) / total
    missing_max = max((w for t, w in pool.weights.items() if _lacks(t, around)), default=0.0)
    around_roots = {word_root(t) for t in around}
    noun_cover = sum(word_root(t) in around_roots for t in nouns) / len(nouns) if nouns else 1.0
    labels = analysis.labels
    type_match = float(any(
        label in labels and sentence.text[a:b].lower() not in pool.asked
        for label, a, b in sentence.entities
    )) if labels else 1.0  # an untyped question sets no type to meet
    grain = _grain_met(analysis, sentence, pool.asked)
    context = sentence.text.lower() + " " + sentence.context
    named = pool.named

    def said(haystack: str, text: str, label: str) -> bool:
        # (or named by an acronym the question spells out, or back: "UNSC")
        return mentions(haystack, text, label) or named_by(text, words)

    constraints = sum(said(context, w, label) for label, w in named) / len(named) \
        if named else 1.0
    counted = 1.0  # neutral unless the question counts something
    if analysis.answer_type == NUMBER and analysis.counted:
        counted = float(any(_counts(sentence.text, form) for form in  # "lives" for "life"
                            {analysis.counted, analysis.written_form(analysis.counted)}))
    focus_present = float(bool(pool.focus & words)) if pool.focus else 0.5
    held = {label for label, a, b in sentence.entities
            if sentence.text[a:b].lower() not in pool.asked}
    rival = any(label in held for label, _ in pool.absent)
    # A year in a document's title ("Outlook on Russia in 2025") dates no figure of its text:
    # a date the question names must be in the sentence or its heading.
    dated = sentence.text.lower() + " " + sentence.heading
    rival_here = any(label in held
                     and not said(dated if label == "DATE" else context, text, label)
                     for label, text in named)
    dated_rival = any(_dated_otherwise(sentence.text, year, noun, analysis.years)
                      for year, noun in analysis.dated_nouns)
    return [
        float(np.dot(sentence.vector, query_vector)),
        sentence.chunk_cosine,
        overlap,
        noun_cover,
        float(pool.rarest is None or pool.rarest in around),
        pool.pool_cover,
        pool.rarest_in_pool,
        pool.corpus_cover,
        float(bool(labels)),
        float(pool.open),
        type_match,
        grain,
        constraints,
        pool.pool_constraints,
        counted,
        focus_present,
        1.0 / (1.0 + sentence.rank),
        sentence.fused,
        float(sentence.first_in_chunk),
        math.log(1 + len(sentence.text)) / 6.0,
        math.log1p(len({word_root(t) for t in words} - pool.roots)) / 4.0,
        float(sentence.prose),
        missing_max / pool.unseen,
        pool.pool_overlap,
        pool.pool_missing_max,
        pool.topic_in_corpus,
        float(rival),
        float(rival_here),
        float(dated_rival),
        sentence.named_source,
    ]


_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}|\d{1,2}\s*(?:a\.m\.|p\.m\.|am\b|pm\b)|\bnoon\b|"
                    r"\bmidnight\b", re.IGNORECASE)
_DAY = re.compile(rf"\b{MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{MONTH}|\b\d{{4}}-\d{{2}}-\d{{2}}\b|"
                  r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
                  re.IGNORECASE)
# How fine a date the focus noun asks for (a closed class of English)
_GRAINS: dict[str, re.Pattern[str]] = {
    "year": YEAR, "month": re.compile(rf"\b{MONTH}(?![a-z])", re.IGNORECASE),
    "date": _DAY, "day": _DAY, "hour": _CLOCK, "minute": _CLOCK, "time": _CLOCK,
}


def _grain_met(analysis: QuestionAnalysis, sentence: SentenceView,
               asked: frozenset[str]) -> float:
    """1 when the question asks no grain of date or time, else whether a new date or time of
    the sentence is as fine as asked ("On what date …?" is not answered by "in 2025")."""
    grain = _GRAINS.get(analysis.focus or "") if analysis.answer_type == DATE else None
    if grain is None:
        return 1.0
    return float(any(
        label in ("DATE", "TIME") and sentence.text[a:b].lower() not in asked
        and grain.search(sentence.text, a, b) is not None
        for label, a, b in sentence.entities))


DATED_REACH = 40  # characters before a noun in which a year dates it ("2025 annual threat ")


def _dated_otherwise(text: str, year: str, noun: str, asked: Sequence[str]) -> bool:
    """``noun`` occurs in ``text`` with a year the question does not name (``asked``) shortly
    before it, and ``year`` itself is nowhere in ``text``."""
    if year in text:
        return False
    for m in re.finditer(rf"\b{re.escape(noun)}", text, re.IGNORECASE):
        if any(y not in asked for y in YEAR.findall(text, max(0, m.start() - DATED_REACH),
                                                m.start())):
            return True
    return False


def vocabulary_roots(words: Iterable[str]) -> frozenset[str]:
    """The roots of every word some chunk of the corpus holds (BM25's vocabulary)."""
    return frozenset(word_root(t) for t in words)


def named_by(phrase: str, stems: set[str] | frozenset[str]) -> bool:
    """Every word of ``phrase`` is among ``stems`` (which hold the question's words a text
    says by an acronym, or spells out: ``qa.retrieval.acronyms.covered``)."""
    tokens = set(tokenize(phrase))
    return bool(tokens) and tokens <= stems


def mentions(haystack: str, phrase: str, label: str = "") -> bool:
    """Whether ``phrase`` (an entity or year of the question, of NER ``label``) occurs,
    ignoring a possessive and inflection ("North Korean troops" is mentioned by "North
    Korea's troops"); a person named in full is mentioned by the surname ("Kellogg's
    appointment" mentions Keith Kellogg)."""
    phrase = re.sub(r"['’]s$", "", phrase.strip().lower())
    if not phrase or phrase in haystack:
        return True
    alias = METONYMS.get(phrase)  # a capital standing for its country ("Moscow" for Russia)
    if alias and mentions(haystack, alias.removeprefix("the ")):
        return True
    if phrase.removeprefix("the ") in _ASKED_AS_ONE_COUNTRY:  # "the U.S." is "the United States"
        return any(name in haystack for name in _ONE_COUNTRY)
    tokens = _roots(phrase)
    if label == "PERSON" and len(phrase.split()) > 1:
        tokens = _roots(phrase.split()[-1])
    return bool(tokens) and tokens <= _roots(haystack)


# The names one country goes by in English prose; a question's "US" is one too (a text's "us"
# is mostly "we", so it is not looked for).
_ONE_COUNTRY = frozenset({"u.s.", "united states", "usa", "u.s.a.", "america"})
_ASKED_AS_ONE_COUNTRY = _ONE_COUNTRY | {"us"}


@functools.lru_cache(maxsize=1024)
def _roots(text: str) -> frozenset[str]:
    return frozenset(word_root(t) for t in tokenize(text))


_FIGURE = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|" \
          r"dozens?|hundreds?|thousands?|millions?|several|some)"


def _counts(text: str, counted: str) -> bool:
    """A figure within five words before the counted noun ("five current and former Russian
    officials"), or "once"/"twice" for "how many times"."""
    noun = stem(counted)
    noun = re.escape(noun[:-1] if noun.endswith("y") else noun)  # "countries" for "country"
    if noun == "time" and re.search(r"\b(once|twice)\b", text, re.IGNORECASE):
        return True
    pattern = rf"\b{_FIGURE}\b(?:\s+[\w,.'’-]+){{0,5}}?\s+{noun}\w*"
    return re.search(pattern, text, re.IGNORECASE) is not None
