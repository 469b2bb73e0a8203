"""``python -m evals.bench``: indexing throughput, query latency, memory and start-up by size.

Synthetic corpora (``evals.bench_synthetic``: prose from a Markov chain trained on the real
corpus, as many ~50-chunk documents with sections) are written to a temp dir and indexed by the
real pipeline. A row for the real corpus comes first; ``--search-sizes`` and ``--lexical-sizes``
time the search side alone at larger sizes (``evals.bench_search``); every run starts with the
process start-up times (``evals.bench_startup``; ``--startup-only`` stops there). Figures go to
a table on stdout and, with ``--json``, to a file. Percentiles (p50, p95) interpolate linearly
between the nearest ranks (``evals.metrics.percentile``). Nothing here asserts a speed: it
measures.

The stages are timed through the lower-level API the README documents: ``OpenedIndex`` (its
``embedder``, ``store``, ``lexical``, ``records``, ``sentences``, ``clear_caches``),
``ChromaStore`` methods, ``qa.retrieval.hybrid`` (``fuse_rankings``, ``build_chain``) and the
answer stage's ``extractive_answer``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.bench_search import bench_lexical, bench_search_only, print_search_table
from evals.bench_startup import measure_startup, print_startup
from evals.bench_synthetic import (
    CORPUS,
    REPO,
    Markov,
    corpus_texts,
    revise_a_paragraph,
    write_synthetic,
)
from evals.bench_timing import peak_rss_mb, percentiles_ms, rss_mb, timed

PRIMARY_QUESTION = "Who was appointed special envoy to manage the war's resolution?"
RAW_SAMPLE = 500  # raw encode throughput is a rate: measured on up to this many chunks
# Every figure a corpus row carries (tests check the JSON holds them all).
FIGURES = (
    "documents", "chunks", "sentences", "index_s", "index_chunks_per_s",
    "raw_encode_chunks_per_s", "index_over_raw_chunks", "reindex_one_s", "reindex_changed",
    "reindex_next_answer_s", "reindex_in_place",
    "reindex_embedded", "embed_p50_ms", "embed_p95_ms", "dense_chunks_p50_ms",
    "dense_chunks_p95_ms", "lexical_p50_ms", "lexical_p95_ms",
    "fusion_p50_ms", "fusion_p95_ms", "answer_p50_ms", "answer_p95_ms", "ask_p50_ms",
    "ask_p95_ms", "bare_p50_ms", "ask_minus_embed_p50_ms", "ask_minus_embed_p95_ms",
    "ask_over_bare", "cold_start_s", "cold_import_s", "cold_first_answer_s", "peak_rss_mb",
    "rss_mb",
)



# --- a corpus, indexed and asked ------------------------------------------------------


def stored_texts(engine: Any, limit: int, seed: int = 1) -> list[str]:
    """A random sample of the chunk texts exactly as they were embedded."""
    chunks = [doc for _, doc, _ in engine.store.iter_chunks()]
    return random.Random(seed).sample(chunks, min(limit, len(chunks)))


def stored_sentence_count(engine: Any) -> int:
    return sum(len(json.loads(str(m.get("quotes") or "[]")))
               for _, _, m in engine.store.iter_chunks())


def questions_for(engine: Any, n: int, seed: int = 3) -> list[str]:
    """Questions made of a few content words of stored sentences (so the lexical and dense
    searches both find something), plus the real corpus's example question."""
    from qa.index.lexical import STOPWORDS
    from qa.ingest.chunking import split_sentences

    rng = random.Random(seed)
    sentences = [c[a:b] for c in stored_texts(engine, max(50, n), seed=seed)
                 for a, b in split_sentences(c)[:1]]
    out = [PRIMARY_QUESTION]
    for s in sentences:
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", s) if w.lower() not in STOPWORDS]
        if len(words) >= 4:
            start = rng.randrange(0, len(words) - 3)
            out.append("What about " + " ".join(words[start : start + rng.randint(3, 6)]) + "?")
        if len(out) >= n:
            break
    return out


