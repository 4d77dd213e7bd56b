"""The digest ledger: a SQLite file in the state folder that makes the digest weekly-once.

One row per (team, ISO week). The row says "sending" before the message goes to the SMTP
server and "sent" once the server accepted it. What happens in each crash window:

- before "sending" is written, or while sending (server refused, connection dropped):
  the row is missing or "sending", so the next run sends it; nothing reached anyone.
- after the server accepted, before "sent" was written: the next run sends it again,
  with the same Message-ID, so receiving systems that drop duplicates by Message-ID show
  it once. This window lasts the time of one SQLite commit.
- after "sent" is written: never sent again (unless forced).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    team TEXT NOT NULL,
    week TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent')),
    message_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (team, week)
)
"""


class DigestLedger:
    """Which team's digest was sent for which ISO week."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def state(self, team: str, week: str) -> str | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT state FROM digests WHERE team = ? AND week = ?", (team, week)
            ).fetchone()
        return row[0] if row else None

    def attempts(self, team: str, week: str) -> int:
        with self._connect() as db:
            row = db.execute(
                "SELECT attempts FROM digests WHERE team = ? AND week = ?", (team, week)
            ).fetchone()
        return int(row[0]) if row else 0

    def sending(self, team: str, week: str, message_id: str, now: dt.datetime) -> None:
        """Record an attempt before the message leaves (a crash after this is retried)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO digests (team, week, state, message_id, attempts, updated_at) "
                "VALUES (?, ?, 'sending', ?, 1, ?) ON CONFLICT (team, week) DO UPDATE SET "
                "state = 'sending', attempts = attempts + 1, updated_at = excluded.updated_at",
                (team, week, message_id, now.isoformat()),
            )

    def sent(self, team: str, week: str, now: dt.datetime) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE digests SET state = 'sent', updated_at = ? WHERE team = ? AND week = ?",
                (now.isoformat(), team, week),
            )

    def last_sent(self, team: str) -> tuple[str, str] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT week, updated_at FROM digests WHERE team = ? AND "
                "state = 'sent' ORDER BY week DESC LIMIT 1",
                (team,),
            ).fetchone()
        return (row[0], row[1]) if row else None
