"""The second wall around playbooks: templates run in a worker process that the system
limits in memory and a watchdog stops.

The sandbox (`sandbox.py`) refuses every runaway it can foresee, fast and with a reason.
This module holds whatever it cannot. A pass works out which templates to run (and keeps
every result for the accounts with the same values) in its own process; each condition
or body it does run, it asks of a worker, sending the account's context. The worker is a
fork made when the playbooks are loaded, before the sheet is read: small, and sharing no
page the pass then writes (a fork made later makes the pass pay to copy every page of the
sheet it touches while the worker lives). The worker's address space
may grow by `WORKER_MEMORY` at most (RLIMIT_AS: past it an allocation fails with
MemoryError, a failure of the template like any other). A template that has not answered
after `WATCHDOG_SECONDS`, or a worker that dies, fails that playbook: the worker is killed
and the next template gets a new one. Asked to stop (SIGTERM under `run`), the pass kills
the worker at once.

Where there is no `fork` (not Linux, macOS or BSD), templates run in the pass's own
process, behind the sandbox only.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
import time
import weakref
from typing import Any, Protocol

WORKER_MEMORY = 128 * 1024 * 1024  # what the worker may allocate beyond what it was forked with
WATCHDOG_SECONDS = 2.0  # a condition or body running longer is stopped from outside
POLL_SECONDS = 0.05
_LENGTH = struct.Struct("!I")


class Stopping(Protocol):
    def is_set(self) -> bool: ...


class PlaybooksStopped(Exception):
    """The agent was asked to stop while playbooks were running: the pass ends unwritten."""


class TemplateFailed(Exception):
    """A template's failure as the worker reported it, or as the watchdog saw it."""

    def __init__(self, reason: str, runaway: bool) -> None:
        super().__init__(reason)
        self.runaway = runaway


class Templates(Protocol):
    """What runs a pass's templates: playbook `index`'s condition or body on a context."""

    def when(self, index: int, context: dict[str, Any]) -> bool: ...

    def body(self, index: int, context: dict[str, Any]) -> tuple[str, bool]: ...


def _close_all_but(*keep: int) -> None:
    """In the worker: close every file it was forked with but its two pipes and the
    standard streams, as subprocess does. Otherwise it holds the agent's connections (to
    Google, to the SMTP server) open: one the agent closes, or a server resets, would stay
    open for as long as the worker lives."""
    low = 0
    for fd in sorted(set(keep)):
        if low < fd:  # never an empty range: closerange(0, 0) closes every file on Linux
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, os.sysconf("SC_OPEN_MAX")))


def can_fork() -> bool:
    return hasattr(os, "fork")


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


def _packed(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _send(fd: int, message: Any) -> None:
    _write(fd, _packed(message))


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, missing = [], size
    while missing:
        chunk = os.read(fd, missing)
        if not chunk:
            return None
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def _receive(fd: int) -> Any:
    """The next message on `fd`; EOFError when the other end closed."""
    head = _read_exactly(fd, _LENGTH.size)
    payload = None if head is None else _read_exactly(fd, _LENGTH.unpack(head)[0])
    if payload is None:
        raise EOFError
    return pickle.loads(payload)


def _serve(templates: Templates, requests: int, answers: int) -> None:
    """The worker's loop: a request, its answer, until the pass closes its end."""
    from agent.playbooks.sandbox import failure_reason, is_runaway

    for stop in (signal.SIGTERM, signal.SIGINT):  # not the agent's handlers: a stop ends it
        signal.signal(stop, signal.SIG_DFL)
    gc.freeze()  # the collector never walks (so never copies) what the pass made
    _limit_memory(WORKER_MEMORY)
    while True:
        try:
            part, index, context = _receive(requests)
        except EOFError:
            return
        try:
            if part == "when":
                answer: Any = ("ok", templates.when(index, context))
            else:
                answer = ("ok", templates.body(index, context))
        except Exception as exc:  # noqa: BLE001 - every failure is the template's
            answer = ("failed", failure_reason(exc), is_runaway(exc))
        _send(answers, answer)


class Worker:
    """Templates run in a forked worker, each under the watchdog; `stopping` set meanwhile
    kills the worker and raises PlaybooksStopped."""

    def __init__(self, templates: Templates, stopping: Stopping | None = None) -> None:
        # weakly: the worker's owner (its playbooks) may end it when it is collected
        self.templates = weakref.ref(templates)
        self.stopping = stopping
        self.pid = 0
        self.requests = self.answers = -1

    def when(self, index: int, context: dict[str, Any]) -> bool:
        answer: bool = self._ask(("when", index, context))
        return answer

    def body(self, index: int, context: dict[str, Any]) -> tuple[str, bool]:
        answer: tuple[str, bool] = self._ask(("body", index, context))
        return answer

    def start(self) -> None:
        """Fork the worker now (at the first template otherwise)."""
        if self.pid:
            return
        templates = self.templates()
        if templates is None:
            raise TemplateFailed("the playbooks are gone", True)
        request_read, self.requests = os.pipe()
        self.answers, answer_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker; seen through its answers
            try:
                _close_all_but(0, 1, 2, request_read, answer_write)
                _serve(templates, request_read, answer_write)
            finally:
                os._exit(0)
        self.pid = pid
        os.close(request_read)
        os.close(answer_write)

    def _ask(self, request: tuple[Any, ...]) -> Any:
        try:
            data = _packed(request)
        except Exception:  # noqa: BLE001 - a sheet value pickle cannot send: run it here
            return self._in_this_process(request)
        for _ in range(2):  # a worker that died waiting (killed from outside): a new one
            if not self.pid:
                try:
                    self.start()
                except OSError:  # no process to be had: this template behind the sandbox only
                    return self._in_this_process(request)
            try:
                _write(self.requests, data)
                break
            except OSError:
                self._end()
        else:
            raise TemplateFailed("its worker process could not be started", True)
        answer = self._answer()
        if answer[0] == "failed":
            raise TemplateFailed(answer[1], answer[2])
        return answer[1]

    def _in_this_process(self, request: tuple[Any, ...]) -> Any:
        templates = self.templates()
        if templates is None:
            raise TemplateFailed("the playbooks are gone", True)
        part, index, context = request
        return templates.when(index, context) if part == "when" else templates.body(index, context)

    def _answer(self) -> Any:
        """The worker's answer, waited for under the watchdog and the stop request."""
        deadline = time.monotonic() + WATCHDOG_SECONDS
        answers = select.poll()  # not select(): a descriptor past 1024 is fine
        answers.register(self.answers, select.POLLIN)
        while True:
            if answers.poll(POLL_SECONDS * 1000):
                try:
                    return _receive(self.answers)
                except EOFError:
                    death = self._end()
                    raise TemplateFailed(f"its worker process {death}", True) from None
            if self.stopping is not None and self.stopping.is_set():
                self._end()
                raise PlaybooksStopped("stopped while playbooks were running")
            if time.monotonic() > deadline:
                self._end()
                raise TemplateFailed(f"ran longer than {WATCHDOG_SECONDS:g}s and was stopped", True)

    def close(self) -> None:
        self._end()

    def _end(self) -> str:
        """Kill the worker (if any) and say how it ended."""
        if not self.pid:
            return "was not running"
        for fd in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return _death(status)


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
