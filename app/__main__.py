"""``python -m app``: serve the chat UI (127.0.0.1:7860 unless QA_HOST/QA_PORT or flags say)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import qa  # after --help: importing qa is cheap, but gradio is not

    try:
        settings = qa.Settings.from_env(host=args.host, port=args.port)
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from app.ui import CSS, build

    demo = build(settings)
    auth: tuple[str, str] | None = None
    if settings.auth:  # "user:password"; Settings.check() ensured the colon
        user, _, password = settings.auth.partition(":")
        auth = (user, password)
    print(f"outlook-qa UI on http://{settings.host}:{settings.port}", flush=True)
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        share=False,
        ssr_mode=False,
        css=CSS,
        footer_links=["api"],
        show_error=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
