"""BM25 over chunk texts (bm25s), built once per index revision, never per query.

The index can be saved beside the Chroma data and loaded by the next process, so a cold start
on a large corpus reads a few arrays instead of every chunk and re-tokenising them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
FORMAT = 1  # bump when tokenisation or the saved layout changes

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'’][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves according say says said
    tell""".split()
)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match "sanctions"/"sanction", "ceasefires"."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str) -> list[str]:
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


class LexicalIndex:
    """BM25 scores over a fixed list of chunk ids."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids = list(ids)
        self._bm25 = bm25s.BM25()
        corpus_tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        if corpus_tokens:
            self._bm25.index(corpus_tokens, show_progress=False)
        self._vocab = set(self._bm25.vocab_dict) if corpus_tokens else set()
        df: dict[str, int] = {}
        for tokens in corpus_tokens:
            for t in set(tokens):
                df[t] = df.get(t, 0) + 1
        n = max(1, len(corpus_tokens))
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Best ``n`` (chunk id, BM25 score), best first; empty when no query word is known."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not self.ids:
            return []
        n = min(n, len(self.ids))
        # Scores straight from the sparse matrix: ``retrieve`` would start a thread pool and
        # a progress bar per call, which cost more than the scoring on a small corpus.
        scores = np.asarray(self._bm25.get_scores(tokens))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0]

    # --- persistence --------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to directory ``path`` atomically (a reader sees all of it or none)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
        meta = {"format": FORMAT, "ids": self.ids, "idf": self.idf}
        (tmp / "lexical.json").write_text(json.dumps(meta), encoding="utf-8")
        try:
            os.replace(tmp, path)
        except OSError:  # another process saved it first: theirs is the same index
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """An index saved by ``save``; raises ``OSError``/``ValueError`` when unusable."""
        import bm25s

        path = Path(path)
        meta = json.loads((path / "lexical.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"lexical index format {meta.get('format')} != {FORMAT}")
        self = cls.__new__(cls)
        self.ids = list(meta["ids"])
        self.idf = {str(k): float(v) for k, v in meta["idf"].items()}
        if self.ids:
            self._bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
            self._vocab = set(self._bm25.vocab_dict)
        else:
            self._bm25 = bm25s.BM25()
            self._vocab = set()
        return self

    @classmethod
    def cached(
        cls, path: Path, rows: Callable[[], Iterable[tuple[str, str]]], expected: int | None = None
    ) -> LexicalIndex:
        """Load the index saved at ``path`` (one per index revision), or build it from
        ``rows()`` = (chunk id, text) pairs and save it there for the next process. A saved
        index with a different number of chunks than ``expected`` is rebuilt."""
        path = Path(path)
        try:
            index = cls.load(path)
            if expected is None or len(index.ids) == expected:
                return index
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing, partial or old: build it
        pairs = list(rows())
        index = cls([i for i, _ in pairs], [t for _, t in pairs])
        shutil.rmtree(path, ignore_errors=True)
        try:
            index.save(path)
        except OSError:  # a read-only index directory: keep it in memory only
            pass
        return index
