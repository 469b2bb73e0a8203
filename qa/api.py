"""The public API: ``ask``, ``ask_stream``, ``retrieve`` (see DESIGN.md for the contract)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from qa.config import Settings
from qa.document_facts import document_fact_answer
from qa.engine import Engine, get_engine
from qa.errors import QuestionError
from qa.extractive import (
    ANSWER_POOL,
    answer_kind,
    choose,
    fits_kind,
    format_answer,
    missing_terms,
    score_sentences,
    supported,
)
from qa.models import Answer, Citation, Passage, StreamEvent
from qa.questions import PreparedQuestion, check_history, prepare
from qa.retrieval import Candidate

log = logging.getLogger(__name__)

TYPE_MARGIN = 0.12  # a typed sentence this much weaker than the best one is no answer

INJECTION_REPLY = (
    "The sources do not answer this. I answer questions only from the documents and do not "
    "follow instructions given inside a question."
)


def _settings(settings: Settings | None, **overrides: Any) -> Settings:
    base = settings or Settings.from_env()
    return base.with_(**overrides) if overrides else base


def retrieve(
    query: str, k: int | None = None, *, settings: Settings | None = None
) -> list[Passage]:
    """The ``k`` best passages for ``query``, best first; offsets point into the source text."""
    settings = _settings(settings)
    prepared = prepare(query, None, settings.max_question_chars)
    if k is not None and (not isinstance(k, int) or k < 1 or k > 100):
        raise QuestionError(f"k must be an integer between 1 and 100, got {k!r}")
    engine = get_engine(settings)
    candidates = _search(engine, prepared.query)
    return [_passage(engine, c) for c in candidates[: k or settings.top_k]]


def ask(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer ``question`` from the corpus, with citations, or abstain (see DESIGN.md)."""
    answer: Answer | None = None
    for event in ask_stream(question, history, backend=backend, k=k, settings=settings):
        if event.answer is not None:
            answer = event.answer
    assert answer is not None
    return answer


def ask_stream(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> Iterator[StreamEvent]:
    """Text deltas as the answer forms, then one event carrying the final ``Answer``."""
    settings = _settings(settings, answer_backend=backend, top_k=k)
    prepared = prepare(question, history, settings.max_question_chars)
    engine = get_engine(settings)
    candidates = _search(engine, prepared.query)
    passages = [_passage(engine, c) for c in candidates[: settings.top_k]]
    if settings.answer_backend != "extractive":
        from qa.generative import generate_stream

        yield from generate_stream(
            engine, settings, prepared, candidates, passages, history=check_history(history)
        )
        return
    answer = extractive_answer(engine, prepared, candidates, passages)
    yield from stream_text(answer)


def stream_text(answer: Answer) -> Iterator[StreamEvent]:
    """Emit an already-formed answer word by word, then the answer itself."""
    words = answer.text.split(" ")
    for i, word in enumerate(words):
        yield StreamEvent(delta=word if i == 0 else " " + word)
    yield StreamEvent(answer=answer)


def _search(engine: Engine, query: str) -> list[Candidate]:
    return engine.chain.invoke({"query": query})


def _passage(engine: Engine, c: Candidate) -> Passage:
    meta = c.metadata
    start, end = int(meta["start"]), int(meta["end"])
    source = str(meta["source"])
    return Passage(
        text=engine.source_text(source)[start:end],
        source=source,
        title=str(meta.get("title", source)),
        section=str(meta.get("section")) or None,
        start=start,
        end=end,
        score=round(c.score, 6),
        chunk_id=c.chunk_id,
    )


def abstention(
    prepared: PreparedQuestion, passages: list[Passage], text: str, backend: str = "extractive"
) -> Answer:
    return Answer(
        text=text, abstained=True, citations=[], passages=passages, query=prepared.query,
        backend=backend, notice=prepared.notice,
    )


def extractive_answer(
    engine: Engine,
    prepared: PreparedQuestion,
    candidates: list[Candidate],
    passages: list[Passage],
) -> Answer:
    """Quote the sentences that best answer the question, or abstain."""
    if prepared.injected:
        return abstention(prepared, passages, INJECTION_REPLY)
    if not candidates:
        return abstention(prepared, passages, "The sources do not say; nothing in them matches.")
    fact = document_fact_answer(engine, prepared, candidates, passages)
    if fact is not None:
        return fact
    # Names of the documents, their issuers and sections count as mentioned too.
    haystack = " ".join(
        [f"{c.text} {c.metadata.get('section', '')}" for c in candidates[:10]]
        + [f"{d.get('title', '')} {d.get('author', '')}" for d in engine.documents().values()]
    ).lower()
    missing = missing_terms(prepared.question, haystack)
    if missing:
        named = ", ".join(f"“{t}”" for t in missing[:3])
        return abstention(
            prepared, passages,
            f"The sources do not say: none of the passages found mentions {named}.",
        )
    pool = candidates[:ANSWER_POOL]
    rank = {c.chunk_id: i for i, c in enumerate(pool)}
    stored = engine.sentences(list(rank))
    vector = engine.embedder.encode_query(prepared.query)
    scored = score_sentences(
        prepared.query,
        vector,
        [
            (s.chunk_id, rank[s.chunk_id], s.start, s.end, s.text, s.vector)
            for chunk_id in rank for s in stored.get(chunk_id, [])
        ],
        engine.lexical.idf,
    )
    kind = answer_kind(prepared.question)
    typed = [s for s in scored if fits_kind(kind, s.text, prepared.question)]
    if kind and scored and (not typed or typed[0].score < scored[0].score - TYPE_MARGIN):
        what = {"date": "date", "name": "name"}.get(kind, "figure")
        return abstention(
            prepared, passages,
            f"The sources do not say: the passages found give no {what} that answers this.",
        )
    scored = typed
    if not scored or not supported(scored[0]):
        return abstention(
            prepared, passages,
            "The sources do not say: the passages found do not answer this question.",
        )
    by_id = {c.chunk_id: c for c in pool}
    parts: list[tuple[str, Citation]] = []
    for s in choose(scored):
        meta = by_id[s.chunk_id].metadata
        source = str(meta["source"])
        quote = engine.source_text(source)[s.start : s.end]
        citation = Citation(
            source=source, title=str(meta.get("title", source)),
            section=str(meta.get("section")) or None, quote=quote, start=s.start, end=s.end,
        )
        parts.append((s.text, citation))
    return Answer(
        text=format_answer(parts), abstained=False, citations=[c for _, c in parts],
        passages=passages, query=prepared.query, backend="extractive", notice=prepared.notice,
    )