def measure_queries(engine: Any, settings: Any, questions: list[str]) -> dict[str, Any]:
    """Per-stage latencies over ``questions`` (each stage timed by calling the engine's parts)."""
    import qa
    from qa.answer.common import to_passage
    from qa.answer.extractive import extractive_answer
    from qa.retrieval.hybrid import POOL, fuse_rankings
    from qa.retrieval.questions import prepare

    stages: dict[str, list[float]] = defaultdict(list)
    qa.ask(questions[0], settings=settings)  # warm: model session, store handles, caches
    for q in questions:
        prepared = prepare(q, None, settings.max_question_chars)
        query = prepared.query
        vector, t_embed = timed(lambda query=query: engine.embedder.encode([query])[0])
        hits, t_chunks = timed(lambda v=vector: engine.store.query_chunks(v, POOL))
        # a bare retriever: one Chroma query for the passages, Chroma's default include
        _, t_bare_query = timed(lambda v=vector: engine.store.query_records(v, settings.top_k))
        lexical, t_lex = timed(lambda query=query: engine.lexical.search(query, POOL))
        results = {
            "dense": hits,
            "lexical": lexical,
            "passthrough": {"query": query, "vector": vector},
        }
        candidates, t_fuse = timed(lambda r=results: fuse_rankings(engine, r))
        passages = [to_passage(engine, c) for c in candidates[: settings.top_k]]
        engine.embedder.clear_query_cache()  # the answer step embeds the query itself
        _, t_answer = timed(
            lambda p=prepared, c=candidates, ps=passages: extractive_answer(engine, p, c, ps)
        )
        engine.embedder.clear_query_cache()
        _, t_ask = timed(lambda q=q: qa.ask(q, settings=settings))
        for name, value in (
            ("embed", t_embed), ("dense_chunks", t_chunks), ("lexical", t_lex),
            ("fusion", t_fuse), ("answer", t_answer), ("ask", t_ask),
            ("bare", t_embed + t_bare_query), ("ask_minus_embed", t_ask - t_embed),
        ):
            stages[name].append(value * 1000)
    out: dict[str, Any] = {"questions": len(questions)}
    for name, values in stages.items():
        out.update(percentiles_ms(name, values))
    out["ask_over_bare"] = round(out["ask_p50_ms"] / out["bare_p50_ms"], 2)
    return out


def cold_start(settings: Any, question: str) -> dict[str, float]:
    """A new process, an existing index: seconds from spawn to the first answer."""
    code = (
        "import time; t0 = time.perf_counter(); import qa; t1 = time.perf_counter(); "
        f"a = qa.ask({question!r}); t2 = time.perf_counter(); "
        "print(round(t1 - t0, 3), round(t2 - t1, 3), a.abstained)"
    )
    env = {
        **os.environ, "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1",
    }
    if settings.chroma_url:
        env["QA_CHROMA_URL"] = settings.chroma_url
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"cold start failed: {proc.stderr[-1000:]}")
        imp, first, _ = proc.stdout.split()
        runs.append((wall, float(imp), float(first)))
    wall, imp, first = min(runs)
    return {"cold_start_s": round(wall, 2), "cold_import_s": imp, "cold_first_answer_s": first}


def warm_up(corpus: Path, workdir: Path) -> None:
    """Index the corpus's smallest document once, untimed: the process's first index pays
    for imports (Chroma, LangChain) and model loads, which are start-up, not throughput
    (the cold start is measured on its own, in a new process)."""
    import qa
    from qa.config import Settings

    smallest = min((p for p in corpus.iterdir() if p.suffix in (".md", ".txt")),
                   key=lambda p: p.stat().st_size)
    folder = workdir / "warm-up"
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    shutil.copy2(smallest, folder / "corpus" / smallest.name)
    qa.reindex(Settings.from_env(env={}, corpus_dir=folder / "corpus",
                                 index_dir=folder / "index"), full=True, progress=False)


