"""The default answer backend: a reader that scores every quotable sentence of the retrieved
passages with one fitted, calibrated model and answers with the minimal span and its quotes.

Each sentence gets a probability of answering the question (``qa.answer.scorer``, logistic
weights fitted on the dev split by ``evals/fit_reader.py``); the reader abstains when the
no-answer probability Π(1 − pᵢ) over the best candidates passes the fitted threshold, and then
says what the passages do hold. Prose, list items and clauses of legal enumerations are quoted
(``qa.ingest.roles.ANSWERABLE``; the scorer weighs the role): headings, titles, disclaimers and
planted instructions never are.
"""

from __future__ import annotations

import calendar
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answer.common import INJECTION_REPLY, NOTHING_FOUND, abstention
from qa.answer.divisions import (
    asks_division,
    defined_division_answer,
    division_answer,
    titled_division,
)
from qa.answer.document_facts import (
    about_document,
    date_words,
    document_fact_answer,
    iso_date,
    locate,
)
from qa.answer.enumerations import enumeration_items, leads_in
from qa.answer.features import (
    FEATURES,
    SentenceView,
    features,
    mentions,
    named_by,
    question_pool,
    vocabulary_roots,
    with_gaps,
)
from qa.answer.intervals import Dated, interval_answer, parse_date
from qa.answer.markers import neutralise_markers
from qa.answer.scorer import ANSWER_CONTEXT, ReaderModel, load_model, model_available
from qa.answer.short import (
    FIGURE_LABELS,
    correction,
    puts_year_right,
    short_answer,
    wants_short,
)
from qa.answer.source_questions import asks_which_source, newest_or_oldest_answer, title_citation
from qa.index.lexical import tokenize
from qa.ingest.roles import ANSWERABLE
from qa.models import Answer, Citation, Passage, ReaderCandidate
from qa.retrieval.acronyms import covered
from qa.retrieval.analysis import DESCRIPTION, LIST, QuestionAnalysis, analyse
from qa.retrieval.divisions import defined_division, division_words
from qa.retrieval.hybrid import search
from qa.retrieval.named import named_sources
from qa.retrieval.questions import analysis_of

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.hybrid import Candidate
    from qa.retrieval.questions import PreparedQuestion

