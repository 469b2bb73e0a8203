"""Server mode with several workers (issue 13, item 3), against a real ``chroma run``.

Rebuilds under readers, the sync state on the server (a worker with an empty index directory
updates the shared index), one writer at a time across "hosts" (a lease with a fencing token),
and readers' errors as ``QAError``s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import qa
from app.launcher import free_port
from tests.conftest import PRIMARY, REPO, chroma_server

pytestmark = pytest.mark.slow

SECOND = "wh_black_sea_expert_group_outcomes_2025-03-25.md"
QUESTION = "Who was appointed special envoy to manage the war's resolution?"
SUMMARY = re.compile(r"indexed (\d+) documents, (\d+) chunks \((\d+) embedded, (\d+) removed")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(scope="module")
def corpus(session_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("server-mode-corpus")
    for name in (PRIMARY, SECOND):
        for path in session_corpus.glob(name + "*"):
            shutil.copy2(path, root / path.name)
    return root


def _settings(chroma_url: str, corpus: Path, index_dir: Path, **kw: Any) -> qa.Settings:
    return qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=index_dir,
                                chroma_url=chroma_url, **kw)


def _env(s: qa.Settings, index_dir: Path) -> dict[str, str]:
    return {**os.environ, "QA_CORPUS_DIR": str(s.corpus_dir), "QA_INDEX_DIR": str(index_dir),
            "QA_CHROMA_URL": str(s.chroma_url), "HF_HUB_OFFLINE": "1"}


def _client(s: qa.Settings) -> Any:
    from qa.index.store import chroma_client

    return chroma_client(s.chroma_url, None)


def _collections(s: qa.Settings) -> set[str]:
    return {c.name for c in _client(s).list_collections()}


def _manifest(s: qa.Settings) -> dict[str, Any]:
    from qa.index.store import read_server_manifest

    manifest = read_server_manifest(_client(s))
    assert manifest is not None
    return manifest


def _consistent(s: qa.Settings) -> dict[str, Any]:
    """The server's index passes the writer's own checks (counts of chunks, records)."""
    from qa.index.embedder import LangChainEmbeddings, shared_embedder
    from qa.index.sync import _verify_server

    verdict = _verify_server(s, LangChainEmbeddings(shared_embedder()))
    assert isinstance(verdict, dict), verdict
    return verdict


@pytest.fixture(scope="module")
def shared(chroma_url: str, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    s = _settings(chroma_url, corpus, tmp_path_factory.mktemp("host-a"))
    report = qa.reindex(s, progress=False)
    assert report.documents == 2 and report.rebuilt and report.added == report.chunks > 0
    return s


READER = r"""
import json, sys, time, traceback
from pathlib import Path
import qa
from qa.index.opened import open_index
stop, out = Path(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
settings = qa.Settings.from_env()
while not stop.exists():
    try:
        answer = qa.ask(sys.argv[3], settings=settings)
        c = answer.citations[0] if answer.citations else None
        row = {"ok": True, "quote": c and c.quote, "source": c and c.source,
               "start": c and c.start, "abstained": answer.abstained,
               "build": open_index(settings, ensure_fresh=False).manifest.get("build")}
    except BaseException as exc:
        row = {"ok": False, "error": type(exc).__name__, "qa": isinstance(exc, qa.QAError),
               "message": str(exc)[:300], "trace": traceback.format_exc()[-1500:]}
    out.write(json.dumps(row) + "\n")
    time.sleep(0.05)
"""


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_rebuild_under_readers_switches_atomically(shared: qa.Settings, tmp_path: Path) -> None:
    """Two reader processes ask throughout two server rebuilds by a third: no error, and the
    same cited sentence every time; each rebuild switches with one manifest write and the
    build before the previous one is dropped after the switch."""
    expected = qa.ask(QUESTION, settings=shared)
    assert not expected.abstained and expected.citations
    first = expected.citations[0]
    builds = [_manifest(shared)["build"]]
    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader{i}.jsonl" for i in range(2)]
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(stop), str(log), QUESTION],
                         cwd=REPO, env=_env(shared, tmp_path / f"reader{i}-index"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for i, log in enumerate(logs)
    ]
    try:
        _wait_for(lambda: all(len(_rows(log)) >= 2 for log in logs), 180, "readers to answer")
        for n in range(2):
            seen = sum(len(_rows(log)) for log in logs)
            writer = subprocess.run(
                [sys.executable, "-m", "qa", "index", "--rebuild", "--quiet"], cwd=REPO,
                env=_env(shared, tmp_path / "writer-index"), capture_output=True, text=True,
                timeout=600,
            )
            assert writer.returncode == 0, writer.stderr
            assert "full rebuild" in writer.stdout
            assert sum(len(_rows(log)) for log in logs) > seen + 4  # asked during the rebuild
            builds.append(_manifest(shared)["build"])
            assert builds[-1] != builds[-2]
            _wait_for(lambda: all(r.get("build") == builds[-1] for log in logs  # noqa: B023
                                  for r in _rows(log)[-1:]), 60, "readers to switch")
            names = _collections(shared)
            for kind in ("chunks", "sources", "records"):
                assert f"qa_{kind}_{builds[-1]}" in names  # the new build ...
                assert f"qa_{kind}_{builds[-2]}" in names  # ... and the previous one, kept
                if n == 1:
                    assert f"qa_{kind}_{builds[0]}" not in names  # older: dropped after it
    finally:
        stop.touch()
        for proc in readers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    rows = [r for log in logs for r in _rows(log)]
    errors = [r for r in rows if not r["ok"]]
    assert not errors, errors[:3]
    wrong = [r for r in rows if (r["quote"], r["source"], r["start"]) != (
        first.quote, first.source, first.start)]
    assert not wrong, wrong[:3]
    assert {r["build"] for r in rows} >= set(builds[1:])  # readers followed both switches
    assert len(rows) >= 20
    _consistent(shared)


def test_worker_with_empty_index_dir_updates_incrementally(
    shared: qa.Settings, tmp_path: Path
) -> None:
    """The record manager lives on the server: a worker with an empty ``QA_INDEX_DIR`` edits
    one line and its ``qa index`` embeds only the changed chunks, without a rebuild."""
    before = _consistent(shared)
    chunks = sum(int(d["chunks"]) for d in before["documents"].values())
    path = shared.corpus_dir / SECOND
    text = path.read_text(encoding="utf-8")
    at = text.rindex("agreements made in Riyadh.") + len("agreements made in Riyadh.")
    path.write_text(text[:at] + " The delegations met again in Jeddah." + text[at:],
                    encoding="utf-8")  # one line of the body, edited
    empty = tmp_path / "host-b"
    assert not empty.exists()
    proc = subprocess.run([sys.executable, "-m", "qa", "index", "--quiet"], cwd=REPO,
                          env=_env(shared, empty), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "repaired" not in proc.stdout and "full rebuild" not in proc.stdout, proc.stdout
    assert "record manager" not in proc.stdout + proc.stderr
    found = SUMMARY.search(proc.stdout)
    assert found, proc.stdout
    documents, total, added, removed = map(int, found.groups())
    assert documents == 2 and f"updated: {SECOND}" in proc.stdout
    assert 1 <= added <= 3 and removed <= 3 and added < total / 5, proc.stdout
    after = _consistent(shared)
    assert after["build"] == before["build"] and after["revision"] == before["revision"] + 1
    assert abs(sum(int(d["chunks"]) for d in after["documents"].values()) - chunks) <= 3
    assert not list(empty.rglob("*.sqlite"))  # the sync state is not on this host
    # ... and every worker answers from the updated index
    passages = qa.retrieve("delegations met again in Jeddah", k=3, settings=shared)
    assert any("Jeddah" in p.text and p.source == SECOND for p in passages)


def test_two_writers_on_two_hosts_take_turns(shared: qa.Settings, tmp_path: Path) -> None:
    """Two ``qa index --rebuild`` on two hosts started together: the lease lets one write
    while the other waits, saying so; each switch is whole and the index ends consistent."""
    token_before = int(_manifest(shared)["writer"]["token"])
    procs = [
        subprocess.Popen([sys.executable, "-m", "qa", "index", "--rebuild", "--quiet"],
                         cwd=REPO, env=_env(shared, tmp_path / f"host-{i}"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    results = [p.communicate(timeout=900) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "full rebuild" in out
    waited = [err for _, err in results if "another writer holds the index lease" in err]
    assert len(waited) == 1, [err for _, err in results]
    manifest = _consistent(shared)
    assert int(manifest["writer"]["token"]) == token_before + 2  # two leases, one after the other
    builds = {n.rsplit("_", 1)[1] for n in _collections(shared) if n.startswith("qa_chunks_")}
    assert manifest["build"] in builds and len(builds) == 2  # the live one and the previous
    answer = qa.ask(QUESTION, settings=shared)
    assert not answer.abstained and "Kellogg" in answer.text


def test_busy_and_lost_lease_are_qa_errors(shared: qa.Settings, tmp_path: Path) -> None:
    from qa.index.lease import ServerLease, writer_lease
    from qa.index.sync import _switch, sync_index

    other = _settings(str(shared.chroma_url), shared.corpus_dir, tmp_path / "other",
                      index_lease_seconds=2)
    with writer_lease(other) as held:
        assert held is not None and held.token is not None
        # another host's writer that will not wait gets no lease, and says why
        me = ServerLease(shared)
        assert me.try_acquire() is None
        assert "another writer holds the index lease" in me.busy_message()
        assert sync_index(shared, wait=False) is None
    # a writer whose lease expired (it was paused) and was taken over cannot switch
    stalled = ServerLease(other)
    assert stalled.acquire(wait=False)
    stalled._stop.set()  # it stops renewing, as a paused process would
    time.sleep(2.5)
    taker = ServerLease(shared)
    assert taker.acquire(wait=False) and taker.token == (stalled.token or 0) + 1
    live = _manifest(shared)
    with pytest.raises(qa.QAError, match="lost the index lease"):
        _switch(shared, tmp_path, stalled, {**live, "revision": 999}, previous=None)
    assert _manifest(shared) == live  # nothing switched
    taker.release()
    stalled.release()


def test_collection_vanished_mid_question_is_retried(shared: qa.Settings) -> None:
    """A reader whose build's collection is dropped follows the manifest once; when the
    manifest names nothing usable, the error is a readable ``IndexUnavailableError``."""
    from qa.errors import IndexUnavailableError
    from qa.index.opened import open_index
    from qa.index.store import manifest_collections

    qa.ask(QUESTION, settings=shared)
    opened = open_index(shared, ensure_fresh=False)
    old = opened.store.collection
    # another worker rebuilds twice: the collections this reader opened are gone
    for _ in range(2):
        qa.reindex(shared.with_(index_dir=shared.index_dir.parent / "host-z"), full=True,
                   progress=False)
    assert old not in _collections(shared)
    probe = opened.embedder.encode_query(QUESTION)
    hits = opened.store.query_chunks(probe, 3)  # retried against the live build
    assert hits and opened.store.collection == manifest_collections(_manifest(shared))["chunks"]
    assert opened.store.get_chunks([c for c, _ in hits])
    answer = qa.ask(QUESTION, settings=shared)
    assert not answer.abstained and "Kellogg" in answer.text
    # the live build's chunk collection deleted behind everyone's back: a QAError, not chromadb's
    live = manifest_collections(_manifest(shared))["chunks"]
    _client(shared).delete_collection(live)
    with pytest.raises(IndexUnavailableError, match="vanished from the Chroma server"):
        opened.store.query_chunks(probe, 3)
    with pytest.raises(IndexUnavailableError, match="is not on the Chroma server"):
        qa.ask(QUESTION, settings=shared.with_(index_dir=shared.index_dir.parent / "fresh"))
    # the next sync repairs it (a new build), and questions are answered again
    report = qa.reindex(shared, progress=False)
    assert report.rebuilt and report.repaired and "missing" in report.repaired
    assert not qa.ask(QUESTION, settings=shared).abstained


def test_server_down_is_a_readable_qa_error(corpus: Path, tmp_path: Path) -> None:
    from qa.errors import IndexUnavailableError

    nowhere = _settings(f"http://127.0.0.1:{free_port()}", corpus, tmp_path / "none")
    with pytest.raises(IndexUnavailableError, match="cannot be reached"):
        qa.ask(QUESTION, settings=nowhere)
    with chroma_server(tmp_path / "short-lived") as url:
        s = _settings(url, corpus, tmp_path / "idx")
        qa.reindex(s, progress=False)
        assert not qa.ask(QUESTION, settings=s).abstained
    # the server stopped while this process had the index open
    with pytest.raises(qa.QAError) as err:
        qa.ask(QUESTION, settings=s)
    assert isinstance(err.value, IndexUnavailableError) and url in str(err.value)
