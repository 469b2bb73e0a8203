"""Server mode: a real ``chroma run`` holds the index; separate processes share it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PRIMARY, REPO, chroma_server

pytestmark = pytest.mark.slow

SECOND = "wh_black_sea_expert_group_outcomes_2025-03-25.md"
QUESTION = "Who was appointed special envoy to manage the war's resolution?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server on a free loopback port, stopped after the module."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(scope="module")
def server_settings(
    chroma_url: str, session_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> object:
    """Settings indexing two documents of the corpus into the server."""
    from qa import Settings, reindex

    corpus = tmp_path_factory.mktemp("server-corpus")
    for name in (PRIMARY, SECOND):
        for path in session_corpus.glob(name + "*"):
            shutil.copy2(path, corpus / path.name)
    s = Settings.from_env(
        env={}, corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("server-index"),
        chroma_url=chroma_url,
    )
    report = reindex(s, progress=False)
    assert report.documents == 2 and report.added == report.chunks > 0
    return s


def _server_state(settings: object) -> tuple[object, int, int]:
    """(manifest revision, chunk count, sentence count) read straight from the server."""
    from qa.index.embedder import LangChainEmbeddings, shared_embedder
    from qa.index.sentence_vectors import unpack_sentences
    from qa.index.store import (
        ChromaStore,
        chroma_client,
        manifest_collections,
        read_server_manifest,
    )

    client = chroma_client(settings.chroma_url, None)  # type: ignore[attr-defined]
    manifest = read_server_manifest(client) or {}
    store = ChromaStore(client, LangChainEmbeddings(shared_embedder()),
                        collection=manifest_collections(manifest)["chunks"], create=False)
    sentences = sum(
        len(unpack_sentences(c, str(meta["text"]), meta)) for c, _, meta in store.iter_chunks()
    )
    return manifest.get("revision"), store.count(), sentences


def test_collections_live_on_the_server(server_settings: object) -> None:
    import chromadb

    from qa.index.manifest import read_live_manifest

    s = server_settings
    url = s.chroma_url  # type: ignore[attr-defined]
    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    names = {c.name for c in client.list_collections()}
    manifest = read_live_manifest(s)  # type: ignore[arg-type]
    assert manifest is not None
    build = manifest["build"]
    # the live build's collections, named in the manifest; nothing of the old fixed layout
    assert manifest["collections"] == {"chunks": f"qa_chunks_{build}",
                                       "sources": f"qa_sources_{build}",
                                       "records": f"qa_records_{build}"}
    assert {"qa_manifest", *manifest["collections"].values()} <= names
    assert "qa_chunks" not in names
    revision, chunks, sentences = _server_state(s)
    assert isinstance(revision, int) and revision >= 1
    assert sentences > chunks > 0
    # nothing of Chroma's own, nor the record manager, is written under the index directory
    assert not list(Path(s.index_dir).rglob("chroma.sqlite3"))  # type: ignore[attr-defined]
    assert not list(Path(s.index_dir).rglob("records.sqlite"))  # type: ignore[attr-defined]


def test_ask_cites_valid_offsets_from_the_server(server_settings: object) -> None:
    import qa

    s = server_settings
    answer = qa.ask(QUESTION, settings=s)  # type: ignore[arg-type]
    assert not answer.abstained
    assert "Kellogg" in answer.text
    assert answer.citations
    for c in answer.citations:
        assert qa.source_text(c.source, settings=s)[c.start : c.end] == c.quote  # type: ignore[arg-type]
    passages = qa.retrieve("Black Sea navigation safety", k=5, settings=s)  # type: ignore[arg-type]
    assert passages and any(p.source == SECOND for p in passages)
    for p in passages:
        assert qa.source_text(p.source, settings=s)[p.start : p.end] == p.text  # type: ignore[arg-type]


def test_store_reads_by_chunk_id_filter(server_settings: object) -> None:
    """Records fetched by id over HTTP carry their sentences' vectors."""
    from qa.index.opened import open_index

    engine = open_index(server_settings, ensure_fresh=False)  # type: ignore[arg-type]
    ids = [chunk_id for chunk_id, _, _ in engine.store.iter_chunks()][:3]
    assert len(ids) == 3
    assert set(engine.store.get_chunks(ids)) == set(ids)
    sentences = [s for group in engine.sentences(ids).values() for s in group]
    assert sentences and {s.chunk_id for s in sentences} <= set(ids)  # a title chunk has none
    assert all(s.vector.shape == (384,) and abs(float(s.vector @ s.vector) - 1) < 1e-3
               for s in sentences)
    records = engine.records(ids)
    assert all(s.text in records[s.chunk_id][0] for s in sentences)


def test_second_process_answers_without_reindexing(server_settings: object) -> None:
    s = server_settings
    before = _server_state(s)
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(s.corpus_dir),  # type: ignore[attr-defined]
        "QA_INDEX_DIR": str(s.index_dir),  # type: ignore[attr-defined]
        "QA_CHROMA_URL": s.chroma_url,  # type: ignore[attr-defined]
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "qa", "ask", QUESTION, "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert not data["abstained"] and "Kellogg" in data["text"]
    assert "embedding" not in proc.stderr  # no progress of an index sync
    assert _server_state(s) == before  # same revision, same collections