ANSWER_POOL = 7  # passages whose sentences may be quoted: 7 of 5, 7 and 10 gave the best
# cross-validated reader decision on the dev split (1.065, 1.086, 1.081)
MAX_QUOTES = 3  # for a list or a multi-part question
PREMISE_QUOTES = 3  # the most probable sentences searched for what stands in a false premise's
# place (3 of 1, 3 and 5 answered the most dev questions)
QUOTES = 2  # for any other question
DATING_SENTENCES = 3  # the most probable sentences about an event searched for its date


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its probability of answering."""

    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    role: str
    entities: tuple[tuple[str, int, int], ...]
    features: tuple[float, ...]
    probability: float
    part: int = 0  # which part of a multi-part question it was scored for


def score_candidates(
    index: OpenedIndex, query: str, analysis: QuestionAnalysis, candidates: list[Candidate],
    *, model: ReaderModel | None = None, sources: list[str] | None = None,
) -> list[Scored]:
    """Every quotable sentence of the best passages, scored, most probable first (in reading
    order with probability NaN when ``model`` is None: features only, for fitting); with
    ``sources``, the candidates came from those documents only, and so does any passage added
    for a document the question names."""
    docs = index.documents()
    named = named_sources(analysis, docs)
    if sources is not None:
        named &= frozenset(sources)
    pool = _reading_named(index, query, named, candidates[:ANSWER_POOL])
    if not pool:
        return []
    stored = index.sentences([c.chunk_id for c in pool])
    vector = index.embedder.encode_query(query)
    # What each passage's document says of itself, and its context: that and its section.
    dated = _names_a_month(analysis)
    abouts = [_about(docs.get(str(c.metadata["source"]), {}), dated) for c in pool]
    # (a legal text's passage is about its numbered division, "§ 9545", though it never says so)
    contexts = [
        f"{c.metadata.get('section') or ''} "
        f"{division_words(index, str(c.metadata['source']), int(c.metadata.get('start', 0)))} "
        f"{about}".lower()
        for c, about in zip(pool, abouts, strict=True)
    ]
    pool_stems: set[str] = set()
    for c, context in zip(pool, contexts, strict=True):
        pool_stems.update(tokenize(c.text))
        pool_stems.update(tokenize(context))
        pool_stems.update(covered(analysis.question, c.text))
    pool_text = " ".join([c.text for c in pool] + abouts + contexts).lower()
    # Where a date the question names may be: the passage, its heading, and (for "the August
    # 2025 order") its document's own date; not a year in its title ("… Russia in 2025").
    headings = [
        f"{c.metadata.get('section') or ''} "
        f"{date_words(docs.get(str(c.metadata['source']), {}).get('date')) if dated else ''}"
        for c in pool
    ]
    dated_text = " ".join(f"{c.text} {h}" for c, h in zip(pool, headings, strict=True)).lower()
    shared = question_pool(analysis, index.lexical.idf, pool_stems, pool_text, _vocabulary(index),
                           dated_text, open_question=not wants_short(analysis),
                           english=index.embedder.english_words,
                           idf_range=index.lexical.idf_range)
    top = pool[0].score or 1.0
    out: list[Scored] = []
    rows: list[list[float]] = []
    for rank, (c, context, head) in enumerate(zip(pool, contexts, headings, strict=True)):
        source = str(c.metadata["source"])
        lead = ""  # the clause a legal enumeration hangs from ("… the following entities:")
        for i, s in enumerate(stored.get(c.chunk_id, [])):
            if s.role != "legal-fragment" or s.text.rstrip().endswith(":"):
                lead = s.text.lower()
            if s.role not in ANSWERABLE:
                continue
            led = s.role == "legal-fragment" and lead != s.text.lower()
            around = f"{context} {lead}" if led else context
            heading = f"{head} {lead if led else ''}".lower()
            view = SentenceView(
                text=s.text, vector=s.vector, entities=s.entities, context=around, rank=rank,
                heading=heading,
                prose=s.role == "prose",
                fused=c.score / top, chunk_cosine=c.dense, first_in_chunk=i == 0,
                named_source=(1.0 if source in named else -1.0) if named else 0.0,
            )
            row = features(analysis, shared, view, vector)
            rows.append(row)
            out.append(Scored(c.chunk_id, source, s.start, s.end, s.text, s.role, s.entities,
                              tuple(row), 0.0))
    if not out:
        return []
    rows = with_gaps(rows)
    out = [replace(s, features=tuple(row)) for s, row in zip(out, rows, strict=True)]
    if model is None:
        return _unscored(out)
    probs = model.probabilities(np.asarray(rows, dtype=np.float64))
    scored = [replace(s, probability=float(p)) for s, p in zip(out, probs, strict=True)]
    scored.sort(key=lambda s: -s.probability)
    return _distinct(scored)


def _reading_named(
    index: OpenedIndex, query: str, named: frozenset[str], pool: list[Candidate],
) -> list[Candidate]:
    """The passages to read: when the question names a document ("in his inaugural speech")
    and none of them comes from it, its best passage for the query takes the last place
    (``named`` holds only documents of the asker's choice of ``sources``)."""
    if not pool or not named or any(str(c.metadata["source"]) in named for c in pool):
        return pool
    found = search(index, query, sources=sorted(named))
    return pool[:-1] + found[:1] if found else pool


_vocabularies: weakref.WeakKeyDictionary[object, frozenset[str]] = weakref.WeakKeyDictionary()


def _vocabulary(index: OpenedIndex) -> frozenset[str]:
    """The corpus vocabulary's roots, computed once per opened BM25 index."""
    found = _vocabularies.get(index.lexical)
    if found is None:
        found = _vocabularies[index.lexical] = vocabulary_roots(index.lexical.vocabulary())
    return found


def _about(meta: dict[str, object], dated: bool) -> str:
    """What a document's metadata says of it (title, author, publisher): a question may name
    its source ("the Sejong outlook") without the passage repeating it. With ``dated`` (the
    question names a month: "the August 2025 order") its date too, as questions write dates;
    a bare year ("in 2024") stays a constraint on what the passage itself says."""
    about = [str(meta.get(k) or "") for k in ("title", "author", "publisher")]
    return " ".join([*about, date_words(meta.get("date"))] if dated else about)


_MONTH = re.compile(r"\b(" + "|".join(calendar.month_name[1:]) + r")\b", re.IGNORECASE)


def _names_a_month(analysis: QuestionAnalysis) -> bool:
    return any(label == "DATE" and _MONTH.search(text) for label, text in analysis.entities)


def _evidence(scored: Sequence[Scored]) -> tuple[Any, ...]:
    """What the answer-or-abstain model reads: the sentence probabilities, then
    ``ANSWER_CONTEXT`` of the best sentence (how much of what the question names the passages
    hold, whether it meets the question's entities, years and answer type)."""
    best = scored[0].features
    return ([s.probability for s in scored], *[best[FEATURES.index(n)] for n in ANSWER_CONTEXT])


def _unscored(out: list[Scored]) -> list[Scored]:
    return _distinct([replace(s, probability=float("nan")) for s in out])


def _distinct(scored: list[Scored]) -> list[Scored]:
    """One copy of each span (a sentence can sit in two overlapping chunks)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for s in scored:
        key = (s.source, s.start, s.end)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def candidates_for(
    index: OpenedIndex, prepared: PreparedQuestion, candidates: list[Candidate]
) -> list[ReaderCandidate]:
    """The reader's view of a question: every sentence it weighed (for fitting, inspection)."""
    analysis = analysis_of(prepared)
    model = load_model() if model_available() else None
    return [
        ReaderCandidate(
            source=s.source, start=s.start, end=s.end, text=s.text, role=s.role,
            features=dict(zip(FEATURES, s.features, strict=True)), probability=s.probability,
            entities=s.entities,
        )
        for s in score_candidates(index, prepared.query, analysis, candidates, model=model)
    ]


def extractive_answer(
    index: OpenedIndex,
    prepared: PreparedQuestion,
    candidates: list[Candidate],
    passages: list[Passage],
    *,
    sources: list[str] | None = None,
) -> Answer:
    """Answer with the minimal span and the sentences that back it, or abstain; the parts of
    a multi-part question are searched within ``sources`` too."""
    if prepared.injected:
        return abstention(prepared, passages, INJECTION_REPLY)
    if not candidates:
        return abstention(prepared, passages, NOTHING_FOUND)
    fact = newest_or_oldest_answer(index, prepared, passages, sources) or document_fact_answer(
        index, prepared, candidates, passages, sources
    )
    if fact is not None:
        return fact
    model = load_model()
    interval = interval_answer(prepared.question, prepared.query, prepared.notice, passages,
                               lambda event: _date_of(index, event, model, sources))
    if interval is not None:
        return interval
    analysis = analysis_of(prepared)
    dividing = asks_division(analysis)
    if dividing:
        # "Which section says …?": the heading the quote sits under answers, so the quote
        # need hold no name of a law; it is read as saying what the question describes.
        analysis = replace(analysis, answer_type=DESCRIPTION)
    scored = score_candidates(index, prepared.query, analysis, candidates, model=model,
                              sources=sources)
    named = _named_division_answer(index, prepared, analysis, candidates, scored, passages)
    if named is not None:
        return named
    # A false premise is corrected whether or not the rest of the question finds an answer:
    # "Why did the order put tariffs on China?" is answered "India, not “China”".
    absent = _absent_premises(index, analysis, passages)
    corrected = _premise_corrected(index, prepared, analysis, absent, scored, passages)
    if corrected is not None:
        return corrected
    if not scored or model.no_answer(*_evidence(scored)):
        return _near_miss(index, prepared, analysis, scored, passages)
    chosen = _choose(index, analysis, scored, sources)
    division = division_answer(
        index, prepared, _citation(index, chosen[0]), neutralise_markers(chosen[0].text),
        passages,
    ) if dividing else None
    return division or _compose(index, prepared, analysis, chosen, passages)


# Words that date a passage by the day its document was made ("Today, the President signed
# …"): a closed class of English.
_DEICTIC = re.compile(r"^(?:today|this day|this morning|tonight)$", re.IGNORECASE)


def _date_of(
    index: OpenedIndex, event: str, model: ReaderModel, sources: list[str] | None,
) -> Dated | None:
    """When ``event`` happened, as the sources say: a document's own date for its making
    ("the Sejong outlook was written"), else the date the best sentence about it writes
    (its document's date for a "today"); None when none of the sentences most likely about
    it dates it."""
    docs = index.documents()
    analysis = analyse(event)
    for source in sorted(named_sources(analysis, docs) & frozenset(sources or docs)):
        doc = docs.get(source, {})
        own = iso_date(doc.get("date"))
        if own is None or not about_document(f"When was {event}?", doc, source):
            continue
        span = locate("date", own.isoformat(), index.source_text(source))
        if span is not None:
            return Dated(own, "day", own.strftime("%B %-d, %Y"),
                         _citation_at(index, source, *span))
    scored = score_candidates(index, event, analysis, search(index, event, sources=sources),
                              model=model, sources=sources)
    # (as likely about it as a further quote must be: the fitted share of the best)
    likely = [s for s in scored[:DATING_SENTENCES]
              if s.probability >= scored[0].probability * model.second_ratio]
    for s in likely:
        own = iso_date(docs.get(s.source, {}).get("date"))
        for label, a, b in s.entities:
            if label != "DATE":
                continue
            written = s.text[a:b]
            if _DEICTIC.match(written) and own is not None:
                return Dated(own, "day", f"{own.strftime('%B %-d, %Y')} (“{written}”)",
                             _citation(index, s))
            parsed = parse_date(written, own.year if own else None)
            if parsed is not None:
                return Dated(parsed[0], parsed[1], written, _citation(index, s))
    return None


def _citation_at(index: OpenedIndex, source: str, start: int, end: int) -> Citation:
    """The citation of ``source``'s text from ``start`` to ``end``, with its title and date."""
    meta = index.documents().get(source, {})
    return Citation(source=source, title=str(meta.get("title", source)), section=None,
                    quote=index.source_text(source)[start:end], start=start, end=end,
                    date=meta.get("date") or None)


def _named_division_answer(
    index: OpenedIndex, prepared: PreparedQuestion, analysis: QuestionAnalysis,
    candidates: list[Candidate], scored: list[Scored], passages: list[Passage],
) -> Answer | None:
    """"What does sec 9544 do?", "Which section is titled 'Definitions'?": the division's
    heading answers, with the best sentence inside it."""
    sources = list(dict.fromkeys(str(c.metadata["source"]) for c in candidates))
    division = defined_division(index, analysis, sources) or titled_division(
        index, analysis, sources)
    if division is None:
        return None
    inside = next((s for s in scored if s.source == division.source
                   and division.start <= s.start < division.end), None)
    said = (_citation(index, inside), neutralise_markers(inside.text)) if inside else None
    return defined_division_answer(index, prepared, division, said, passages,
                                   by_title=division.title.lower() in analysis.question.lower())


def _choose(
    index: OpenedIndex, analysis: QuestionAnalysis, scored: list[Scored],
    sources: list[str] | None,
) -> list[Scored]:
    """The quotes: the best sentence, then others close to it (reasons, lists), and for a
    multi-part or comparison question the best sentence for each part."""
    model = load_model()
    best = _with_sequel(index, _with_antecedent(index, scored[0]))
    chosen = [best]
    parts = analysis.parts
    if parts:
        for number, part in enumerate(parts, start=1):
            part_analysis = analyse(part)
            part_candidates = search(index, part, sources=sources)
            part_scored = score_candidates(
                index, part, part_analysis, part_candidates, model=model, sources=sources
            )
            pick = next((s for s in part_scored if not _overlapping(s, chosen)), None)
            if pick is not None and not model.no_answer(*_evidence(part_scored)):
                chosen.append(replace(pick, part=number))
    limit = MAX_QUOTES if (analysis.is_list or parts) else QUOTES
    for s in scored[1:]:
        if len(chosen) >= limit:
            break
        if s.probability < best.probability * model.second_ratio:
            break
        if not _overlapping(s, chosen) and not _redundant(s, chosen):
            chosen.append(s)
    if analysis.is_list and not parts:
        # The first quote that opens or announces an enumeration ("Several factors explain
        # this.", then "First, …", "Next, …") is answered with its items.
        for s in chosen:
            items = _enumeration(index, s)
            if items:
                return [s, *items]
    elif not parts and leads_in(best.text):
        # A clause that leads into labelled items says nothing without them ("… the Senate
        # receives an identical joint resolution, then" and "(I) …", "(II) …").
        items = _enumeration(index, best)
        if items:
            return [best, *items]
    return chosen


# A sentence that points back at what the one before it said: a demonstrative phrase ("this
# scenario", "these measures") or a pronoun that opens it ("It would …", "They …"). A closed
# class of English; a legal text's references to itself ("this title", "such person") and
# to time ("this year") point at nothing before.
_POINTS_BACK = re.compile(
    r"^(?:\W*(?:however|moreover|therefore|thus|nevertheless|in addition|in particular),?\s+)?"
    r"(?:it|they|this|these|he|she)\b(?!\s+(?:is|was)\s+(?:essential|crucial|likely|unlikely|"
    r"possible|important|necessary|clear|expected)\b)"
    r"|\b(?:this|these|those|such)\s+(?!(?:title|section|subsection|paragraph|subparagraph|"
    r"clause|chapter|part|act|order|law|year|month|week|day|time|point|way|regard|respect|"
    r"person|persons|entity|entities|date|report|resolution)\b)[a-z]+",
    re.IGNORECASE,
)


def _with_antecedent(index: OpenedIndex, s: Scored) -> Scored:
    """``s`` quoted with the sentence before it when it points back at it ("However,
    Russia is strongly opposed to this scenario." says nothing of which scenario): one
    quote, from the start of the one before to the end of ``s``, in the same passage."""
    if s.role != "prose" or not _POINTS_BACK.search(s.text):
        return s
    before = [b for b in index.sentences_within(s.source, max(s.start - 600, 0), s.start)
              if b.end <= s.start and b.chunk_id == s.chunk_id and b.role == "prose"]
    if not before:
        return s
    prev = before[-1]
    if index.source_text(s.source)[prev.end : s.start].strip():
        return s  # not the sentence right before it
    shift = len(prev.text) + 1  # (texts as the chunks hold them: entities index into these)
    return replace(s, start=prev.start, text=f"{prev.text} {s.text}", entities=prev.entities
                   + tuple((label, a + shift, b + shift) for label, a, b in s.entities))


def _with_sequel(index: OpenedIndex, s: Scored) -> Scored:
    """``s`` quoted with the sentence after it when that one points back at it ("Americans
    pushed through the wilderness." and "They crossed deserts …"): what the question asks
    of ``s`` is as likely said in the sentence that goes on from it."""
    if s.role != "prose":
        return s
    after = [a for a in index.sentences_within(s.source, s.end, s.end + 600)
             if a.chunk_id == s.chunk_id and a.role == "prose"]
    if not after or not _POINTS_BACK.search(after[0].text):
        return s
    nxt = after[0]
    if index.source_text(s.source)[s.end : nxt.start].strip():
        return s  # not the sentence right after it
    shift = len(s.text) + 1
    return replace(s, end=nxt.end, text=f"{s.text} {nxt.text}", entities=s.entities
                   + tuple((label, a + shift, b + shift) for label, a, b in nxt.entities))


def _enumeration(index: OpenedIndex, s: Scored) -> list[Scored]:
    """The items of the enumeration ``s`` opens or announces, unscored (``enumerations``),
    none of them overlapping ``s``."""
    items = [Scored(i.chunk_id, s.source, i.start, i.end, i.text, i.role, i.entities, (),
                    float("nan")) for i in enumeration_items(index, s.source, s.text, s.end,
                                                               s.entities)]
    return [i for i in items if not _overlapping(i, [s])]


def _overlapping(s: Scored, chosen: Sequence[Scored]) -> bool:
    return any(s.source == c.source and s.start < c.end and c.start < s.end for c in chosen)


def _redundant(s: Scored, chosen: Sequence[Scored]) -> bool:
    mine = set(tokenize(s.text))
    for c in chosen:
        theirs = set(tokenize(c.text))
        if mine and theirs and len(mine & theirs) / min(len(mine), len(theirs)) > 0.7:
            return True
    return False


def _citation(index: OpenedIndex, s: Scored) -> Citation:
    record = index.records([s.chunk_id]).get(s.chunk_id)
    section = str(record[1].get("section")) if record and record[1].get("section") else None
    return replace(_citation_at(index, s.source, s.start, s.end), section=section)


def _compose(
    index: OpenedIndex, prepared: PreparedQuestion, analysis: QuestionAnalysis,
    chosen: list[Scored], passages: list[Passage],
) -> Answer:
    citations = [_citation(index, s) for s in chosen]
    model = load_model()
    # Sources of different dates are flagged only when each of them answers on its own (an
    # enumeration's items, unscored, go with the sentence that announced them).
    solid = [c for s, c in zip(chosen, citations, strict=True) if s.features
             and not model.no_answer(*_evidence([s])) and _about_question(s, analysis)]
    dated = len({c.source for c in solid}) > 1 and len({c.date for c in solid if c.date}) > 1
    if dated:
        # Sources of different dates: the best-supported quote still answers first (the short
        # answer is its span), the others follow newest first, each named with its date.
        order = [0, *sorted(range(1, len(chosen)), key=lambda i: citations[i].date or "",
                            reverse=True)]
        chosen = [chosen[i] for i in order]
        citations = [citations[i] for i in order]
    # An enumeration's items (unscored) are the answer: no one span of them is.
    enumerated = any(not s.features for s in chosen)
    short = None if enumerated else short_answer(analysis, chosen[0].text, chosen[0].entities)
    named = title_citation(index, chosen[0].source) if asks_which_source(analysis.question) \
        else None
    if named is not None:  # "Which document says …?": its title, where its text writes it
        citations.insert(0, named)
        short = named.quote
    first = 2 if named is not None else 1
    pieces: list[str] = []
    for n, (s, c) in enumerate(zip(chosen, citations[first - 1 :], strict=True), start=first):
        label = f"{c.title} ({c.date}): " if dated and c.date else ""
        pieces.append(f"{label}{neutralise_markers(s.text)} [{n}]")
    listed = analysis.answer_type == LIST and len(pieces) > 1
    if listed:
        pieces = [f"- {p}" for p in pieces]
    if dated and len(pieces) > 1:
        pieces.insert(1, "The sources differ in date; the others, newest first:")
    body = ("\n" if listed else " ").join(pieces)
    if named is not None:
        lead = f"{named.quote} [1]{f' ({named.date})' if named.date else ''} says so: "
    else:
        lead = f"{short}{'' if short.endswith(('.', '?', '!')) else '.'} " if short else ""
    text = lead + body
    return Answer(
        text=text.strip(), abstained=False, citations=citations, passages=passages,
        query=prepared.query, backend="extractive", notice=prepared.notice, short=short,
    )


def _about_question(s: Scored, analysis: QuestionAnalysis) -> bool:
    """The sentence holds more than half of what the question names (its nouns, and its
    entities and years when it has some): it is about the question, even if it does not
    answer it."""
    about = [s.features[FEATURES.index("noun_cover")]]
    if analysis.entities:
        about.append(s.features[FEATURES.index("constraints")])
    return min(about) > 0.5


def _absent_premises(
    index: OpenedIndex, analysis: QuestionAnalysis, passages: list[Passage]
) -> list[tuple[str, str]]:
    """What a question that takes something as given names and no passage holds: its
    entities and bare figures (label, text), a wrong name or place before a wrong figure."""
    if not analysis.presupposes:
        return []
    pool = _pool_text(index, analysis, passages)
    said = _said_otherwise(analysis, passages)
    absent = [(label, text) for label, text in analysis.entities
              if not mentions(pool, text, label) and not named_by(text, said)]
    absent += [("CARDINAL", w) for w in analysis.nouns if w.isdigit() and w not in pool]
    return sorted(absent, key=lambda e: e[0] in FIGURE_LABELS)


def _premise_corrected(
    index: OpenedIndex, prepared: PreparedQuestion, analysis: QuestionAnalysis,
    absent: list[tuple[str, str]], scored: list[Scored], passages: list[Passage],
) -> Answer | None:
    """A false premise corrected: the question takes as given a name, place, date or figure
    that no passage holds (``absent``), and one of the most probable sentences holds another
    of the same kind there."""
    if not absent or not scored:
        return None
    asked = {text.lower() for _, text in analysis.entities}
    figures = FIGURE_LABELS
    for label, text in absent:
        kinds = figures if label in figures else {label}
        holders = [s for s in scored[:PREMISE_QUOTES] if any(
            lb in kinds and s.text[a:b].lower() not in asked
            and (label != "DATE" or puts_year_right(text, s.text, a, b))
            for lb, a, b in s.entities)]
        if not holders:
            continue
        # The short answer is what a passage holds in the premise's place: an entity of the
        # very label of the absent one ("Reuters" for "Bloomberg"), the most likely span of
        # them; a figure of another label ("2017" for "90 days") is no correction. The most
        # probable sentence that holds one is quoted, else the most probable of the others.
        found = next(((s, fix) for s in holders
                      if (fix := correction(analysis, s.text, s.entities, label, text))), None)
        chosen, short = found or (holders[0], None)
        quote = neutralise_markers(chosen.text)
        lead = f"{short}, not “{text}”. " if short else ""
        return Answer(
            text=f"{lead}The sources do not support that: none of the passages found "
                 f"mentions “{text}”. What they say: {quote} [1]",
            abstained=False, citations=[_citation(index, chosen)], passages=passages,
            query=prepared.query, backend="extractive", notice=prepared.notice, short=short,
        )
    return None


def _as_asked(lemma: str, question: str) -> str:
    """A question word as the question writes it ("Brazil", not the lemma "brazil")."""
    found = re.search(rf"\b{re.escape(lemma)}\w*", question, re.IGNORECASE)
    return found.group(0) if found else lemma


def _pool_text(index: OpenedIndex, analysis: QuestionAnalysis, passages: list[Passage]) -> str:
    """What the best passages say, with what their documents say of themselves (as the
    features read it): "none of the passages mentions X" must not be said of a document whose
    byline is X."""
    docs = index.documents()
    dated = _names_a_month(analysis)
    return " ".join(
        f"{p.text} {p.section or ''} {division_words(index, p.source, p.start)} "
        f"{_about(docs.get(p.source, {}), dated)}"
        for p in passages[:ANSWER_POOL]
    ).lower()


def _said_otherwise(analysis: QuestionAnalysis, passages: list[Passage]) -> frozenset[str]:
    """The question's words the passages say by an acronym it spells out, or spell out where
    it uses the acronym ("NATO" / "the North Atlantic Treaty Organization"): those are there."""
    return frozenset(covered(analysis.question,
                             " ".join(p.text for p in passages[:ANSWER_POOL])))


def _near_miss(
    index: OpenedIndex, prepared: PreparedQuestion, analysis: QuestionAnalysis,
    scored: list[Scored], passages: list[Passage],
) -> Answer:
    """Abstain, naming what the question asks that the passages lack, and what the closest
    passage does hold (cited, when it is about what the question names), so the reader can
    judge."""
    if not scored:
        return abstention(
            prepared, passages, "The sources do not say: the passages found do not answer this."
        )
    best = scored[0]
    pool = _pool_text(index, analysis, passages)
    have = set(tokenize(best.text)) | _said_otherwise(analysis, passages)
    missing = [  # "lives" is mentioned where "life" is not
        w for w in analysis.nouns
        if tokenize(w) and not any(set(tokenize(form)) & have or mentions(pool, form)
                                   for form in (w, analysis.written_form(w)))
    ]
    missing = [w for w in missing if not re.fullmatch(r"\d+", w)] + [
        w for w in missing if re.fullmatch(r"\d+", w)
    ]
    if missing:
        named = ", ".join(f"“{_as_asked(analysis.written_form(w), prepared.question)}”"
                          for w in missing[:3])
        lead = f"The sources do not say: none of the passages found mentions {named}."
    else:
        lead = "The sources do not say: the passages found do not answer this question."
    if not _about_question(best, analysis):
        return abstention(prepared, passages, lead)
    citation = _citation(index, best)
    text = f"{lead} The closest passage says: {neutralise_markers(best.text)} [1]"
    return Answer(
        text=text, abstained=True, citations=[citation], passages=passages,
        query=prepared.query, backend="extractive", notice=prepared.notice,
    )
