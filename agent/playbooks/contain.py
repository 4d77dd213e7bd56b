"""The second wall around playbooks: a pass's templates run in a worker process that the
system limits in memory and a watchdog stops.

The sandbox (`sandbox.py`) refuses every runaway it can foresee, fast and with a reason.
This module holds whatever it cannot: the worker is a fork of the pass (it reads the
accounts without copying them) whose address space may grow by `WORKER_MEMORY` at most
(RLIMIT_AS: past it, an allocation fails with MemoryError, caught like any template
failure), and the parent watches, through shared memory, which playbook it is running on
which account. One render stalled past `WATCHDOG_SECONDS`, or a worker that dies, names
that playbook: the worker is killed and the choice made again without it (at most once
per playbook). Asked to stop (SIGTERM under `run`), the parent kills the worker at once.

Where there is no `fork` (not Linux, macOS or BSD), templates run in the pass's own
process, behind the sandbox only.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

WORKER_MEMORY = 256 * 1024 * 1024  # what the worker may allocate beyond the pass's own
WATCHDOG_SECONDS = 2.0  # one condition or body running longer is stopped from outside
POLL_SECONDS = 0.05
WHEN, BODY = 1, 2  # what part of a playbook the worker is running
PARTS = {WHEN: "when", BODY: "body"}


class Stopping(Protocol):
    def is_set(self) -> bool: ...


class PlaybooksStopped(Exception):
    """The agent was asked to stop while playbooks were running: the pass ends unwritten."""


@dataclass
class Blame:
    """The playbook a worker was running when it had to be stopped, or died."""

    index: int
    part: str
    account: int
    what: str


class Watch:
    """What the worker is running (playbook, part, account), readable by the parent:
    a few bytes of shared memory, written without a system call."""

    LAYOUT = struct.Struct("qqqq")  # sequence, playbook index + 1 (0: none), part, account

    def __init__(self) -> None:
        self.memory = mmap.mmap(-1, self.LAYOUT.size)
        self.sequence = 0

    def enter(self, index: int, part: int, account: int) -> None:
        self.sequence += 1
        self.LAYOUT.pack_into(self.memory, 0, self.sequence, index + 1, part, account)

    def leave(self) -> None:
        self.LAYOUT.pack_into(self.memory, 0, self.sequence, 0, 0, 0)

    def read(self) -> tuple[int, int, int, int]:
        sequence, index, part, account = self.LAYOUT.unpack_from(self.memory, 0)
        return sequence, index, part, account

    def blame(self, what: str) -> Blame | None:
        _, index, part, account = self.read()
        return Blame(index - 1, PARTS.get(part, "body"), account, what) if index else None

    def close(self) -> None:
        self.memory.close()


@dataclass
class _Crashed:
    """What a worker sends back when its own code (not a template) failed."""

    message: str


def _memory_in_use() -> int | None:
    """This process's address space in bytes (None where /proc does not say)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _limit_memory(extra: int) -> None:
    import resource

    in_use = _memory_in_use()
    if in_use is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = in_use + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker(work: Callable[[Watch], Any], watch: Watch, out: int) -> None:
    """The forked worker: run, send the result, exit without running the parent's exit
    handlers or flushing its buffers."""
    try:
        try:
            _limit_memory(WORKER_MEMORY)
            data = pickle.dumps(work(watch), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            data = pickle.dumps(_Crashed(f"{type(exc).__name__}: {exc}"))
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        os._exit(0)
    finally:
        os._exit(1)


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_in_worker(
    work: Callable[[Watch], Any], stopping: Stopping | None = None
) -> Any | Blame | _Crashed:
    """`work` run in a forked worker: its result, or the playbook to blame when it had to
    be stopped or died. Raises PlaybooksStopped when `stopping` is set meanwhile."""
    watch = Watch()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the worker; what it does is seen through its result
        os.close(read_end)
        _worker(work, watch, write_end)
    os.close(write_end)
    chunks: list[bytes] = []
    done = False
    try:
        blame = _follow(read_end, chunks, watch, stopping)
        if blame is None:
            done = True
    finally:
        os.close(read_end)
        if not done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        watch_state = watch.blame(_death(status)) if done else None
        watch.close()
    if blame is not None:
        return blame
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - cut short: the worker died while sending or before
        return watch_state or _Crashed(f"the playbooks' worker process {_death(status)}")


def _follow(
    read_end: int, chunks: list[bytes], watch: Watch, stopping: Stopping | None
) -> Blame | None:
    """Read the worker's result until it closes its end; a Blame when one render stalls."""
    seen, since = watch.read(), time.monotonic()
    while True:
        ready, _, _ = select.select([read_end], [], [], POLL_SECONDS)
        if ready:
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                return None
            chunks.append(chunk)
            continue
        if stopping is not None and stopping.is_set():
            raise PlaybooksStopped("stopped while playbooks were running")
        state = watch.read()
        if state != seen:
            seen, since = state, time.monotonic()
        elif state[1] and time.monotonic() - since > WATCHDOG_SECONDS:
            return watch.blame(f"ran longer than {WATCHDOG_SECONDS:g}s and was stopped")


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
