"""``python -m qa``: ask, retrieve, index and status from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import unicodedata
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qa.config import BACKENDS, Settings
from qa.errors import QAError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus-dir", type=Path, help="documents (env QA_CORPUS_DIR)")
    parser.add_argument("--index-dir", type=Path, help="the index (env QA_INDEX_DIR)")
    parser.add_argument("--chroma-url", help="a Chroma server to use (env QA_CHROMA_URL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qa",
        description="Grounded, cited answers from the documents in corpus/.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument("--backend", choices=BACKENDS, help="answer backend (env QA_ANSWER_BACKEND)")
    ask.add_argument("-k", type=int, help="passages to retrieve (env QA_TOP_K)")
    ask.add_argument("--source", action="append", metavar="NAME",
                     help="answer only from this document (repeat for several; see `docs`)")
    ask.add_argument(
        "--history", type=Path,
        help="JSON file with earlier [question, answer] turns, oldest first",
    )
    _common(ask)

    ret = sub.add_parser("retrieve", help="show the passages retrieved for a query")
    ret.add_argument("query")
    ret.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    ret.add_argument("--source", action="append", metavar="NAME",
                     help="search only this document (repeat for several)")
    ret.add_argument("--json", action="store_true", help="print passages as JSON")
    _common(ret)

    idx = sub.add_parser("index", help="build or update the index from the corpus")
    idx.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    idx.add_argument("--quiet", action="store_true", help="no progress bar")
    idx.add_argument(
        "--allow-mass-removal", action="store_true",
        help="let this sync remove most of the indexed documents (refused otherwise)",
    )
    _common(idx)

    status = sub.add_parser("status", help="what the index holds")
    _common(status)

    add = sub.add_parser(
        "add", help="add or replace documents in the corpus (.txt .md .html .pdf), then index"
    )
    add.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add.add_argument("--name", help="store a single FILE under this name")
    add.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(add)

    remove = sub.add_parser("remove", help="delete a document from the corpus and the index")
    remove.add_argument("name", help="the document's name, as `docs` lists it")
    _common(remove)

    docs = sub.add_parser("docs", help="list the corpus documents and their index status")
    docs.add_argument("--json", action="store_true", help="print the documents as JSON")
    _common(docs)
    return parser


_KEEP = "\n\t"
_ESCAPED = ("Cc", "Cf", "Cs", "Zl", "Zp")  # controls, format (bidi, zero-width), surrogates


def printable(text: str) -> str:
    """``text`` with control, format (bidi overrides, zero-width) and lone surrogate
    characters shown as ``\\uXXXX``, so a file name cannot move the cursor, recolour the
    terminal or reverse what follows; newlines and tabs stay. Valid inside JSON strings too."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch not in _KEEP and unicodedata.category(ch) in _ESCAPED:
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def _print(*parts: object, file: Any = None) -> None:
    print(printable(" ".join(str(p) for p in parts)), file=file or sys.stdout)


class _PrintableFormatter(logging.Formatter):
    """Log lines (which name files) escaped like the rest of the output."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _undecodable(argv: list[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (Python keeps them as lone
    surrogates), shown escaped, or None."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    bad = _undecodable(argv)
    if bad is not None:
        print(f"error: argument '{bad}' is not valid UTF-8 text; pass questions and file "
              "names as UTF-8 (check the terminal's locale)", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        return _run(args)
    except QAError as exc:
        _print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    import qa

    settings = Settings.from_env(
        corpus_dir=args.corpus_dir, index_dir=args.index_dir, chroma_url=args.chroma_url,
        answer_backend=getattr(args, "backend", None),
    )
    if args.command == "ask":
        history = _read_history(args.history) if args.history else None
        answer = qa.ask(args.question, history, k=args.k, sources=args.source,
                        settings=settings)
        if args.json:
            _print(json.dumps(asdict(answer), indent=2, ensure_ascii=False))
        else:
            _print(answer.text)
            if answer.notice:
                _print(f"\nnote: {answer.notice}")
            for i, c in enumerate(answer.citations, start=1):
                where = f" — {c.section}" if c.section else ""
                _print(f"\n[{i}] {c.title}{where} ({c.source}:{c.start}-{c.end})\n    “{c.quote}”")
        return 0
    if args.command == "retrieve":
        passages = qa.retrieve(args.query, k=args.k, sources=args.source, settings=settings)
        if args.json:
            _print(json.dumps([asdict(p) for p in passages], indent=2, ensure_ascii=False))
        for i, p in enumerate(passages, start=1):
            if not args.json:
                where = f" — {p.section}" if p.section else ""
                _print(f"[{i}] {p.score:.4f} {p.source}:{p.start}-{p.end}{where}\n    {p.text}\n")
        return 0
    if args.command == "index":
        report = qa.reindex(settings, full=args.rebuild, progress=not args.quiet,
                            allow_mass_removal=args.allow_mass_removal)
        _print(report.summary())
        return 0
    if args.command == "status":
        info = qa.corpus_info(settings)
        _print(f"{len(info.documents)} documents, {info.chunks} chunks, indexed {info.indexed_at}")
        for d in info.documents:
            _print(f"  {d.source}: {d.title} ({d.chunks} chunks)")
        for source, reason in info.skipped:
            _print(f"  skipped {source}: {reason}")
        return 0
    if args.command in ("add", "remove", "docs"):
        return _documents(args, settings)
    raise AssertionError(args.command)


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    """``add``, ``remove`` and ``docs``: one line per document."""
    import qa

    if args.command == "docs":
        docs = qa.documents(settings)
        if args.json:
            rows = [{**asdict(d), "name": d.name} for d in docs]
            _print(json.dumps(rows, indent=2, ensure_ascii=False))
            return 0
        for d in docs:
            date = f", {d.date}" if d.date else ""
            why = f": {d.reason}" if d.reason else ""
            plural = "s" if d.chunks != 1 else ""
            _print(f"{d.name}  [{d.status}{why}]  {d.title}{date} ({d.chunks} chunk{plural})")
        if not docs:
            _print(f"no documents in {settings.corpus_dir}")
        return 0
    if args.command == "remove":
        qa.remove_document(args.name, settings=settings)
        _print(f"removed {args.name}")
        return 0
    if args.name and len(args.files) != 1:
        raise QAError("--name needs exactly one FILE")
    failed = 0
    for file in args.files:
        name = args.name or file.name
        try:
            data = file.read_bytes()
        except OSError as exc:
            _print(f"error: {file}: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        try:
            change = qa.add_document(name, data, settings=settings, progress=not args.quiet)
        except QAError as exc:
            _print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if change.status == "skipped":
            _print(f"skipped {name}: {change.reason}")
            failed += 1
        else:
            plural = "s" if change.chunks != 1 else ""
            _print(f"{change.status} {name} ({change.chunks} chunk{plural})")
    return 2 if failed else 0


def _read_history(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        from qa.errors import QuestionError

        raise QuestionError(f"cannot read history from {path}: {exc}") from exc
