"""The state folder: one agent per folder (a lock), and what the last passes did.

`status.json` is written atomically (a temporary file, then a rename) so that
`health-agent status` never reads half a file, even if the agent is killed mid-write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import AlreadyRunningError

LOCK_FILE = "agent.lock"
STATUS_FILE = "status.json"


@dataclass
class AgentStatus:
    """What `health-agent status` shows, kept between runs."""

    last_success: str | None = None  # ISO datetime of the last pass that wrote or checked
    last_error: str | None = None  # the sentence of the last failure
    last_error_at: str | None = None
    failures_in_a_row: int = 0
    next_pass: str | None = None
    next_digest: str | None = None
    last_digest_week: str | None = None
    last_digest_at: str | None = None
    last_pass: dict[str, Any] = field(default_factory=dict)  # the summary of the last pass
    pid: int | None = None

    def last_success_time(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.last_success) if self.last_success else None


class StateFolder:
    """The folder where the agent keeps its lock, status and digest ledger."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock for the life of the agent; refuse a second agent at once."""
        self.ensure()
        lock_path = self.path / LOCK_FILE
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise AlreadyRunningError(
                    f"Another agent (process id {holder}) is already running with the state "
                    f"folder {self.path}. Stop it first (kill {holder}), or give this one "
                    "another `[state] dir`."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()  # closing releases the lock

    def read_status(self) -> AgentStatus:
        try:
            data = json.loads((self.path / STATUS_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return AgentStatus()
        known = AgentStatus.__dataclass_fields__
        return AgentStatus(**{k: v for k, v in data.items() if k in known})

    def record_pass(self, now: dt.datetime, summary: dict[str, Any]) -> AgentStatus:
        """A pass that went through (by `run` or by hand): `status` shows it."""
        status = self.read_status()
        status.last_success = now.isoformat()
        status.failures_in_a_row = 0
        status.last_pass = summary
        self.write_status(status)
        return status

    def write_status(self, status: AgentStatus) -> None:
        self.ensure()
        fd, tmp = tempfile.mkstemp(prefix=".status-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(status), out, ensure_ascii=False, indent=2)
        os.replace(tmp, self.path / STATUS_FILE)
