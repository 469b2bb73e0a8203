"""Saved conversations: one SQLite file in the index directory, rows keyed by their owner.

The owner is ``user:<name>`` for a logged-in user (``QA_AUTH``) and ``browser:<id>`` otherwise,
where the id is a random token the browser keeps in its localStorage. Every query filters by
owner, so one owner can never read, rename or delete another's conversations. Each turn stores
the question and the whole ``qa.Answer`` as JSON, so a conversation reloads with its citations,
and follow-ups after a reload still see the earlier turns.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qa
from app.render import shown

FILE_NAME = "conversations.sqlite"
TITLE_CHARS = 60

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
  created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
  conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL,
  PRIMARY KEY (conversation, seq));
"""


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One line of the conversation list."""

    id: str
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True, kw_only=True)
class Turn:
    question: str
    answer: qa.Answer


def title_for(question: str) -> str:
    """A conversation's default title: its first question as displayed (no bidi controls),
    cut on a word boundary."""
    text = " ".join(shown(question).split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled"
    return text[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def answer_to_json(answer: qa.Answer) -> str:
    return json.dumps(dataclasses.asdict(answer), ensure_ascii=False)


def answer_from_json(raw: str) -> qa.Answer:
    """The stored answer; fields a newer or older ``qa.Answer`` lacks are left out."""
    data = json.loads(raw)
    data["citations"] = [qa.Citation(**_known(qa.Citation, c)) for c in data.get("citations", [])]
    data["passages"] = [qa.Passage(**_known(qa.Passage, p)) for p in data.get("passages", [])]
    return qa.Answer(**_known(qa.Answer, data))


class ConversationStore:
    """Conversations of every owner in one SQLite database (a connection per call: the
    Gradio handlers run on many threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @classmethod
    def for_settings(cls, settings: qa.Settings) -> ConversationStore:
        return cls(Path(settings.index_dir) / FILE_NAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def summaries(self, owner: str) -> list[Summary]:
        """The owner's conversations, most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.seq) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ? "
                "GROUP BY c.id ORDER BY c.updated DESC, c.created DESC",
                (owner,),
            ).fetchall()
        return [
            Summary(id=r[0], title=r[1], created=r[2], updated=r[3], turns=r[4]) for r in rows
        ]

    def get(self, owner: str, conversation: str) -> Summary | None:
        return next((s for s in self.summaries(owner) if s.id == conversation), None)

    def create(self, owner: str, title: str) -> str:
        conversation = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations (id, owner, title, created, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation, owner, title, now, now),
            )
        return conversation

    def add_turn(self, owner: str, conversation: str, question: str, answer: qa.Answer) -> None:
        now = time.time()
        with self._db() as db:
            if not self._owns(db, owner, conversation):
                raise KeyError(conversation)
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM turns WHERE conversation = ?",
                (conversation,),
            ).fetchone()
            db.execute(
                "INSERT INTO turns (conversation, seq, question, answer, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation, seq, question, answer_to_json(answer), now),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))

    def turns(self, owner: str, conversation: str) -> list[Turn]:
        with self._db() as db:
            if not self._owns(db, owner, conversation):
                return []
            rows = db.execute(
                "SELECT question, answer FROM turns WHERE conversation = ? ORDER BY seq",
                (conversation,),
            ).fetchall()
        return [Turn(question=q, answer=answer_from_json(a)) for q, a in rows]

    def rename(self, owner: str, conversation: str, title: str) -> bool:
        title = " ".join(shown(title).split())[:200]
        if not title:
            return False
        with self._db() as db:
            cur = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                (title, conversation, owner),
            )
            return cur.rowcount == 1

    def delete(self, owner: str, conversation: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation, owner)
            )
            return cur.rowcount == 1

    @staticmethod
    def _owns(db: sqlite3.Connection, owner: str, conversation: str) -> bool:
        row = db.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation, owner)
        ).fetchone()
        return row is not None
