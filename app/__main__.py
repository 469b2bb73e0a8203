"""``python -m app``: serve the chat UI (127.0.0.1:7860 unless QA_HOST/QA_PORT or flags say)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

# Before gradio is imported: no analytics calls leave the machine.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="outlook-qa chat UI: cited answers from corpus/, streamed in the browser. "
        "The chat is also callable with gradio_client as api_name='/chat'.",
    )
    parser.add_argument("--host", help="bind address (env QA_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env QA_PORT, default 7860)")
    parser.add_argument(
        "--wait-for-index", type=float, default=None, metavar="SECONDS",
        help="how long a question waits for the index to be built, updated or repaired "
        "before the reply says to ask again in a moment (default 20)",
    )
    return parser.parse_args(argv)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def open_warning(host: str, url: str) -> str:
    """The start-up line of an app without a login: who can use every endpoint."""
    where = ("this machine only (loopback)" if host in LOOPBACK or host.startswith("127.")
             else f"ANY MACHINE THAT CAN REACH {host}")
    return (
        f"WARNING: QA_AUTH is not set: there is no login, and every endpoint at {url} (the "
        "chat and /chat API, re-index, document upload and delete, conversations) is open to "
        f"anyone who can reach the port: {where}. Set QA_AUTH=user:password to require a login."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import qa  # after --help: importing qa is cheap, but gradio is not

    try:
        settings = qa.Settings.from_env(host=args.host, port=args.port)
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from app.index_gate import WAIT_SECONDS, IndexGate
    from app.ui import CSS, build

    gate = IndexGate(settings, wait=args.wait_for_index if args.wait_for_index is not None
                     else WAIT_SECONDS)
    demo = build(settings, gate)
    url = f"http://{settings.host}:{settings.port}"
    launch_auth: Any = None
    app_kwargs: dict[str, Any] = {}
    if settings.auth:  # "user:password"; Settings.check() ensured the colon
        from starlette.middleware import Middleware

        from app.login_limiter import ClientAddress, Guard

        user, _, password = settings.auth.partition(":")
        launch_auth = Guard(user, password)  # failed logins back off: 1, 2, 4 … 60 s
        app_kwargs["middleware"] = [Middleware(ClientAddress)]
    else:
        print(open_warning(settings.host, url), flush=True)
    print(f"outlook-qa UI on {url}", flush=True)
    gate.start()  # load the model and open (or build, or repair) the index before a question
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=launch_auth,
        app_kwargs=app_kwargs,
        share=False,
        ssr_mode=False,
        css=CSS,
        footer_links=["api"],
        show_error=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
