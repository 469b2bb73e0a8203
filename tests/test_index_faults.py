"""Index faults: deleted, half-built (SIGKILL), inconsistent or corrupt indexes are detected and
rebuilt; updates never write into an index another process reads (small ones are applied in
place when none does, and finished when cut off); concurrent writers and readers stay safe.

Each test uses a small corpus (two short documents) and real subprocesses where a crash or a
second process is the point.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import qa
from qa.index.generations import IndexLocation
from qa.index.locks import writer_lock
from qa.index.manifest import read_live_manifest
from qa.index.sync import _sync_locked
from tests.conftest import CORPUS, PRIMARY, REPO, copy_corpus, damage_pages, qa_env

pytestmark = pytest.mark.slow

SMALL = [
    "wh_black_sea_expert_group_outcomes_2025-03-25.md",
    "crs_IF12760_russia_north_korea_relations.md",
]
QUESTION = "What did the United States and Russia agree about the Black Sea?"


def _cli(settings: qa.Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa", *args], env=qa_env(settings), cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _check_answer(answer: qa.Answer, settings: qa.Settings) -> None:
    assert not answer.abstained, answer.text
    assert answer.citations
    for c in answer.citations:
        assert qa.source_text(c.source, settings=settings)[c.start : c.end] == c.quote


def _generations(settings: qa.Settings) -> list[Path]:
    return sorted(settings.index_dir.glob("gen-*"))


@pytest.fixture
def small(tmp_path: Path) -> qa.Settings:
    """Two short documents, indexed."""
    s = qa.Settings.from_env(env={}, corpus_dir=copy_corpus(SMALL, tmp_path / "corpus"),
                             index_dir=tmp_path / "index")
    report = qa.reindex(s, progress=False)
    assert report.documents == 2 and report.rebuilt
    return s


def _kill_when_embedding(settings: qa.Settings, *args: str) -> str:
    """Run ``python -m qa index ARGS``, SIGKILL it once it is embedding; return its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "index", *args], env=qa_env(settings), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    seen = b""
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    deadline = time.monotonic() + 240
    while b"embedding" not in seen:
        assert proc.poll() is None, f"indexing ended before it could be killed: {seen!r}"
        assert time.monotonic() < deadline
        seen += proc.stderr.read() or b""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return seen.decode(errors="replace")


def test_deleted_index_is_rebuilt_on_the_next_question(small: qa.Settings) -> None:
    shutil.rmtree(small.index_dir)
    answer = qa.ask(QUESTION, settings=small)
    _check_answer(answer, small)
    assert (small.index_dir / "CURRENT").is_file()


