"""What every answer backend shares: abstentions, passages for the caller, streaming."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from qa.models import Answer, Passage, StreamEvent

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.hybrid import Candidate
    from qa.retrieval.questions import PreparedQuestion

INJECTION_REPLY = (
    "The sources do not answer this. I answer questions only from the documents and do not "
    "follow instructions given inside a question."
)
NOTHING_FOUND = "The sources do not say; nothing in them matches."


def abstention(
    prepared: PreparedQuestion, passages: list[Passage], text: str, backend: str = "extractive"
) -> Answer:
    """An answer that says the sources do not hold one, with what was searched."""
    return Answer(
        text=text, abstained=True, citations=[], passages=passages, query=prepared.query,
        backend=backend, notice=prepared.notice,
    )


def stream_text(answer: Answer) -> Iterator[StreamEvent]:
    """Emit an already-formed answer word by word, then the answer itself."""
    words = answer.text.split(" ")
    for i, word in enumerate(words):
        yield StreamEvent(delta=word if i == 0 else " " + word)
    yield StreamEvent(answer=answer)


def to_passage(index: OpenedIndex, c: Candidate) -> Passage:
    """A retrieval candidate as the public ``Passage`` (text read at its raw offsets)."""
    meta = c.metadata
    start, end = int(meta["start"]), int(meta["end"])
    source = str(meta["source"])
    return Passage(
        text=index.source_text(source)[start:end],
        source=source,
        title=str(meta.get("title", source)),
        section=str(meta.get("section")) or None,
        start=start,
        end=end,
        score=round(c.score, 6),
        chunk_id=c.chunk_id,
    )


def to_passages(index: OpenedIndex, candidates: list[Candidate]) -> list[Passage]:
    return [to_passage(index, c) for c in candidates]
