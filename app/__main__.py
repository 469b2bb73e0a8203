"""``python -m app``: start the chat UI (minimal version; see app/ui.py when present)."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from qa.config import Settings

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m app", description="outlook-qa chat UI")
    parser.add_argument("--host", default=settings.host, help="bind address (env QA_HOST)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (env QA_PORT)")
    args = parser.parse_args()
    import gradio as gr

    import qa

    def chat(message: str, history: list[dict[str, str]]) -> str:
        try:
            return qa.ask(message).text
        except qa.QAError as exc:
            return f"⚠️ {exc}"

    demo = gr.ChatInterface(chat, api_name="chat", title="outlook-qa")
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
