"""A scripted stand-in for an LLM server: OpenAI chat completions and Ollama's chat API.

It speaks enough of both protocols for the real clients (``openai`` through ``ChatOpenAI``,
``ollama`` through ``ChatOllama``) to work against it, streaming and not, so tests exercise the
real client code paths, timeouts and error handling. Replies come from a script: a list of
replies used in turn (the last one repeats), or a function of the request.

    with FakeLLMServer(["Kellogg was appointed envoy [1]."]) as server:
        settings.with_(answer_backend="openai", openai_base_url=server.openai_url, ...)

Manual use: ``python tests/fake_llm_server.py --port 8123 --script replies.json`` where the JSON
file holds a list of replies (strings, or objects with the fields of ``Reply``); without a
script every reply quotes the first sentence of passage 1, cited.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>(.*?)</passage>', re.DOTALL)


@dataclass
class Reply:
    """One scripted completion, or a failure."""

    text: str = ""
    status: int = 200  # an error status sends an error body in the protocol's shape
    delay: float = 0.0  # seconds of silence before the response starts
    stall: float = 0.0  # seconds of silence after ``stall_after`` streamed pieces
    stall_after: int = 1
    pieces: list[str] | None = None  # how to split ``text`` when streaming (default: words)
    body: str | None = None  # a raw body sent as is (malformed output)


@dataclass
class Request:
    """What a client sent, as the script sees it."""

    protocol: str  # "openai" or "ollama"
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def stream(self) -> bool:
        default = self.protocol == "ollama"  # Ollama streams unless told not to
        return bool(self.body.get("stream", default))

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    def text(self, role: str) -> str:
        """All content sent under ``role``, joined."""
        return "\n".join(_content(m) for m in self.messages if m.get("role") == role)

    def passages(self) -> dict[int, str]:
        """The numbered passages of a grounded prompt: ``{1: text, ...}``."""
        return {int(n): t.strip() for n, t in _PASSAGE.findall(self.text("user"))}


Script = Callable[[Request], Reply | str] | Sequence[Reply | str]


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def cite_first_passage(request: Request) -> Reply:
    """The default script: the first sentence of passage 1, cited."""
    passages = request.passages()
    if not passages:
        return Reply(text="The sources do not say.")
    first = re.split(r"(?<=[.!?])\s+", passages[min(passages)])[0]
    return Reply(text=f"{first} [{min(passages)}]")


class FakeLLMServer:
    """A local HTTP server on 127.0.0.1 (a free port unless given), run in a thread."""

    def __init__(self, script: Script | None = None, *, port: int = 0, model: str = "fake"):
        self.script: Script = script if script is not None else cite_first_passage
        self.model = model
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._queue_index = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith(("/chat/completions", "/api/chat"))]

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes stalled handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply_for(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if callable(self.script):
                reply = self.script(request)
            else:
                replies = list(self.script)
                reply = replies[min(self._queue_index, len(replies) - 1)]
                self._queue_index += 1
        return Reply(text=reply) if isinstance(reply, str) else reply

    def wait(self, seconds: float) -> None:
        self.stopping.wait(seconds)


def _handler_class(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        if path.endswith("/models"):
            model = {"id": self.fake.model, "object": "model", "created": 0, "owned_by": "fake"}
            self._json(200, {"object": "list", "data": [model]})
        elif path == "/api/tags":
            details = {"format": "gguf", "family": "fake", "parameter_size": "0B"}
            tag = {
                "name": self.fake.model, "model": self.fake.model, "size": 0,
                "modified_at": "2025-01-01T00:00:00Z", "digest": "0" * 64, "details": details,
            }
            self._json(200, {"models": [tag]})
        elif path in ("/", "/api/version"):
            self._json(200, {"version": "0.0.0-fake"})
        else:
            self._json(404, {"error": f"no route {path}"})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": "request body is not JSON"})
            return
        if path.endswith("/chat/completions"):
            protocol = "openai"
        elif path == "/api/chat":
            protocol = "ollama"
        else:
            self._json(404, {"error": f"no route {path}"})
            return
        request = Request(protocol, path, body, {k.lower(): v for k, v in self.headers.items()})
        reply = self.fake.reply_for(request)
        try:
            self._reply(request, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to do

    def _reply(self, request: Request, reply: Reply) -> None:
        if reply.delay:
            self.fake.wait(reply.delay)
        if reply.status >= 400:
            message = reply.text or "scripted failure"
            error: dict[str, Any] = (
                {"error": {"message": message, "type": "server_error", "code": None}}
                if request.protocol == "openai" else {"error": message}
            )
            self._json(reply.status, error)
            return
        if reply.body is not None:
            self._send(200, reply.body.encode(), "application/json")
            return
        pieces = reply.pieces if reply.pieces is not None else _split(reply.text)
        if request.protocol == "openai":
            if request.stream:
                self._openai_stream(request, reply, pieces)
            else:
                self._json(200, _openai_completion(request, reply.text))
        elif request.stream:
            self._ollama_stream(request, reply, pieces)
        else:
            self._json(200, _ollama_message(request, reply.text, done=True))

    def _openai_stream(self, request: Request, reply: Reply, pieces: list[str]) -> None:
        self._start_chunked("text/event-stream")
        base = _openai_base(request, "chat.completion.chunk")

        def event(choice_delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": choice_delta, "finish_reason": finish, "logprobs": None}
            return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode()

        self._chunk(event({"role": "assistant", "content": ""}, None))
        for i, piece in enumerate(pieces):
            if reply.stall and i == reply.stall_after:
                self.fake.wait(reply.stall)
            self._chunk(event({"content": piece}, None))
        self._chunk(event({}, "stop"))
        if (request.body.get("stream_options") or {}).get("include_usage"):
            usage = {**base, "choices": [], "usage": _usage(request, reply.text)}
            self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._end_chunked()

    def _ollama_stream(self, request: Request, reply: Reply, pieces: list[str]) -> None:
        self._start_chunked("application/x-ndjson")
        for i, piece in enumerate(pieces):
            if reply.stall and i == reply.stall_after:
                self.fake.wait(reply.stall)
            line = _ollama_message(request, piece, done=False)
            self._chunk((json.dumps(line) + "\n").encode())
        final = _ollama_message(request, "", done=True)
        self._chunk((json.dumps(final) + "\n").encode())
        self._end_chunked()

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _split(text: str) -> list[str]:
    """Word-sized pieces, as a model streams tokens."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


