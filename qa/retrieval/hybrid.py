"""Hybrid retrieval: dense chunks and BM25, re-ranked by their best sentence, fused by
reciprocal rank.

The chain is composed of langchain-core runnables: embed the query once, run the two searches,
fuse. Each search casts a wide net (``POOL`` hits); the union is ranked a third time by the
best match among each chunk's stored sentence vectors (read with the chunk record, so this
costs a few dot products), which promotes a chunk holding one sentence that answers. The three
rankings are fused with the weights and constant ``evals/fit_retrieval.py`` fits on the dev
split (``fusion.json``).
"""

from __future__ import annotations

import functools
import json
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableConfig

from qa.errors import ConfigError
from qa.index.lexical import tokenize
from qa.retrieval.analysis import KIND_NOUNS, SOURCE_NOUNS, analyse
from qa.retrieval.divisions import Division, asked_numbers, defined_division

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex

POOL = 30
RANKINGS = ("dense", "sentences", "lexical")
FUSION_PATH = Path(__file__).with_name("fusion.json")  # written by evals/fit_retrieval.py


@dataclass(frozen=True)
class Fusion:
    """How the three rankings are fused: a weight each and the reciprocal-rank constant,
    fitted on the dev split (plain, equal-weight RRF with k=60 before the first fit)."""

    weights: dict[str, float]
    k: float

    def scores(self, rankings: dict[str, list[tuple[str, float]]]) -> dict[str, float]:
        """Fused score per chunk id: Σ weight / (k + rank)."""
        scores: dict[str, float] = {}
        for name in RANKINGS:
            weight = self.weights.get(name, 0.0)
            for rank, (chunk_id, _) in enumerate(rankings.get(name, ())):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (self.k + rank + 1)
        return scores


DEFAULT_FUSION = Fusion(weights=dict.fromkeys(RANKINGS, 1.0), k=60.0)


@functools.lru_cache(maxsize=1)
def load_fusion(path: Path = FUSION_PATH) -> Fusion:
    """The fitted fusion, or plain RRF when none was fitted yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Fusion(weights={n: float(data["weights"][n]) for n in RANKINGS},
                      k=float(data["k"]))
    except FileNotFoundError:
        return DEFAULT_FUSION
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the retrieval fusion {path} is unreadable ({exc}); "
                          "run `python -m evals.fit_retrieval`") from exc


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


# The words by which a question points at its sources or the kind of thing it asks about
# ("according to the outlook", "the CRS brief", "what kind of peace"): they name documents,
# not what is asked, and BM25 would favour whatever passage repeats "author" or "report"
# (cross-validated on the dev split: recall@5 0.846 -> 0.862 with them left out).
_FRAMING_STEMS = frozenset(tokenize(" ".join(sorted(SOURCE_NOUNS | KIND_NOUNS))))


def lexical_query(query: str) -> str:
    """``query`` for BM25: without the words that only frame it (all of it when nothing
    else is left)."""
    kept = [w for w in query.split() if not set(tokenize(w)) & _FRAMING_STEMS]
    return " ".join(kept) if tokenize(" ".join(kept)) else query


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
        return divisions_first(index, query, chain.invoke({"query": query, "pool": pool}))
    wanted = set(sources)
    found = chain.invoke({"query": query, "pool": pool * SOURCES_POOL})
    return divisions_first(index, query,
                           [c for c in found if str(c.metadata.get("source")) in wanted])


def divisions_first(index: OpenedIndex, query: str, found: list[Candidate]) -> list[Candidate]:
    """``found`` with the passages of a division the question asks about by number ("what
    does sec 9544 do?") first: the one its heading opens, then the others found inside it.
    The division is looked for in the documents the search found (a document whose passages
    all missed is not read for it). A question that only cites a division ("the sanctions
    of section 9529 …") keeps its order: what it asks is mostly said elsewhere."""
    if not found or not asked_numbers(query):
        return found
    sources = list(dict.fromkeys(str(c.metadata.get("source")) for c in found))
    division = defined_division(index, analyse(query), sources)
    if division is None:
        return found
    opening = _opening(index, query, division, found[0].score)
    first = [opening] if opening is not None else []
    first += [c for c in found if _within(c, division) and c.chunk_id not in
              {f.chunk_id for f in first}]
    moved = {c.chunk_id for c in first}
    return first + [c for c in found if c.chunk_id not in moved]


def _within(candidate: Candidate, division: Division) -> bool:
    m = candidate.metadata
    return (str(m.get("source")) == division.source
            and int(m.get("start", -1)) < division.end and int(m.get("end", -1)) > division.start)


def _opening(index: OpenedIndex, query: str, division: Division, score: float
             ) -> Candidate | None:
    """The chunk that holds the start of ``division``'s text, as a candidate ranked first."""
    reach = 4 * index.settings.chunk_chars  # a chunk may begin before the heading
    ids = index.store.chunk_ids_between(division.source, max(division.start - reach, 0),
                                        division.end)
    records = index.records(ids)
    opening = next((c for c in ids if c in records
                    and int(records[c][1].get("end", -1)) > division.heading_end), None)
    if opening is None:
        return None
    text, metadata = records[opening]
    vector = index.embedder.encode_query(query)
    stored = index.sentences([opening]).get(opening, [])
    dense = max((float(s.vector @ vector) for s in stored), default=0.0)
    return Candidate(opening, score, dense, text, metadata)


def build_chain(engine: OpenedIndex) -> Runnable[dict[str, Any], list[Candidate]]:
    """query dict ``{"query": str}`` -> fused candidates, best first."""

    def embed(inp: dict[str, Any]) -> dict[str, Any]:
        return {**inp, "vector": engine.embedder.encode_query(inp["query"])}

    def dense(inp: dict[str, Any]) -> list[tuple[str, float]]:
        return engine.store.query_chunks(inp["vector"], inp.get("pool", POOL))

    def lexical(inp: dict[str, Any]) -> list[tuple[str, float]]:
        return engine.lexical.search(lexical_query(inp["query"]), inp.get("pool", POOL))

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
    records, rankings = ranked_lists(engine, results)
    scores = load_fusion().scores(rankings)
    similarity: dict[str, float] = {}
    for name in ("dense", "sentences"):
        for chunk_id, value in rankings[name]:
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


def ranked_lists(
    engine: OpenedIndex, results: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[tuple[str, float]]]]:
    """The pooled chunks' records and the three rankings fusion weighs: the dense and BM25
    hits, and the union ranked again by each chunk's best sentence."""
    pool = list(dict.fromkeys(c for name in ("dense", "lexical") for c, _ in results[name]))
    records = engine.records(pool)
    sentences = _by_best_sentence(
        engine, [c for c in pool if c in records], results["passthrough"]["vector"]
    )
    return records, {"dense": results["dense"], "sentences": sentences,
                     "lexical": results["lexical"]}


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
