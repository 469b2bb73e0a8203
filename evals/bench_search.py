"""The search side at scale, without embedding a corpus: ``--search-sizes`` and ``--lexical-sizes``.

A real Chroma store (``ChromaStore.write_records``) and a real BM25 index over synthetic chunks
whose vectors mix real embeddings (``evals.bench_synthetic``), searched through the production
code: ``ChromaStore.query_chunks``, ``LexicalIndex.search``, ``qa.retrieval.hybrid``'s
``fuse_rankings`` and ``build_chain``, and an ``OpenedIndex`` assembled from those parts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.bench_synthetic import (
    BASIS_SENTENCES,
    REPO,
    Markov,
    VectorMixer,
    real_sentences,
    synthetic_chunk_batch,
    vector_note,
)
from evals.bench_timing import peak_rss_mb, percentiles_ms, rss_mb, timed
from evals.metrics import percentile

WRITE_BATCH = 5000  # records per Chroma upsert
SEARCH_STAGES = ("dense_chunks", "lexical", "fusion", "get_sentences", "score_sentences",
                 "total_minus_embed", "chain_minus_embed")


def bench_lexical(size: int, chain: Markov, n_questions: int) -> dict[str, Any]:
    """BM25 alone at ``size`` chunks: build, search p50, save/load (no embedding needed)."""
    from qa.index.lexical import LexicalIndex

    texts = [chain.paragraph()[:480] for _ in range(size)]
    ids = [f"c{i}" for i in range(size)]
    index, t_build = timed(lambda: LexicalIndex(ids, texts))
    queries = [" ".join(chain.sentence().split()[:6]) for _ in range(n_questions)]
    lat = [timed(lambda q=q: index.search(q, 30))[1] * 1000 for q in queries]
    row: dict[str, Any] = {
        "name": f"lexical-{size}", "chunks": size, "lexical_build_s": round(t_build, 2),
        **percentiles_ms("lexical", lat),
    }
    save = getattr(index, "save", None)
    if save is not None:
        with tempfile.TemporaryDirectory() as tmp:
            _, t_save = timed(lambda: save(Path(tmp) / "bm25"))
            loaded, t_load = timed(lambda: LexicalIndex.load(Path(tmp) / "bm25"))
            same = all(loaded.search(q, 30) == index.search(q, 30) for q in queries[:10])
        row.update(lexical_save_s=round(t_save, 2), lexical_load_s=round(t_load, 2),
                   lexical_load_same=same)
    return row


def write_search_store(
    path: Path, size: int, chain: Markov, mixer: VectorMixer
) -> tuple[Any, list[str], list[str], dict[str, Any]]:
    """Upsert ``size`` synthetic chunks, their sentences' vectors packed in, into a real
    ChromaStore (same collection, configuration and record layout as ``qa.index.sync``)."""
    from qa.index.embedder import LangChainEmbeddings, shared_embedder
    from qa.index.sentence_vectors import pack_vectors
    from qa.index.store import ChromaStore, chroma_client

    store = ChromaStore(chroma_client(None, path), LangChainEmbeddings(shared_embedder()))
    batch = min(WRITE_BATCH, store.max_batch_size())
    ids: list[str] = []
    texts: list[str] = []
    t_gen = t_chunks = 0.0
    n_sentences = 0
    for first in range(0, size, batch):
        t = time.perf_counter()
        rows = synthetic_chunk_batch(first, min(batch, size - first), chain)
        mixes = mixer.mixes(len(rows))
        chunk_vecs = mixer.unit(mixes)
        owner = mixer.np.asarray([k for k, r in enumerate(rows) for _ in r["sentences"]])
        sent_vecs = mixer.unit(mixes[owner], extra=0.5)
        at = 0
        for r in rows:
            n = len(r["sentences"])
            r["metadata"]["vectors"] = pack_vectors(sent_vecs[at : at + n])
            at += n
        t_gen += time.perf_counter() - t
        _, t_c = timed(lambda rows=rows, vecs=chunk_vecs: store.write_records(
            [r["id"] for r in rows], vecs,
            [r["embed_text"] for r in rows], [r["metadata"] for r in rows],
        ))
        t_chunks += t_c
        n_sentences += at
        ids += [r["id"] for r in rows]
        texts += [r["embed_text"] for r in rows]
        print(f"search-only {size}: wrote {first + len(rows)} chunks, {n_sentences} sentences "
              f"({t_chunks:.0f} s in Chroma)", file=sys.stderr, flush=True)
    return store, ids, texts, {
        "sentences": n_sentences, "generate_s": round(t_gen, 2),
        "write_s": round(t_chunks, 2), "write_batch": batch,
    }


def dataset_questions(n: int) -> list[str]:
    """The first ``n`` single-turn questions of the evaluation set (real wording, real length)."""
    rows = [json.loads(line) for line in (REPO / "evals" / "dataset.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not r.get("history")][:n]


def bench_search_only(size: int, chain: Markov, n_questions: int, workdir: Path) -> dict[str, Any]:
    """Search-side latency at ``size`` chunks: a real Chroma store and BM25 index over
    synthetic prose whose vectors are mixes of real embeddings (see ``VECTOR_NOTE``)."""
    from qa.answer.extractive import ANSWER_POOL, score_candidates
    from qa.answer.scorer import load_model
    from qa.config import Settings
    from qa.index.embedder import shared_embedder
    from qa.index.lexical import LexicalIndex
    from qa.index.opened import OpenedIndex
    from qa.retrieval.analysis import analyse
    from qa.retrieval.hybrid import POOL, build_chain, fuse_rankings

    embedder = shared_embedder()
    basis_texts = real_sentences(BASIS_SENTENCES)
    n_real = len(basis_texts)  # the real corpus has fewer: Markov prose fills the basis up
    basis_texts += [chain.sentence() for _ in range(BASIS_SENTENCES - n_real)]
    basis, t_basis = timed(lambda: embedder.encode(basis_texts))
    path = workdir / f"search-only-{size}"
    shutil.rmtree(path, ignore_errors=True)
    store, ids, texts, written = write_search_store(path, size, chain, VectorMixer(basis))
    t = time.perf_counter()
    lexical = LexicalIndex(ids, texts)
    t_lex_build = time.perf_counter() - t
    del texts
    # An OpenedIndex assembled from these parts (there is no manifest or corpus on disk):
    # records(), sentences() and the retrieval chain are the production code.
    settings = Settings.from_env(env={}, corpus_dir=workdir, index_dir=path)
    engine = OpenedIndex(settings, store, lexical, embedder)
    engine_chain = build_chain(engine)

    questions = dataset_questions(n_questions)
    model = load_model()
    embed_ms: list[float] = []
    vectors = []
    for q in questions:
        embedder.clear_query_cache()
        vec, t = timed(lambda q=q: embedder.encode_query(q))  # cached: the chain reuses it
        vectors.append(vec)
        embed_ms.append(t * 1000)
    first_query, t_first = timed(lambda: store.query_chunks(vectors[0], POOL))
    lexical.search(questions[0], POOL)
    stages: dict[str, list[float]] = defaultdict(list)
    top1: list[float] = []
    for q, vec in zip(questions, vectors, strict=True):
        d, t_d = timed(lambda vec=vec: store.query_chunks(vec, POOL))
        lex, t_l = timed(lambda q=q: lexical.search(q, POOL))
        results = {"dense": d, "lexical": lex, "passthrough": {"query": q, "vector": vec}}
        cands, t_f = timed(lambda r=results: fuse_rankings(engine, r))
        pool = [c.chunk_id for c in cands[:ANSWER_POOL]]
        _, t_g = timed(lambda pool=pool: engine.sentences(pool))
        # The extractive reader's scoring of the pool's sentences (the question's parse is
        # made beforehand, like its vector): features and the fitted model's probabilities.
        analysis = analyse(q)
        _, t_sc = timed(lambda q=q, a=analysis, c=cands: score_candidates(
            engine, q, a, c, model=model))
        engine.clear_caches()  # else the stages above would have fetched its records
        _, t_chain = timed(lambda q=q: engine_chain.invoke({"query": q}))  # vector cached
        top1.append(d[0][1] if d else float("nan"))
        total = t_d + t_l + t_f + t_g + t_sc
        for name, value in zip(SEARCH_STAGES, (t_d, t_l, t_f, t_g, t_sc, total, t_chain),
                               strict=True):
            stages[name].append(value * 1000)
    row: dict[str, Any] = {
        "name": f"search-only-{size}", "chunks": store.count(), **written,
        "basis_sentences": len(basis_texts), "basis_real_sentences": n_real,
        "basis_embed_s": round(t_basis, 2),
        "lexical_build_s": round(t_lex_build, 2), "questions": len(questions),
        "first_query_ms": round(t_first * 1000, 2),
        "top1_similarity_p50": round(percentile(top1, 50) or float("nan"), 3),
        **percentiles_ms("embed", embed_ms),
    }
    assert first_query  # the store answers
    for name in SEARCH_STAGES:
        row.update(percentiles_ms(name, stages[name]))
    row.update(peak_rss_mb=round(peak_rss_mb()), rss_mb=round(rss_mb()),
               load_avg_1m=round(os.getloadavg()[0], 2),
               vectors=vector_note(n_real, len(basis_texts) - n_real))
    return row


def print_search_table(rows: list[dict[str, Any]]) -> None:
    """One line per stage: p50 and p95 in ms, one column pair per size."""
    head = ["stage"] + [f"{r['chunks']} p50/p95" for r in rows]
    lines = [head] + [
        [name] + [f"{r[f'{name}_p50_ms']}/{r[f'{name}_p95_ms']}" for r in rows]
        for name in ("embed", *SEARCH_STAGES)
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths, strict=True))))
    for r in rows:
        print(f"{r['chunks']} chunks, {r['sentences']} sentences: write {r['write_s']} s "
              f"(batches of {r['write_batch']}), BM25 build {r['lexical_build_s']} s, "
              f"peak RSS {r['peak_rss_mb']} MB, top-1 similarity p50 {r['top1_similarity_p50']}")
    print("(search only, ms; total_minus_embed = sum of the stages above it; chain_minus_embed ="
          " the production retrieval chain, query vector cached, chunk-record cache emptied)")
    for r in rows[:1]:
        print(r["vectors"])


