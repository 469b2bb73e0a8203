"""BM25 over chunk texts (bm25s), built once per index revision, never per query.

The index can be saved beside the Chroma data and loaded by the next process, so a cold start
on a large corpus reads a few arrays instead of every chunk and re-tokenising them. A small
update (one document re-indexed) patches it instead of rebuilding it: removed chunks are
masked, added ones are scored with the base's statistics (idf, average length), so their
scores rank with the others; past ``MAX_PATCH_SHARE`` of the base it is rebuilt.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from qa.ingest.atomic import replace_with, temporary_beside

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
FORMAT = 3  # bump when tokenisation or the saved layout changes
K1, B = 1.5, 0.75  # bm25s defaults ("lucene" variant); patched documents use the same
MAX_PATCH_SHARE = 0.1  # a patch may add up to this share of the base's chunks

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


# Abbreviations legal and executive texts head their divisions with ("Sec. 3."), as a
# question writes them out ("Section 3").
_WRITTEN_OUT = {"sec": "section", "secs": "section", "sect": "section"}


def idf_range(idf: Mapping[str, float]) -> tuple[float, float]:
    """(median, largest) of a vocabulary's idf: a typical word's weight and the rarest's."""
    values = list(idf.values())
    return (float(np.median(values)), max(values)) if values else (1.0, 1.0)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match "sanctions"/"sanction", "ceasefires"."""
    word = word.replace("’", "'")
    word = _WRITTEN_OUT.get(word, word)
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


def word_stems(words: Sequence[str]) -> list[str]:
    """The stems of ``words``, each once, in order."""
    return list(dict.fromkeys(t for w in words for t in tokenize(w)))


def word_root(token: str) -> str:
    """A word's first five letters: "Korean" meets "Korea", "Russian" meets "Russia"."""
    return token[:5]