def _openai_base(request: Request, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}", "object": kind,
        "created": int(time.time()), "model": request.model or "fake",
        "system_fingerprint": "fake",
    }


def _usage(request: Request, text: str) -> dict[str, int]:
    prompt = sum(len(_content(m).split()) for m in request.messages)
    completion = len(text.split())
    return {
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _openai_completion(request: Request, text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text, "refusal": None}
    choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
    return {
        **_openai_base(request, "chat.completion"), "choices": [choice],
        "usage": _usage(request, text),
    }


def _ollama_message(request: Request, text: str, *, done: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": request.model or "fake",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "message": {"role": "assistant", "content": text},
        "done": done,
    }
    if done:
        usage = _usage(request, text)
        out.update(
            done_reason="stop", total_duration=1000, load_duration=0,
            prompt_eval_count=usage["prompt_tokens"], prompt_eval_duration=0,
            eval_count=usage["completion_tokens"], eval_duration=0,
        )
    return out


def load_script(path: Path) -> list[Reply | str]:
    """Replies from a JSON file: a list of strings or objects with ``Reply``'s fields."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data:
        raise SystemExit(f"{path}: expected a non-empty JSON list of replies")
    names = {f.name for f in fields(Reply)}
    return [r if isinstance(r, str) else Reply(**{k: v for k, v in r.items() if k in names})
            for r in data]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--script", type=Path, help="JSON list of replies, used in turn")
    parser.add_argument("--model", default="fake", help="model name /v1/models and /api/tags list")
    args = parser.parse_args(argv)
    script = load_script(args.script) if args.script else None
    server = FakeLLMServer(script, port=args.port, model=args.model).start()
    print(f"fake LLM server on {server.url} (OpenAI base URL {server.openai_url})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
