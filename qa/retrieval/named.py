"""The documents a question names ("his inaugural speech", "the CRS brief", "the India tariff
order"), from its source phrases and what each document's metadata says of it, and the search
that reads those documents as well as the whole corpus.

A question that names its document mostly repeats the document's own words ("India",
"tariff", "order"), which match a summary of it (a fact sheet) better than the clause that
answers. So each named document is also searched without the naming words, and its passages
are interleaved with the plain search's (measured on the dev split, gold within the first
five passages: 0.756 -> 0.785 of the questions that name one document, 0.542 -> 0.708 of
those that name two).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from qa.index.lexical import tokenize, word_root, word_stems
from qa.retrieval.analysis import FRAMING_NOUNS, GENRES, QuestionAnalysis
from qa.retrieval.hybrid import Candidate, search

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex

# What a document's metadata says of it: its kind as much as its subject ("The Inaugural
# Address", a "/remarks/" address, "Office of the Law Revision Counsel"), and its date.
_DESCRIBING = ("title", "series", "author", "publisher", "url", "date")
_GENRE_STEMS = tuple(frozenset(word_stems(sorted(g))) for g in GENRES)
_FRAMING_ROOTS = frozenset(word_root(w) for w in word_stems(sorted(FRAMING_NOUNS)))


def named_sources(analysis: QuestionAnalysis, documents: Mapping[str, Any]) -> frozenset[str]:
    """The documents the question names by a source phrase whose words describe them: "his
    inaugural speech" (the document whose title or byline says "inaugural"; the source noun
    itself may be any document's), "the CRS brief"; a bare source noun only when one document
    alone says it ("the outlook", but not "the report" where several titles are reports)."""
    return _named(_naming(analysis, documents), documents)


def _named(naming: list[tuple[int, frozenset[str]]], documents: Mapping[str, Any]
           ) -> frozenset[str]:
    """The documents the phrases name, unless that is every one (no document in particular)."""
    named = frozenset(s for _, docs in naming for s in docs)
    return named if len(named) < len(documents) else frozenset()


def _naming(analysis: QuestionAnalysis, documents: Mapping[str, Any]
            ) -> list[tuple[int, frozenset[str]]]:
    """Each source phrase that names documents (by its index), with the documents it names."""
    if not analysis.source_phrases:
        return []  # the common case, asked every question: no document to compare
    described = {
        source: frozenset(tokenize(" ".join(str(doc.get(k) or "") for k in _DESCRIBING)
                                   + " " + re.sub(r"[_/.:@-]", " ", source)))
        for source, doc in documents.items()
    }
    # The phrase's other words meet a description by their roots, so that a word's
    # derivations meet ("his inauguration speech", "The Inaugural Address"); its kind by its
    # own words ("the brief" is no "briefing").
    rooted = {source: frozenset(word_root(w) for w in words) for source, words in described.items()}
    out: list[tuple[int, frozenset[str]]] = []
    for n, phrase in enumerate(analysis.source_phrases):
        wanted = {word_root(t) for w in phrase[:-1] for t in tokenize(w)} - _FRAMING_ROOTS
        numbers = {word_root(t) for w in phrase[:-1] if w[:1].isdigit() for t in tokenize(w)}
        if numbers and not any(numbers <= words for words in rooted.values()):
            continue  # "Executive Order 13660", "the 2022 order": one no document here is
        kind = next((g for g in _GENRE_STEMS if set(tokenize(phrase[-1])) & g),
                    frozenset(tokenize(phrase[-1])))
        # A document is named by the words of its kind its description holds ("address",
        # "remarks" for "the speech"), with at least half of the phrase's other words ("the
        # India tariff order"); a capitalised head is a name ("the Ukraine Support Act"), of
        # a document only when its description holds all of the name.
        head = analysis.written_form(phrase[-1])
        proper = re.search(rf"(?<!^)\b{re.escape(head.capitalize())}\b", analysis.question)
        scores = {source: len(kind & words) + len(wanted & rooted[source])
                  for source, words in described.items()
                  if (kind & words and not proper
                      and 2 * len(wanted & rooted[source]) >= len(wanted))
                  or (wanted and wanted <= rooted[source])}
        if scores and (best := max(scores.values())):
            top = [source for source, score in scores.items() if score == best]
            if wanted or len(top) == 1:
                out.append((n, frozenset(top)))
    return out


def search_named(
    index: OpenedIndex, query: str, analysis: QuestionAnalysis,
    sources: Sequence[str] | None = None,
) -> list[Candidate]:
    """``search``, and when the question names some of the documents (of the asker's
    ``sources``, if chosen), each of them searched without the naming words: their passages
    and the plain search's in turn, the named documents' first ("the Sejong outlook and the
    CRS brief": a passage of each, then the best of all). A named document is sometimes the
    wrong one (a question about "the codified executive orders" of a statute): the plain
    search keeps every other place of the list."""
    found = search(index, query, sources=sources)
    documents = index.documents()
    naming = _naming(analysis, documents)
    named = sorted(_named(naming, documents) & set(sources or documents))
    if not named or (sources and set(sources) <= set(named)):
        return found
    # Without them the question must still ask about something ("What does the India tariff
    # order say?" asks about nothing else).
    naming_lemmas = {w for n, _ in naming for w in analysis.source_phrases[n]}
    if not set(analysis.nouns) - naming_lemmas:
        return found
    words = {w for n, _ in naming for w in analysis.source_words[n]}
    stripped = " ".join(w for w in query.split() if w.strip(_EDGE) not in words)
    if stripped == query or not tokenize(stripped):
        return found
    inside = [search(index, stripped, sources=[source]) for source in named]
    out: list[Candidate] = []
    seen: set[str] = set()
    for turn in zip_longest(*inside, found):
        for c in turn:
            if c is not None and c.chunk_id not in seen:
                seen.add(c.chunk_id)
                # best first, as every search's list: no score above the one before it
                out.append(replace(c, score=min(c.score, out[-1].score)) if out else c)
    return out


_EDGE = ".,;:!?\"'“”‘’()[]"
