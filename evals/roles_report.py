"""``python -m evals.roles_report``: sentence roles over the real corpus, measured.

Prints the count of sentences by role per document, the instruction flag rate (the corpus holds
no planted instruction, so every flag is a false one), spaCy throughput over the whole corpus,
and every non-prose sentence of the primary document for a human to check. It measures only.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from qa.ingest.chunking import ChunkSettings, chunk_document
from qa.ingest.linguistics import SentenceInput, annotate, nlp
from qa.ingest.loaders import load_document
from qa.ingest.roles import INSTRUCTION, PROSE, ROLES, looks_injected

PRIMARY = "sejong-outlook-russia-2025.txt"


def corpus_items(corpus: Path) -> list[tuple[str, SentenceInput]]:
    """(document, sentence) for every stored sentence of every document, in reading order."""
    items = []
    for path in sorted(corpus.iterdir()):
        if path.name.endswith(".meta.json") or not path.is_file():
            continue
        doc = load_document(path, corpus)
        for chunk in chunk_document(doc, ChunkSettings()):
            for s in chunk.sentences:
                items.append(
                    (doc.source, SentenceInput(s.text, title=doc.meta.title,
                                               headings=doc.meta.sections))
                )
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--primary", default=PRIMARY)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    nlp()
    load_s = time.perf_counter() - start
    pairs = corpus_items(args.corpus)
    chars = sum(len(item.text) for _, item in pairs)
    start = time.perf_counter()
    notes = annotate([item for _, item in pairs])
    annotate_s = time.perf_counter() - start

    by_doc: dict[str, Counter[str]] = {}
    for (source, _), n in zip(pairs, notes, strict=True):
        by_doc.setdefault(source, Counter())[n.role] += 1
    short = [r.replace("legal-fragment", "legal-frag").replace("heading-list", "head-list")
             for r in ROLES]
    print(f"{'document':44} {'all':>5} " + " ".join(f"{r:>11}" for r in short))
    total: Counter[str] = Counter()
    for source, counts in by_doc.items():
        total.update(counts)
        print(f"{source[:44]:44} {sum(counts.values()):5} "
              + " ".join(f"{counts[r]:11}" for r in ROLES))
    print(f"{'all':44} {sum(total.values()):5} " + " ".join(f"{total[r]:11}" for r in ROLES))

    n = len(pairs)
    flagged = [item.text for (_, item), note in zip(pairs, notes, strict=True)
               if note.role == INSTRUCTION]
    injected = sum(1 for _, item in pairs if looks_injected(item.text))
    print(f"\ninstruction flags: {len(flagged)}/{n} = {len(flagged) / max(n, 1):.2%} "
          f"(looks_injected alone: {injected}/{n} = {injected / max(n, 1):.2%})")
    for text in flagged:
        print(f"  flagged: {text[:160]}")
    print(f"throughput: {chars} chars in {annotate_s:.2f} s = {chars / annotate_s:,.0f} chars/s "
          f"(model load {load_s:.2f} s)")

    print(f"\nnon-prose sentences of {args.primary}:")
    for (source, item), note in zip(pairs, notes, strict=True):
        if source == args.primary and note.role != PROSE:
            print(f"  {note.role:15} {item.text[:200]}")


if __name__ == "__main__":
    main()
