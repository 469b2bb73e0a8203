"""Hybrid retrieval: dense chunks and BM25, re-ranked by their best sentence, fused by
reciprocal rank.

The chain is composed of langchain-core runnables: embed the query once, run the two searches,
fuse. Each search casts a wide net (``POOL`` hits); the union is ranked a third time by the
best match among each chunk's stored sentence vectors (read with the chunk record, so this
costs a few dot products), which promotes a chunk holding one sentence that answers.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableConfig

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex

POOL = 30
RRF_K = 60
WEIGHTS = {"dense": 1.0, "sentences": 1.0, "lexical": 1.0}


@dataclass(frozen=True)
class Candidate:
    """A fused retrieval result, before it becomes a public ``Passage``."""

    chunk_id: str
    score: float  # fused reciprocal-rank score
    dense: float  # best cosine similarity of the chunk or one of its sentences (0 if unseen)
    text: str  # cleaned chunk text
    metadata: dict[str, Any]


_chains: weakref.WeakKeyDictionary[OpenedIndex, Runnable[dict[str, Any], list[Candidate]]] = (
    weakref.WeakKeyDictionary()
)
_chains_lock = threading.Lock()


SOURCES_POOL = 10  # searching within chosen documents casts a net this many times wider


def search(
    index: OpenedIndex, query: str, pool: int = POOL, *, sources: Sequence[str] | None = None
) -> list[Candidate]:
    """Fused candidates for ``query`` from an opened index, best first; with ``sources``,
    only passages of those documents (the net is widened so small documents still fill it)."""
    with _chains_lock:
        chain = _chains.get(index)
        if chain is None:
            chain = _chains[index] = build_chain(index)
    if not sources:
        return chain.invoke({"query": query, "pool": pool})
    wanted = set(sources)
    found = chain.invoke({"query": query, "pool": pool * SOURCES_POOL})
    return [c for c in found if str(c.metadata.get("source")) in wanted]


def build_chain(engine: OpenedIndex) -> Runnable[dict[str, Any], list[Candidate]]:
    """query dict ``{"query": str}`` -> fused candidates, best first."""

    def embed(inp: dict[str, Any]) -> dict[str, Any]:
        return {**inp, "vector": engine.embedder.encode_query(inp["query"])}

    def dense(inp: dict[str, Any]) -> list[tuple[str, float]]:
        return engine.store.query_chunks(inp["vector"], inp.get("pool", POOL))

    def lexical(inp: dict[str, Any]) -> list[tuple[str, float]]:
        return engine.lexical.search(inp["query"], inp.get("pool", POOL))

    def fuse(inp: dict[str, Any]) -> list[Candidate]:
        return fuse_rankings(engine, inp)

    def search(inp: dict[str, Any]) -> dict[str, Any]:
        # Sequential on purpose: each search takes a few ms, less than a thread pool's start.
        return {"dense": dense(inp), "lexical": lexical(inp), "passthrough": inp}

    return Step(embed) | Step(search) | Step(fuse)


class Step(Runnable[Any, Any]):
    """A pipeline step as a bare runnable: it composes, streams and batches like any other,
    but is not traced as a child run (``RunnableLambda`` inspects its function's signature and
    opens a callback run per call: ~0.15 ms a step, a tenth of a question's own work)."""

    def __init__(self, func: Any) -> None:
        self.func = func
        self.name = func.__name__

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self.func(input)


def fuse_rankings(engine: OpenedIndex, results: dict[str, Any]) -> list[Candidate]:
    """Reciprocal rank fusion of the three rankings; similarities kept for abstention."""
    pool = list(dict.fromkeys(c for name in ("dense", "lexical") for c, _ in results[name]))
    records = engine.records(pool)
    rankings = {**results, "sentences": _by_best_sentence(
        engine, [c for c in pool if c in records], results["passthrough"]["vector"]
    )}
    scores: dict[str, float] = {}
    similarity: dict[str, float] = {}
    for name in ("dense", "sentences", "lexical"):
        for rank, (chunk_id, value) in enumerate(rankings[name]):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + WEIGHTS[name] / (RRF_K + rank + 1)
            if name != "lexical":
                similarity[chunk_id] = max(value, similarity.get(chunk_id, -1.0))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    out = []
    for chunk_id, score in ranked:
        record = records.get(chunk_id)
        if record is None:  # deleted between the searches and now
            continue
        text, metadata = record
        out.append(Candidate(chunk_id, score, similarity.get(chunk_id, 0.0), text, metadata))
    return out


def _by_best_sentence(
    engine: OpenedIndex, chunk_ids: list[str], vector: np.ndarray
) -> list[tuple[str, float]]:
    stored = engine.sentences(chunk_ids)
    owners = [c for c in chunk_ids if stored.get(c)]
    if not owners:
        return []
    sims = np.stack([s.vector for c in owners for s in stored[c]]) @ vector
    starts = np.cumsum([0] + [len(stored[c]) for c in owners[:-1]])
    best = np.maximum.reduceat(sims, starts)
    order = np.argsort(-best, kind="stable")
    return [(owners[i], float(best[i])) for i in order]