def bench_corpus(
    name: str, corpus: Path, workdir: Path, n_questions: int, *, reuse: bool = False
) -> dict[str, Any]:
    """Index ``corpus`` from scratch and measure everything for it (with ``reuse``, an index
    left in ``workdir`` by an earlier run is kept and the indexing figures are skipped)."""
    import qa
    from qa.config import Settings
    from qa.index.generations import IndexLocation
    from qa.index.opened import OpenedIndex, open_index

    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=workdir / f"index-{name}")
    row: dict[str, Any] = {"name": name}
    location = IndexLocation(settings)
    if reuse and location.current() is not None:
        engine = open_index(settings)
        info = qa.corpus_info(settings)
        row.update(documents=len(info.documents), chunks=info.chunks,
                   sentences=stored_sentence_count(engine), reused_index=True)
    else:
        warm_up(corpus, workdir)
        report, t_index = timed(lambda: qa.reindex(settings, full=True, progress=False))
        engine = open_index(settings)
        row.update(
            documents=report.documents, chunks=report.chunks,
            sentences=stored_sentence_count(engine), index_s=round(t_index, 2),
            index_chunks_per_s=round(report.chunks / t_index, 1),
        )
        # The ceiling: the model's own encode of the same chunk texts, in this process.
        # (Indexing runs the model once per chunk; its sentences' vectors come from that pass.)
        chunk_texts = stored_texts(engine, RAW_SAMPLE)
        _, t_raw = timed(lambda: engine.embedder.encode(chunk_texts, batch_size=64))
        raw = len(chunk_texts) / t_raw
        row.update(
            raw_encode_chunks_per_s=round(raw, 1),
            index_over_raw_chunks=round(report.chunks / t_index / raw, 3),
            raw_sample_chunks=len(chunk_texts),
        )
    # re-index after changing one document of many
    victim = sorted(p for p in corpus.iterdir() if p.suffix in (".md", ".txt"))[-1]
    victim.write_text(revise_a_paragraph(victim.read_text(encoding="utf-8")), encoding="utf-8")
    before = location.current()
    report2, t_re = timed(lambda: qa.reindex(settings, progress=False))
    # the next question opens the new revision (BM25 patched or rebuilt, records re-read)
    _, t_next = timed(lambda: qa.ask(PRIMARY_QUESTION, settings=settings))
    row.update(reindex_one_s=round(t_re, 2), reindex_changed=len(report2.changed_sources),
               reindex_embedded=report2.added, reindex_in_place=location.current() == before,
               reindex_next_answer_s=round(t_next, 2))
    engine = open_index(settings)
    # opening an index: the store, its checks and the saved lexical index
    generation = engine.generation
    assert generation is not None
    _, t_open = timed(lambda: OpenedIndex.open(settings, generation, engine.manifest))
    row["engine_open_s"] = round(t_open, 2)
    row.update(measure_queries(engine, settings, questions_for(engine, n_questions)))
    row.update(cold_start(settings, PRIMARY_QUESTION))
    row.update(peak_rss_mb=round(peak_rss_mb()), rss_mb=round(rss_mb()),
               load_avg_1m=round(os.getloadavg()[0], 2))
    return row


def machine() -> dict[str, Any]:
    import psutil

    info: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from qa.index.embedder import shared_embedder

    info["embed_backend"] = shared_embedder().backend
    return info


