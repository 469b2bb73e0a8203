"""The web surface (issue 13, item 8, and item 2's app side): login backoff, the open-endpoints
warning and loopback binding, bidi controls in displayed text, and a bounded first reply after
the index was damaged.

Each server test starts ``python -m app`` as a real subprocess (``app.launcher``) and talks to
it over HTTP, as a browser or a script would.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import damage_pages, indexed_copy, make_corpus

import qa
from app import export, render
from app.conversations import Turn, title_for
from app.index_gate import IndexGate
from app.launcher import free_port, running_app, running_server
from app.login_limiter import LoginLimiter
from app.ui import Session, respond

RLO, PDF = "\u202e", "\u202c"
BIDI = set(render.BIDI_CONTROLS)


# --- 1. login attempts ------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_backs_off_1_2_4_up_to_60_seconds_and_forgets_after_quiet() -> None:
    clock = _Clock()
    limiter = LoginLimiter(clock=clock)
    keys = ["user:x", "ip:1.2.3.4"]
    for _ in range(4):
        limiter.failed(keys)
        assert limiter.wait(keys) == 0  # under the threshold: every attempt is checked
    delays = []
    for _ in range(9):
        limiter.failed(keys)
        delays.append(limiter.wait(keys))
        clock.now += delays[-1]  # each lock runs out, then one more failure
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert limiter.wait(["ip:1.2.3.4"]) == 0 and limiter.wait(["user:other"]) == 0
    clock.now += 60 + 60 + 1  # a quiet spell: the next run starts again at one failure
    limiter.failed(keys)
    assert limiter.wait(keys) == 0
    limiter.succeeded(keys)
    assert limiter.wait(keys) == 0
    small = LoginLimiter(clock=clock, max_keys=100)
    for i in range(1000):  # a flood of usernames cannot grow the records without bound
        small.failed([f"user:{i}"])
    assert len(small._records) == 100


def _login(client: httpx.Client, url: str, user: str, password: str) -> httpx.Response:
    return client.post(f"{url}/login", data={"username": user, "password": password})


@pytest.mark.slow
def test_login_attempts_back_off_and_a_correct_login_later_works(tmp_path: Path) -> None:
    """100 wrong passwords in a row: 5 are checked, the rest refused at once (429) without
    checking (the right password too, while locked); once the lock runs out it logs in. A
    lock is per address as well: new usernames from a locked address are refused."""
    corpus = make_corpus(tmp_path / "corpus", {"note.txt": "The ferry leaves at noon.\n"})
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "index"),
           "QA_AUTH": "reader:s3cret"}
    log_path = tmp_path / "app.log"
    with running_app(env, log_path) as url, httpx.Client(timeout=30) as client:
        assert _login(client, url, "reader", "wrong").status_code == 400  # checked, refused
        statuses = []
        began = time.monotonic()
        for i in range(99):
            statuses.append(_login(client, url, "reader", f"guess-{i}").status_code)
        took = time.monotonic() - began
        checked = 1 + statuses.count(400)
        assert set(statuses) <= {400, 429}
        # 5 checked before the first lock; each lock that runs out (1 s, then 2, 4 …) lets
        # one more through; every other attempt is refused unchecked
        assert 5 <= checked <= 8, (checked, took)
        assert statuses[:4] == [400] * 4 and statuses[4] == 429
        assert took < 20
        refused = _login(client, url, "reader", "s3cret")  # right password, still locked
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.json()["detail"]
        time.sleep(float(refused.headers["Retry-After"]) + 0.3)
        ok = _login(client, url, "reader", "s3cret")
        assert ok.status_code == 200 and ok.json() == {"success": True}
        assert any(name.startswith("access-token") for name in ok.cookies)

        # per address: five wrong usernames, then even a new one (and the real one) waits
        for i in range(5):
            assert _login(client, url, f"user{i}", "x").status_code == 400
        assert _login(client, url, "someone-new", "x").status_code == 429
        again = _login(client, url, "reader", "s3cret")
        assert again.status_code == 429
        time.sleep(float(again.headers["Retry-After"]) + 0.3)
        assert _login(client, url, "reader", "s3cret").status_code == 200
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "refused without checking" in log
    assert "QA_AUTH is not set" not in log


# --- 2. without QA_AUTH: the warning, and loopback --------------------------------------------


def _listening(port: int) -> set[str]:
    """Addresses with a TCP socket listening on ``port`` (from /proc/net/tcp, tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            addr, _, hexport = local.partition(":")
            if state == "0A" and int(hexport, 16) == port:
                if len(addr) == 8:
                    found.add(".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add(addr)
    return found


@pytest.mark.slow
def test_without_auth_start_up_says_every_endpoint_is_open_and_binds_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = make_corpus(tmp_path / "corpus", {"note.txt": "The ferry leaves at noon.\n"})
    monkeypatch.delenv("QA_HOST", raising=False)
    monkeypatch.delenv("QA_AUTH", raising=False)
    port = free_port()
    log_path = tmp_path / "app.log"
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "index"),
           "QA_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    # no --host and no QA_HOST: the default
    with running_server([sys.executable, "-m", "app"], f"http://127.0.0.1:{port}", log_path,
                        env=env):
        if Path("/proc/net/tcp").exists():
            assert _listening(port) == {"127.0.0.1"}
    log = log_path.read_text(encoding="utf-8", errors="replace")
    (line,) = [x for x in log.splitlines() if x.startswith("WARNING: QA_AUTH is not set")]
    for part in ("every endpoint", "re-index", "document upload and delete", "open to anyone",
                 "this machine only (loopback)", f"http://127.0.0.1:{port}", "QA_AUTH=user:"):
        assert part in line, part


def test_the_warning_names_a_non_loopback_host() -> None:
    from app.__main__ import open_warning

    assert "ANY MACHINE THAT CAN REACH 0.0.0.0" in open_warning("0.0.0.0", "http://0.0.0.0:1")
    assert "loopback" in open_warning("127.0.0.1", "http://127.0.0.1:1")


# --- 3. bidi controls -------------------------------------------------------------------------

BIDI_DOC = (
    "Harbour Codes\n\n"
    f"The harbour gate code chosen by the council is {RLO}evil gate{PDF} and it changes in May."
    "\n\nThe ferry to Gull Island leaves at noon every day.\n"
)
BIDI_Q = "What is the harbour gate code chosen by the council?"


@pytest.fixture(scope="module")
def bidi_settings(tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    root = tmp_path_factory.mktemp("bidi")
    corpus = make_corpus(root / "corpus", {f"codes-{RLO}txt.txt": BIDI_DOC})
    s = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=root / "index")
    qa.reindex(s, progress=False)
    return s


def test_bidi_controls_never_reach_displayed_text(bidi_settings: qa.Settings) -> None:
    """The answer, its sources panel, the document view, the chooser and the conversation
    title hold no bidi control; the answer's citations and offsets keep the raw text."""
    steps = list(respond(BIDI_Q, Session(), 5, "extractive", False, bidi_settings))
    chat, _, session, sources, choice, document, _ = steps[-1]
    answer = session.answer
    assert answer is not None and not answer.abstained and answer.citations
    quote = answer.citations[0]
    assert RLO in quote.quote  # the stored answer is verbatim…
    raw = qa.source_text(quote.source, bidi_settings)
    assert raw[quote.start:quote.end] == quote.quote  # …at unchanged offsets
    shown = [m["content"] for m in chat] + [sources, document, *map(str, choice.choices)]
    shown += [render.answer_plain(answer), title_for(f"{RLO}{BIDI_Q}")]
    for html in shown:
        assert not BIDI & set(html), html
    assert "evil gate" in chat[-1]["content"] and "<mark" in document
    assert "evil gate" in sources and "evil gate" in document


def test_exports_show_bidi_controls_as_tags_and_json_keeps_them(
    bidi_settings: qa.Settings,
) -> None:
    answer = qa.ask(BIDI_Q, settings=bidi_settings)
    turns = [Turn(question=BIDI_Q, answer=answer)]
    md = export.to_markdown("codes", turns)
    assert not BIDI & set(md)
    assert "<U+202E>evil gate<U+202C>" in md and "shown as tags" in md
    js = export.to_json("codes", None, turns)
    assert not BIDI & set(js)  # escaped in the file…
    data = json.loads(js)  # …and every character back once parsed
    assert data["turns"][0]["answer"]["citations"][0]["quote"] == answer.citations[0].quote
    plain = export.to_markdown("plain", [Turn(question="q", answer=qa.Answer(
        text="no controls", abstained=True))])
    assert "shown as tags" not in plain


@pytest.mark.slow
def test_bidi_controls_are_stripped_from_the_chat_api(bidi_settings: qa.Settings,
                                                      tmp_path: Path) -> None:
    from gradio_client import Client

    env = {"QA_CORPUS_DIR": str(bidi_settings.corpus_dir),
           "QA_INDEX_DIR": str(bidi_settings.index_dir)}
    with running_app(env, tmp_path / "app.log") as url:
        reply = Client(url, verbose=False).predict(BIDI_Q, api_name="/chat")
    assert "evil gate" in reply and "Sources:" in reply
    assert not BIDI & set(reply)


# --- 4. a damaged index: a bounded first reply -------------------------------------------------

SMALL = ["wh_black_sea_expert_group_outcomes_2025-03-25.md",
         "crs_IF12760_russia_north_korea_relations.md"]
QUESTION = "What did the United States and Russia agree about the Black Sea?"
BUSY = "The index is being rebuilt, try again in a moment."


def _damaged_index(root: Path) -> qa.Settings:
    from qa.index.generations import IndexLocation

    s = indexed_copy(root, SMALL)
    live = IndexLocation(s).current()
    assert live is not None
    damage_pages(live / "chroma" / "chroma.sqlite3", seed=3)
    return s


@pytest.mark.slow
@pytest.mark.parametrize("wait", [20.0, 0.5])
def test_first_chat_after_damage_replies_in_bounded_time(tmp_path: Path, wait: float) -> None:
    """Random pages of chroma.sqlite3 overwritten (a Chroma panic when opened): the first
    /chat answers or says the index is being rebuilt within 30 s; an answer follows."""
    from gradio_client import Client

    s = _damaged_index(tmp_path)
    env = {"QA_CORPUS_DIR": str(s.corpus_dir), "QA_INDEX_DIR": str(s.index_dir)}
    log_path = tmp_path / "app.log"
    with running_app(env, log_path, args=["--wait-for-index", str(wait)]) as url:
        client = Client(url, verbose=False)
        began = time.monotonic()
        first = client.predict(QUESTION, api_name="/chat")
        assert time.monotonic() - began < 30, first
        assert first == f"Error: {BUSY}" or ("[1]" in first and "Sources:" in first), first
        reply, deadline = first, time.monotonic() + 240
        while "[1]" not in reply:
            assert reply == f"Error: {BUSY}", reply
            assert time.monotonic() < deadline, "never rebuilt"
            time.sleep(1)
            began = time.monotonic()
            reply = client.predict(QUESTION, api_name="/chat")
            assert time.monotonic() - began < 30
        assert "Sources:" in reply and "Black Sea" in reply
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert "rebuilding it" in log, log[-3000:]  # the damage was real (a panic, repaired)
    print(f"wait={wait}: first reply {first[:60]!r}")


def test_chat_handler_says_rebuilding_while_the_index_is_busy(tmp_path: Path) -> None:
    """A rebuild that outlasts the gate's bound: the chat shows progress, then the rebuilding
    message (not an error, no turn saved), and the question goes back into the box. Merely
    opening the index (no rebuild) is waited for."""
    corpus = make_corpus(tmp_path / "corpus", {"note.txt": "The ferry leaves at noon.\n"})
    s = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    qa.reindex(s, progress=False)

    def rebuild() -> None:  # as qa says when it finds the index damaged, then a long rebuild
        logging.getLogger("qa.index.opened").warning("the index cannot be used; rebuilding it")
        time.sleep(10)

    gate = IndexGate(s, wait=3.0, opener=rebuild)
    began = time.monotonic()
    steps = list(respond("When does the ferry leave?", Session(), 5, "extractive", False, s,
                         gate=gate))
    assert time.monotonic() - began < 5
    chat, box, session, *_ = steps[-1]
    assert "qa-busy" in chat[-1]["content"] and BUSY in chat[-1]["content"]
    assert box == "When does the ferry leave?" and session.history == []
    assert any("(2 s)" in step[0][-1]["content"] for step in steps[1:-1])  # progress shown
    # a second question joining the long run waits only briefly
    began = time.monotonic()
    list(respond("When does the ferry leave?", Session(), 5, "extractive", False, s, gate=gate))
    assert time.monotonic() - began < 4.5
    slow_open = IndexGate(s, wait=1.0, opener=lambda: time.sleep(3))
    steps = list(respond("When does the ferry leave?", Session(), 5, "extractive", False, s,
                         gate=slow_open))
    assert "[1]" in steps[-1][0][-1]["content"]
