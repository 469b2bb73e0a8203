"""Hybrid retrieval: dense chunks, dense sentences and BM25, fused by reciprocal rank.

The chain is composed of langchain-core runnables: embed the query once, run the three searches,
fuse. Each search casts a wide net (``POOL`` hits) so fusion can promote a chunk that
one signal ranks low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda

if TYPE_CHECKING:
    from qa.engine import Engine

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


def build_chain(engine: Engine) -> Runnable[dict[str, Any], list[Candidate]]:
    """query dict ``{"query": str}`` -> fused candidates, best first."""

    def embed(inp: dict[str, Any]) -> dict[str, Any]:
        return {**inp, "vector": engine.embedder.encode_query(inp["query"])}

    def dense(inp: dict[str, Any]) -> list[tuple[str, float]]:
        hits = engine.store.query_chunks(inp["vector"], inp.get("pool", POOL))
        for hit in hits:
            engine.remember(hit.chunk_id, hit.text, hit.metadata)
        return [(h.chunk_id, h.similarity) for h in hits]

    def sentences(inp: dict[str, Any]) -> list[tuple[str, float]]:
        best: dict[str, float] = {}
        for chunk_id, sim in engine.store.query_sentences(inp["vector"], inp.get("pool", POOL)):
            best[chunk_id] = max(sim, best.get(chunk_id, -1.0))
        return sorted(best.items(), key=lambda kv: -kv[1])

    def lexical(inp: dict[str, Any]) -> list[tuple[str, float]]:
        return engine.lexical.search(inp["query"], inp.get("pool", POOL))

    def fuse(inp: dict[str, Any]) -> list[Candidate]:
        return fuse_rankings(engine, inp)

    def search(inp: dict[str, Any]) -> dict[str, Any]:
        # Sequential on purpose: each search takes a few ms, less than a thread pool's start.
        return {
            "dense": dense(inp), "sentences": sentences(inp), "lexical": lexical(inp),
            "passthrough": inp,
        }

    return RunnableLambda(embed) | RunnableLambda(search) | RunnableLambda(fuse)


def fuse_rankings(engine: Engine, results: dict[str, Any]) -> list[Candidate]:
    """Reciprocal rank fusion of the three rankings; similarities kept for abstention."""
    scores: dict[str, float] = {}
    similarity: dict[str, float] = {}
    for name in ("dense", "sentences", "lexical"):
        for rank, (chunk_id, value) in enumerate(results[name]):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + WEIGHTS[name] / (RRF_K + rank + 1)
            if name != "lexical":
                similarity[chunk_id] = max(value, similarity.get(chunk_id, -1.0))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    records = engine.records([chunk_id for chunk_id, _ in ranked])
    out = []
    for chunk_id, score in ranked:
        record = records.get(chunk_id)
        if record is None:  # deleted between the searches and now
            continue
        text, metadata = record
        out.append(Candidate(chunk_id, score, similarity.get(chunk_id, 0.0), text, metadata))
    return out
