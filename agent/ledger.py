"""The digest ledger: a SQLite file in the state folder that makes the digest weekly-once.

One row per (team, week). Claiming a week is one `BEGIN IMMEDIATE` transaction (SQLite
lets one writer in at a time, across processes): it reads the row and, if nobody holds
it, writes "sending" with a lease. So two processes never both send:

- "sent": never claimed again (unless forced).
- "sending" with a live lease: another process is sending right now; not claimed.
- "sending" with an expired lease: its sender crashed (or failed and let go); claimed.

What happens in each crash window:

- before the claim, or while sending (server refused, connection dropped): the row is
  missing, or "sending" and let go (a failure) or left to expire (a crash), so a later
  run sends it; nothing reached anyone.
- after the server accepted, before "sent" was written: the next run after the lease
  sends it again, with the same Message-ID, so receiving systems that drop duplicates
  by Message-ID show it once. This window lasts the time of one SQLite commit.
- after "sent" is written: never sent again (unless forced).

With each sent digest, the ledger keeps every account's status and score at that time:
the next digest compares the state now with what the lead was last told.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS digests (
        team TEXT NOT NULL,
        week TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('sending', 'sent')),
        message_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (team, week)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS digest_accounts (
        team TEXT NOT NULL,
        week TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT,
        score REAL,
        PRIMARY KEY (team, week, key)
    )
    """,
)
# columns added after the first release: an old ledger gains them on open
ADDED_COLUMNS = {"lease_until": "TEXT", "sent_at": "TEXT", "via": "TEXT"}
# how long a claim holds when its process neither finishes nor lets go (a crash)
LEASE = dt.timedelta(minutes=10)
# the account snapshots of this many past digests are kept (four weeks back, and some)
KEEP_SNAPSHOTS = 8


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: whether this process may send, and if not, why."""

    granted: bool
    state: str | None = None  # the row's state before the claim
    sent_at: dt.datetime | None = None  # when it went out, for "already sent"


@dataclass(frozen=True)
class SentDigest:
    """A digest that went out: its week, when, and through what."""

    week: str
    sent_at: dt.datetime
    via: str


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class DigestLedger:
    """Which team's digest was sent for which week, and what each account was then."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            for statement in SCHEMA:
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(digests)")}
            for name, kind in ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE digests ADD COLUMN {name} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: `BEGIN IMMEDIATE` takes the file's write lock at once."""
        # the default rollback journal: switching to WAL takes a lock that two processes
        # opening the ledger at once fight over without waiting ("database is locked")
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")  # waits (up to `timeout`) for another writer
            try:
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

    def claim(
        self,
        team: str,
        week: str,
        message_id: str,
        now: dt.datetime,
        *,
        force: bool = False,
        lease: dt.timedelta = LEASE,
    ) -> Claim:
        """Take the week for this process, atomically; `force` takes a sent week again."""
        with self._connect() as db:
            row = db.execute(
                "SELECT state, lease_until, sent_at FROM digests WHERE team = ? AND week = ?",
                (team, week),
            ).fetchone()
            state, lease_until, sent_at = row if row else (None, None, None)
            held = state == "sending" and (_time(lease_until) or now) > now
            if held or (state == "sent" and not force):
                return Claim(False, state, _time(sent_at))
            db.execute(
                "INSERT INTO digests (team, week, state, message_id, attempts, updated_at, "
                "lease_until) VALUES (?, ?, 'sending', ?, 1, ?, ?) "
                "ON CONFLICT (team, week) DO UPDATE SET state = 'sending', "
                "attempts = attempts + 1, updated_at = excluded.updated_at, "
                "lease_until = excluded.lease_until",
                (team, week, message_id, now.isoformat(), (now + lease).isoformat()),
            )
        return Claim(True, state, _time(sent_at))

    def release(self, team: str, week: str, now: dt.datetime) -> None:
        """Let go of a claim whose send failed: the next run may try at once."""
        with self._connect() as db:
            db.execute(
                "UPDATE digests SET lease_until = ?, updated_at = ? "
                "WHERE team = ? AND week = ? AND state = 'sending'",
                (now.isoformat(), now.isoformat(), team, week),
            )

    def sent(
        self,
        team: str,
        week: str,
        now: dt.datetime,
        *,
        via: str = "",
        accounts: Iterable[tuple[str, str | None, float | None]] = (),
    ) -> None:
        """The server (or the outbox) took it: record it, with each account's state."""
        with self._connect() as db:
            db.execute(
                "UPDATE digests SET state = 'sent', updated_at = ?, sent_at = ?, via = ?, "
                "lease_until = NULL WHERE team = ? AND week = ?",
                (now.isoformat(), now.isoformat(), via, team, week),
            )
            db.execute("DELETE FROM digest_accounts WHERE team = ? AND week = ?", (team, week))
            db.executemany(
                "INSERT OR REPLACE INTO digest_accounts (team, week, key, status, score) "
                "VALUES (?, ?, ?, ?, ?)",
                ((team, week, key, status, score) for key, status, score in accounts),
            )
            db.execute(
                "DELETE FROM digest_accounts WHERE team = ? AND week NOT IN (SELECT DISTINCT "
                "week FROM digest_accounts WHERE team = ? ORDER BY week DESC LIMIT ?)",
                (team, team, KEEP_SNAPSHOTS),
            )

    def last_sent(self, team: str) -> SentDigest | None:
        """The digest that went out last (`health-agent status` shows it)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT week, COALESCE(sent_at, updated_at), COALESCE(via, '') FROM digests "
                "WHERE team = ? AND state = 'sent' ORDER BY COALESCE(sent_at, updated_at) "
                "DESC LIMIT 1",
                (team,),
            ).fetchone()
        return SentDigest(row[0], dt.datetime.fromisoformat(row[1]), row[2]) if row else None

    def accounts_at(self, team: str, week: str) -> dict[str, tuple[str | None, float | None]]:
        """Each account's status and score when the digest of `week` went out ({} if none)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT key, status, score FROM digest_accounts WHERE team = ? AND week = ?",
                (team, week),
            ).fetchall()
        return {key: (status, score) for key, status, score in rows}