def test_sigkill_during_rebuild_leaves_the_old_index_answering(small: qa.Settings) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    before = read_live_manifest(small)
    _kill_when_embedding(small, "--rebuild")
    # The pointer and the live generation are untouched; the half-built one has no manifest.
    assert IndexLocation(small).current() == live
    assert read_live_manifest(small) == before
    debris = [g for g in _generations(small) if g != live]
    assert debris and all(not (g / "manifest.json").exists() for g in debris)
    # A new process answers from the old index without rebuilding it.
    out = _cli(small, "ask", QUESTION, "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert not answer["abstained"] and answer["citations"]
    assert IndexLocation(small).current() == live
    # The next writer removes the debris.
    report = qa.reindex(small, progress=False)
    assert report.added == 0
    assert _generations(small) == [live]


def _content(generation: Path) -> tuple[str, int]:
    """What a generation holds: its manifest and its number of chunks. (Chroma may rewrite its
    files when a process merely opens them, so file bytes are no evidence of an update.)"""
    from qa.index.store import chroma_client

    client = chroma_client(None, generation / "chroma")
    count = client.get_collection("qa_chunks", embedding_function=None).count()
    return (generation / "manifest.json").read_text(encoding="utf-8"), count


def test_sigkill_during_an_incremental_update_is_repaired(small: qa.Settings) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    files = _content(live)
    shutil.copy(CORPUS / PRIMARY, small.corpus_dir / PRIMARY)  # 69 chunks to embed
    _kill_when_embedding(small)
    assert IndexLocation(small).current() == live
    # The update never wrote into the live generation.
    assert _content(live) == files
    # The next question detects the stale index, finishes the update and answers from it.
    answer = qa.ask("Who was appointed special envoy to manage the war's resolution?",
                    settings=small)
    _check_answer(answer, small)
    assert any(c.source == PRIMARY for c in answer.citations)
    manifest = read_live_manifest(small)
    assert manifest is not None and PRIMARY in manifest["documents"]
    assert IndexLocation(small).current() != live
    assert all((g / "manifest.json").is_file() for g in _generations(small))


def test_incremental_update_builds_beside_a_generation_another_process_reads(
    small: qa.Settings,
) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    before = read_live_manifest(small)
    assert before is not None
    with _reader_process(small) as ask:
        assert ask()["key"][0] == str(live)  # another process holds the live generation
        (small.corpus_dir / "note.txt").write_text(NOTE, encoding="utf-8")
        report = qa.reindex(small, progress=False)
    assert report.changed_sources == ["note.txt"] and not report.rebuilt
    after = read_live_manifest(small)
    assert after is not None
    assert IndexLocation(small).current() != live
    assert after["build"] == before["build"] and after["revision"] == before["revision"] + 1
    assert json.loads((live / "manifest.json").read_text()) == before  # old one intact
    # A no-op sync changes nothing, not even the revision.
    again = qa.reindex(small, progress=False)
    assert again.added == 0 and read_live_manifest(small) == after
    # Removing the file removes its chunks in yet another generation.
    (small.corpus_dir / "note.txt").unlink()
    removed = qa.reindex(small, progress=False)
    assert removed.removed_sources == ["note.txt"] and removed.deleted > 0
    assert removed.chunks == report.chunks - after["documents"]["note.txt"]["chunks"]


NOTE = "The grain corridor note. Ships were inspected at Istanbul before sailing."
NOTE_Q = "Where were ships inspected before sailing?"


def test_small_update_is_applied_in_place_when_no_other_process_reads(small: qa.Settings) -> None:
    _check_answer(qa.ask(QUESTION, settings=small), small)  # this process reads the index
    live = IndexLocation(small).current()
    before = read_live_manifest(small)
    assert live is not None and before is not None
    (small.corpus_dir / "note.txt").write_text(NOTE, encoding="utf-8")
    report = qa.reindex(small, progress=False)
    assert report.changed_sources == ["note.txt"] and report.added == 1
    after = read_live_manifest(small)
    assert after is not None and IndexLocation(small).current() == live  # no copy
    assert after["revision"] == before["revision"] + 1 and "updating_in_place" not in after
    assert after["patch"]["removed"] == [] and len(after["patch"]["added"]) == 1
    answer = qa.ask(NOTE_Q, settings=small)
    _check_answer(answer, small)
    assert answer.citations[0].source == "note.txt"
    # BM25 was patched from the previous revision's index, not rebuilt
    lexical = live / f"lexical-{after['build']}-r{after['revision']}" / "lexical.json"
    assert [c for c, _ in json.loads(lexical.read_text())["added"]] == after["patch"]["added"]
    assert len(list(live.glob("lexical-*"))) == 1
    # removing it is in place too, and its chunk leaves every search
    (small.corpus_dir / "note.txt").unlink()
    removed = qa.reindex(small, progress=False)
    assert removed.removed_sources == ["note.txt"] and IndexLocation(small).current() == live
    assert all(p.source != "note.txt" for p in qa.retrieve(NOTE_Q, k=10, settings=small))


def test_in_place_update_cut_off_midway_is_finished_by_the_next_sync(
    small: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import langchain_core.indexing

    live = IndexLocation(small).current()
    (small.corpus_dir / "note.txt").write_text(NOTE, encoding="utf-8")
    (small.corpus_dir / "later.txt").write_text("Grain prices rose in May.", encoding="utf-8")
    real_index = langchain_core.indexing.index
    calls: list[int] = []

    def dies_on_second_document(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_index(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(langchain_core.indexing, "index", dies_on_second_document)
    with pytest.raises(qa.IndexBuildError):
        qa.reindex(small, progress=False)
    monkeypatch.setattr(langchain_core.indexing, "index", real_index)
    cut = read_live_manifest(small)
    assert cut is not None and set(cut["updating_in_place"]["sources"]) == {
        "later.txt", "note.txt"}
    assert qa.index_status(small) == "stale"
    # the next question finishes the update in the same generation and answers from it
    answer = qa.ask(NOTE_Q, settings=small)
    _check_answer(answer, small)
    assert answer.citations[0].source == "note.txt"
    done = read_live_manifest(small)
    assert done is not None and "updating_in_place" not in done and "patch" not in done
    assert IndexLocation(small).current() == live
    assert {"note.txt", "later.txt"} <= set(done["documents"])
    assert qa.index_status(small) == "fresh"


def test_manifest_that_disagrees_with_the_collection_is_rebuilt(small: qa.Settings) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    manifest = json.loads((live / "manifest.json").read_text())
    name = next(iter(manifest["documents"]))
    manifest["documents"][name]["chunks"] += 5
    (live / "manifest.json").write_text(json.dumps(manifest))
    # A question notices (the engine checks counts) and repairs before answering.
    answer = qa.ask(QUESTION, settings=small)
    _check_answer(answer, small)
    repaired = read_live_manifest(small)
    assert repaired is not None and repaired["build"] != manifest["build"]
    # The same disagreement seen by `index` is reported as a repair.
    live = IndexLocation(small).current()
    assert live is not None
    data = json.loads((live / "manifest.json").read_text())
    data["revision"] += 1
    (live / "manifest.json").write_text(json.dumps(data))
    out = _cli(small, "index", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "repaired: manifest and collection revisions disagree" in out.stdout
    assert "full rebuild" in out.stdout


def test_corrupt_chroma_file_is_detected_and_rebuilt(small: qa.Settings) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    (live / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database\x00" * 4096)
    out = _cli(small, "ask", QUESTION, "--json")  # a fresh process: no cached Chroma client
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert not answer["abstained"] and answer["citations"]
    assert "rebuilding" in out.stderr
    assert IndexLocation(small).current() != live


def test_two_indexers_at_once_do_not_corrupt_the_index(tmp_path: Path) -> None:
    s = qa.Settings.from_env(env={}, corpus_dir=copy_corpus(SMALL, tmp_path / "corpus"),
                             index_dir=tmp_path / "index")
    procs = [
        subprocess.Popen([sys.executable, "-m", "qa", "index", "--quiet"], env=qa_env(s), cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    summaries = sorted(o[0] for o in outs)
    # One built the index; the other waited for the lock and found nothing left to do.
    assert sum("full rebuild" in o for o in summaries) == 1, summaries
    assert any("(0 embedded, 0 removed)" in o for o in summaries), summaries
    assert len(_generations(s)) == 1
    _check_answer(qa.ask(QUESTION, settings=s), s)


READER = """
import json, sys, time
import qa
from qa.index.opened import open_index
s = qa.Settings.from_env()
for line in sys.stdin:
    if line.strip() == "stop":
        break
    a = qa.ask(sys.argv[1], settings=s)
    ok = all(qa.source_text(c.source, settings=s)[c.start:c.end] == c.quote for c in a.citations)
    print(json.dumps({"key": list(open_index(s, ensure_fresh=False).key),
                      "abstained": a.abstained, "ok": ok}), flush=True)
"""


@contextmanager
def _reader_process(settings: qa.Settings) -> Iterator[Callable[[], dict[str, object]]]:
    """Another process answering from the index; ``ask()`` has it answer once more."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, QUESTION], env=qa_env(settings), cwd=REPO, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert reader.stdin is not None and reader.stdout is not None

    def ask() -> dict[str, object]:
        assert reader.stdin is not None and reader.stdout is not None
        reader.stdin.write("ask\n")
        reader.stdin.flush()
        line = reader.stdout.readline()
        assert line, reader.stderr.read() if reader.stderr else ""
        return dict(json.loads(line))

    try:
        yield ask
    finally:
        if reader.stdin:
            reader.stdin.write("stop\n")
            reader.stdin.close()
        reader.wait(timeout=60)


def test_reader_keeps_answering_while_another_process_publishes(small: qa.Settings) -> None:
    with _reader_process(small) as ask:
        first = ask()
        location = IndexLocation(small)
        with writer_lock(location.root):  # this process is now the writer
            (small.corpus_dir / "note.txt").write_text(
                "A note on shipping. Ships were inspected at Istanbul.", encoding="utf-8"
            )
            during = [ask() for _ in range(2)]  # the reader sees a stale index, cannot lock
            report = _sync_locked(small, location, rebuild=False, progress=False)
            assert report.changed_sources == ["note.txt"]
            during.append(ask())  # published, lock still held: the reader may switch now
        after = ask()
    for answer in [first, *during, after]:
        assert answer["ok"] and not answer["abstained"], answer
    assert during[0]["key"] == first["key"] and during[1]["key"] == first["key"]
    assert after["key"] != first["key"]
    assert after["key"][0] == str(IndexLocation(small).current())


# --- server mode: the manifest lives on the Chroma server -------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    chroma = Path(sys.executable).with_name("chroma")
    port = _free_port()
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server"),
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_server_mode_shares_one_manifest(tmp_path: Path, chroma_server: str) -> None:
    corpus = copy_corpus(SMALL[:1], tmp_path / "corpus")
    writer = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "a",
                                  chroma_url=chroma_server)
    report = qa.reindex(writer, progress=False)
    assert report.documents == 1
    # A second app process (its own index dir) reads the same manifest from the server ...
    other = writer.with_(index_dir=tmp_path / "b")
    manifest = read_live_manifest(other)
    assert manifest is not None and manifest["complete"]
    assert set(manifest["documents"]) == {SMALL[0]}
    assert manifest == read_live_manifest(writer)
    # ... so it answers without building anything itself.
    _check_answer(qa.ask(QUESTION, settings=other), other)
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").rglob("records.sqlite"))
    # An update by the writer is seen by the other process's next question.
    (corpus / "note.txt").write_text("Ships were inspected at Istanbul.", encoding="utf-8")
    qa.reindex(writer, progress=False)
    seen = read_live_manifest(other)
    assert seen is not None and "note.txt" in seen["documents"]
    assert seen["revision"] == manifest["revision"] + 1


def test_server_mode_unfinished_update_is_rebuilt(tmp_path: Path, chroma_server: str) -> None:
    s = qa.Settings.from_env(env={}, corpus_dir=copy_corpus(SMALL[:1], tmp_path / "corpus"),
                             index_dir=tmp_path / "idx", chroma_url=chroma_server)
    qa.reindex(s, progress=False)
    from qa.index.store import server_store

    manifest = read_live_manifest(s)
    assert manifest is not None
    server_store(s).write_manifest({**manifest, "complete": False})  # as a killed writer leaves it
    report = qa.reindex(s, progress=False)
    assert report.rebuilt and report.repaired == "an earlier update did not finish"
    fixed = read_live_manifest(s)
    assert fixed is not None and fixed["complete"] and fixed["build"] != manifest["build"]


def test_threads_asking_during_a_sync_are_not_blocked(small: qa.Settings) -> None:
    """A thread of the same process asks while another holds the writer lock."""
    qa.ask(QUESTION, settings=small)
    results: list[qa.Answer] = []
    with writer_lock(small.index_dir):
        (small.corpus_dir / "note.txt").write_text("Ships sail.", encoding="utf-8")
        worker = threading.Thread(target=lambda: results.append(qa.ask(QUESTION, settings=small)))
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive()
    assert results and not results[0].abstained


# --- issue 13: damage that panics, documents edited after indexing --------------------------


@pytest.mark.parametrize("command", ["ask", "status", "index"])
def test_random_page_damage_is_repaired_never_a_traceback(
    small: qa.Settings, command: str
) -> None:
    """Damaged pages make Chroma's Rust core panic (a BaseException); every command repairs."""
    live = IndexLocation(small).current()
    assert live is not None
    damage_pages(live / "chroma" / "chroma.sqlite3", seed=3)
    args = {"ask": ["ask", QUESTION, "--json"], "status": ["status"],
            "index": ["index", "--quiet"]}[command]
    out = _cli(small, *args)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert IndexLocation(small).current() != live  # rebuilt beside the damaged generation
    if command == "ask":
        answer = json.loads(out.stdout)
        assert not answer["abstained"] and answer["citations"]
    if command == "index":
        assert "repaired:" in out.stdout and "full rebuild" in out.stdout
    _check_answer(qa.ask(QUESTION, settings=small), small)


def test_random_page_damage_in_process_is_repaired(small: qa.Settings) -> None:
    live = IndexLocation(small).current()
    assert live is not None
    damage_pages(live / "chroma" / "chroma.sqlite3", seed=2)
    _check_answer(qa.ask(QUESTION, settings=small), small)  # no index open yet in this process
    assert IndexLocation(small).current() != live


def test_failure_while_answering_marks_the_index_for_repair(small: qa.Settings) -> None:
    from qa.index.opened import open_index

    index = open_index(small)
    build = index.manifest["build"]
    index.store.damaged = True  # as a panic in a query leaves it
    _check_answer(qa.ask(QUESTION, settings=small), small)
    assert open_index(small).manifest["build"] != build


def test_a_document_edited_after_indexing_is_cited_in_its_indexed_text(
    small: qa.Settings,
) -> None:
    s = small.with_(rescan_seconds=3600.0)  # no re-sync: the edit stays unindexed
    name = SMALL[0]
    first = qa.ask(QUESTION, settings=s)
    _check_answer(first, s)
    indexed = qa.source_text(name, settings=s)
    cited = [c for c in first.citations if c.source == name]
    assert cited
    path = s.corpus_dir / name
    raw = path.read_text(encoding="utf-8")
    at = raw.index(cited[0].quote)
    note = "EDITOR'S NOTE: This paragraph was added after indexing and must never be cited. "
    path.write_text(raw[:at] + note * 2 + raw[at:], encoding="utf-8")
    again = qa.ask(QUESTION, settings=s)
    assert [(c.quote, c.start, c.end) for c in again.citations] == [
        (c.quote, c.start, c.end) for c in first.citations
    ]
    for c in again.citations:
        assert "EDITOR" not in c.quote
        assert qa.source_text(c.source, settings=s)[c.start : c.end] == c.quote
    assert qa.source_text(name, settings=s) == indexed  # the indexed version, consistent
    from qa.index.opened import open_index

    index = open_index(s, ensure_fresh=False)
    assert index.changed_since_indexing(name)
    assert not index.changed_since_indexing(SMALL[1])
    # A sync picks the edit up; the new text and its offsets then agree again.
    qa.reindex(s, progress=False)
    fresh = qa.ask(QUESTION, settings=s)
    _check_answer(fresh, s)
    assert note in qa.source_text(name, settings=s)


def test_a_document_edited_during_a_rebuild_is_cited_as_indexed(small: qa.Settings) -> None:
    """The file changes after the sync read it but before it published: citations show the
    text that was chunked, not the edited file at the old offsets."""
    import qa.index.sync as sync

    name = SMALL[0]
    path = small.corpus_dir / name
    original = path.read_text(encoding="utf-8")
    real_update = sync._update

    def edit_then_update(*args: object, **kwargs: object) -> object:
        path.write_text("EDITOR'S NOTE: added mid-rebuild. " * 6 + original, encoding="utf-8")
        return real_update(*args, **kwargs)  # type: ignore[arg-type]

    sync._update = edit_then_update  # type: ignore[assignment]
    try:
        qa.reindex(small, full=True, progress=False)
    finally:
        sync._update = real_update
    s = small.with_(rescan_seconds=3600.0)
    answer = qa.ask(QUESTION, settings=s)
    for c in answer.citations:
        assert "EDITOR" not in c.quote
        assert qa.source_text(c.source, settings=s)[c.start : c.end] == c.quote
    # Whichever version the index now holds (a later scan may index the edit), source_text
    # is that indexed version, stored by its content hash.
    manifest = read_live_manifest(s)
    live = IndexLocation(s).current()
    assert manifest is not None and live is not None
    stored = live / "sources" / f"{manifest['documents'][name]['sha256']}.txt"
    assert qa.source_text(name, settings=s) == stored.read_text(encoding="utf-8")


# --- issue 13: a full disk during a small in-place update ---------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[qa.Settings]:
    """Two documents indexed on a real 24 MB tmpfs (skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        s = qa.Settings.from_env(env={}, corpus_dir=copy_corpus(SMALL, tmp_path / "corpus"),
                                 index_dir=mount / "index")
        qa.reindex(s, progress=False)
        yield s
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(where: Path) -> Path:
    """Fill the filesystem of ``where`` up to the last few KB."""
    filler = where / "filler.bin"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("precheck", [True, False])
def test_a_full_disk_during_a_small_update_keeps_answering(
    small_disk: qa.Settings, precheck: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.index.sync as sync

    s = small_disk
    _check_answer(qa.ask(QUESTION, settings=s), s)
    before = read_live_manifest(s)
    assert before is not None
    if not precheck:  # let the update start, so the full disk fails it midway
        monkeypatch.setattr(sync, "IN_PLACE_MIN_FREE", 0)
        monkeypatch.setattr(sync, "IN_PLACE_BYTES_PER_CHUNK", 0)
    filler = _fill(s.index_dir)
    (s.corpus_dir / "note.txt").write_text(NOTE, encoding="utf-8")
    with pytest.raises(qa.IndexBuildError, match="still answers"):
        qa.reindex(s, progress=False)
    # Every later question is answered from the previous state (in this process and a new one).
    for _ in range(2):
        _check_answer(qa.ask(QUESTION, settings=s), s)
    kept = read_live_manifest(s)
    assert kept is not None and "updating_in_place" not in kept
    assert kept["revision"] == before["revision"] and kept["build"] == before["build"]
    # A new process cannot even open Chroma on a full disk (it writes when opening): a clean
    # error saying so, and the index is not mistaken for damage and rebuilt.
    out = _cli(s, "ask", QUESTION, "--json")
    assert "Traceback" not in out.stderr
    if out.returncode != 0:
        assert out.returncode == 2 and "disk holding the index is full" in out.stderr
    assert read_live_manifest(s) == kept
    # Space freed: a new process answers from the previous state, the next sync finishes.
    filler.unlink()
    out = _cli(s, "ask", QUESTION, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["citations"]
    qa.reindex(s, progress=False)  # (the new process's question may have synced already)
    done = read_live_manifest(s)
    assert done is not None and "note.txt" in done["documents"]
    assert "updating_in_place" not in done and qa.index_status(s) == "fresh"
    found = [p for p in qa.retrieve(NOTE_Q, k=10, settings=s) if p.source == "note.txt"]
    assert found, [p.source for p in qa.retrieve(NOTE_Q, k=10, settings=s)]
    assert qa.source_text("note.txt", settings=s)[found[0].start : found[0].end] == found[0].text