class LexicalIndex:
    """BM25 scores over a fixed list of chunk ids."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        self.ids = list(ids)
        self._bm25 = bm25s.BM25(k1=K1, b=B)
        corpus_tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        if corpus_tokens:
            self._bm25.index(corpus_tokens, show_progress=False)
        self._vocab = set(self._bm25.vocab_dict) if corpus_tokens else set()
        df: dict[str, int] = {}
        for tokens in corpus_tokens:
            for t in set(tokens):
                df[t] = df.get(t, 0) + 1
        self.documents = max(1, len(corpus_tokens))
        self.average_length = sum(map(len, corpus_tokens)) / self.documents
        self.idf = {t: self._idf(c) for t, c in df.items()}
        self._patch_init([], [])

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.documents - df + 0.5) / (df + 0.5))

    @functools.cached_property
    def idf_range(self) -> tuple[float, float]:
        """``idf_range(self.idf)``, read by every question: computed once per index."""
        return idf_range(self.idf)

    def _patch_init(self, removed: Iterable[str], added: list[tuple[str, list[str]]]) -> None:
        """Masked base chunks and added chunks (id, tokens) on top of the base index."""
        self.removed = set(removed)
        self._mask = np.asarray(
            [i for i, c in enumerate(self.ids) if c in self.removed], dtype=np.int64
        )
        self.added = added
        self._added_tf = [Counter(tokens) for _, tokens in added]

    def __len__(self) -> int:
        return len(self.ids) - len(self._mask) + len(self.added)

    def vocabulary(self) -> frozenset[str]:
        """Every (stemmed) word some chunk holds, the patched-in chunks' included."""
        return frozenset(self.idf).union(*(tokens for _, tokens in self.added))

    def patched(self, removed: Iterable[str], added: Iterable[tuple[str, str]]) -> LexicalIndex:
        """This index with chunks removed and added, sharing the base (which is not copied);
        raises ``ValueError`` when the patch would outgrow ``MAX_PATCH_SHARE``: rebuild then."""
        gone = set(removed)
        kept = [(c, t) for c, t in self.added if c not in gone]
        new = kept + [(c, tokenize(text)) for c, text in added]
        if len(new) > MAX_PATCH_SHARE * max(1, len(self.ids)):
            raise ValueError(f"{len(new)} patched chunks: rebuild the lexical index")
        out = copy.copy(self)
        out._patch_init(self.removed | (gone - {c for c, _ in self.added}), new)
        return out

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Best ``n`` (chunk id, BM25 score), best first; empty when no query word is known."""
        words = tokenize(query)
        tokens = [t for t in words if t in self._vocab]
        hits: list[tuple[str, float]] = []
        if tokens and self.ids:
            # Scores straight from the sparse matrix: ``retrieve`` would start a thread pool
            # and a progress bar per call, which cost more than the scoring on small corpora.
            scores = np.asarray(self._bm25.get_scores(tokens)).copy()
            scores[self._mask] = 0.0
            m = min(n, len(scores))
            top = np.argpartition(-scores, m - 1)[:m] if m < len(scores) else np.arange(m)
            hits = [(self.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0]
        hits += self._search_added(words)
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def _search_added(self, words: list[str]) -> list[tuple[str, float]]:
        """BM25 of the patched-in chunks, with the base's idf and average length."""
        out = []
        for (chunk_id, tokens), tf in zip(self.added, self._added_tf, strict=True):
            norm = K1 * ((1 - B) + B * len(tokens) / self.average_length)
            score = sum(
                self.idf.get(w, self._idf(1)) * tf[w] / (norm + tf[w])
                for w in set(words) if w in tf
            )
            if score > 0:
                out.append((chunk_id, score))
        return out

    # --- persistence --------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to directory ``path`` atomically (a reader sees all of it or none).
        A patched index links the base's files (never rewritten) instead of copying them."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_beside(path, directory=True)
        try:
            base_dir = getattr(self, "_base_dir", None)
            if base_dir is not None and base_dir.is_dir():
                (tmp / "bm25").mkdir()
                for f in base_dir.iterdir():
                    try:
                        os.link(f, tmp / "bm25" / f.name)
                    except OSError:
                        shutil.copy2(f, tmp / "bm25" / f.name)
            elif self.ids:
                self._bm25.save(str(tmp / "bm25"), show_progress=False)
            meta = {
                "format": FORMAT, "ids": self.ids, "idf": self.idf, "documents": self.documents,
                "average_length": self.average_length, "removed": sorted(self.removed),
                "added": self.added,
            }
            (tmp / "lexical.json").write_text(json.dumps(meta), encoding="utf-8")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            replace_with(tmp, path)
        except OSError:  # another process saved it first: theirs is the same index
            shutil.rmtree(tmp, ignore_errors=True)
            return
        self._base_dir = path / "bm25"

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
        self.documents = int(meta["documents"])
        self.average_length = float(meta["average_length"])
        if self.ids:
            self._bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
            self._vocab = set(self._bm25.vocab_dict)
            self._base_dir = path / "bm25"
        else:
            self._bm25 = bm25s.BM25(k1=K1, b=B)
            self._vocab = set()
        self._patch_init(
            [str(c) for c in meta["removed"]],
            [(str(c), [str(t) for t in tokens]) for c, tokens in meta["added"]],
        )
        return self

    @classmethod
    def cached(
        cls,
        path: Path,
        rows: Callable[[], Iterable[tuple[str, str]]],
        expected: int | None = None,
        *,
        patch: tuple[Path, Sequence[str], Callable[[], Iterable[tuple[str, str]]]] | None = None,
    ) -> LexicalIndex:
        """Load the index saved at ``path`` (one per index revision), or make it and save it
        there for the next process: by patching the previous revision's index when ``patch``
        = (its path, removed chunk ids, a function giving the added (id, text) pairs) allows,
        else from ``rows()`` = every (chunk id, text). An index holding a different number of
        chunks than ``expected`` is not used."""
        path = Path(path)
        try:
            loaded = cls.load(path)
            if expected is None or len(loaded) == expected:
                return loaded
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing, partial or old: make it
        index: LexicalIndex | None = None
        if patch is not None:
            previous, removed, added = patch
            try:
                index = cls.load(previous).patched(removed, added())
                if expected is not None and len(index) != expected:
                    index = None
            except (OSError, ValueError, KeyError, TypeError):
                index = None  # no usable previous index, or too much changed: rebuild
        if index is None:
            pairs = list(rows())
            index = cls([i for i, _ in pairs], [t for _, t in pairs])
        shutil.rmtree(path, ignore_errors=True)
        try:
            index.save(path)
        except OSError:  # a read-only index directory: keep it in memory only
            pass
        return index