COLUMNS = [
    ("name", "corpus"), ("chunks", "chunks"), ("sentences", "sents"),
    ("index_chunks_per_s", "idx ch/s"), ("raw_encode_chunks_per_s", "raw ch/s"),
    ("index_over_raw_chunks", "idx/raw"), ("reindex_one_s", "reidx1 s"),
    ("reindex_next_answer_s", "next s"),
    ("embed_p50_ms", "embed"), ("dense_chunks_p50_ms", "dense"), ("lexical_p50_ms", "lex"),
    ("fusion_p50_ms", "fuse"),
    ("answer_p50_ms", "answer"), ("ask_p50_ms", "ask p50"), ("ask_p95_ms", "ask p95"),
    ("ask_minus_embed_p50_ms", "ask-emb"), ("ask_over_bare", "ask/bare"),
    ("cold_start_s", "cold s"), ("peak_rss_mb", "peakMB"),
]


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = [(k, h) for k, h in COLUMNS if any(k in r for r in rows)]
    cells = [[h for _, h in cols]] + [[str(r.get(k, "")) for k, _ in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    for line in cells:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
    print("(latencies are p50 in ms; fuse includes ranking the candidates by their stored"
          " sentences; idx/raw = indexing chunks/s over the model's raw encode of the same chunks)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="synthetic corpus sizes in chunks, comma-separated")
    parser.add_argument("--lexical-sizes", default="",
                        help="sizes at which to benchmark BM25 alone (no embedding), e.g. 100000")
    parser.add_argument("--search-sizes", default="",
                        help="sizes at which to time the search side alone over a real Chroma store"
                        " of synthetic chunks with synthetic vectors (no corpus embedding)")
    parser.add_argument("--search-questions", type=int, default=100,
                        help="evaluation-set questions per --search-sizes size")
    parser.add_argument("--questions", type=int, default=20, help="questions per corpus")
    parser.add_argument("--no-real", action="store_true", help="skip the real-corpus row")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here")
    parser.add_argument("--reuse", action="store_true",
                        help="with --workdir: keep corpora and indexes an earlier run left there "
                        "(no indexing figures; re-index, queries, memory and cold start only)")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure the start-up times (python -c pass, import qa, "
                        "python -m qa --help) and stop")
    parser.add_argument("--startup-runs", type=int, default=5,
                        help="new processes per start-up command (the best one counts)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    lexical_sizes = [int(s) for s in args.lexical_sizes.split(",") if s.strip()]
    search_sizes = [int(s) for s in args.search_sizes.split(",") if s.strip()]

    rows: list[dict[str, Any]] = []
    search_rows: list[dict[str, Any]] = []
    # First, while this process is idle (nothing it loads competes with the new processes).
    startup = measure_startup(max(1, args.startup_runs))
    result: dict[str, Any] = {"machine": machine(), "startup": startup, "rows": rows}
    if search_sizes:
        result["search_only"] = search_rows

    def flush() -> None:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")

    if args.startup_only:
        print_startup(startup)
        flush()
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    try:
        if not args.no_real:
            real = workdir / "corpus-real"
            shutil.copytree(CORPUS, real, dirs_exist_ok=True)
            rows.append(bench_corpus("real", real, workdir, args.questions, reuse=args.reuse))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            flush()
        chain = Markov(corpus_texts())
        for size in sizes:
            corpus = workdir / f"corpus-{size}"
            t_gen = None
            if not (args.reuse and corpus.is_dir()):
                shutil.rmtree(corpus, ignore_errors=True)
                _, t_gen = timed(lambda s=size, c=corpus: write_synthetic(c, s, chain))
            row = bench_corpus(f"synth-{size}", corpus, workdir, args.questions,
                               reuse=args.reuse)
            if t_gen is not None:
                row["generate_s"] = round(t_gen, 2)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            flush()
        for size in lexical_sizes:
            rows.append(bench_lexical(size, chain, args.questions))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            flush()
        for size in search_sizes:
            search_rows.append(bench_search_only(size, chain, args.search_questions, workdir))
            print(json.dumps(search_rows[-1]), file=sys.stderr, flush=True)
            flush()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"machine: {json.dumps(result['machine'])}")
    print_startup(startup)
    if any("ask_p50_ms" in r for r in rows):
        print_table([r for r in rows if "ask_p50_ms" in r])
    if search_rows:
        print_search_table(search_rows)
    for r in rows:
        if r["name"].startswith("lexical-"):
            print(json.dumps(r))
    flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
