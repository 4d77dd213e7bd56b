"""The unattended agent: a pass every N minutes and the digest on its day, for months.

APScheduler (3.x) only wakes the agent up; what each wake-up does is in `Agent.sync`
and `Agent.digest`, which take the time as an argument so tests can drive a simulated
week. Exactly-once for the digest lives in the digest ledger, not in the scheduler, so a
digest missed while the machine was off is sent once at the next start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from agent.config import Config
from agent.errors import HealthAgentError
from agent.playbooks.contain import PlaybooksStopped
from agent.state import AgentStatus, StateFolder
from agent.stores.base import Store
from agent.sync import NextActions, PassResult, run_pass

log = logging.getLogger("agent.run")
FAILURES_BEFORE_ALARM = 3

DigestSender = Callable[[dt.datetime, PassResult | None, AgentStatus], "str | None"]


class StopRequested(Exception):
    """Raised inside a pass's waits when the agent is asked to stop: the pass ends unwritten."""


def digest_trigger(config: Config) -> CronTrigger:
    """Fires at `[digest] day`/`time` in the digest's time zone (DST handled by zoneinfo)."""
    hour, minute = (int(p) for p in config.digest.time.split(":"))
    return CronTrigger(
        day_of_week=config.digest.day,
        hour=hour,
        minute=minute,
        timezone=ZoneInfo(config.digest.timezone),
    )


def pass_trigger(
    config: Config, jitter_s: int | None = None, start: dt.datetime | None = None
) -> IntervalTrigger:
    """Every `sync_every_minutes`, with a little jitter so many agents do not call in step."""
    seconds = max(1.0, config.sync_every_minutes * 60)
    jitter = jitter_s if jitter_s is not None else int(min(30, seconds * 0.05))
    return IntervalTrigger(
        seconds=seconds, jitter=jitter or None, start_date=start, timezone=dt.UTC
    )


class Agent:
    """One team's agent: passes over its sheet and its weekly digest."""

    def __init__(
        self,
        config: Config,
        *,
        open_store: Callable[[Callable[[float], None]], Store],
        next_actions: NextActions | Callable[[], NextActions | None] | None,
        send_digest: DigestSender | None,
        state: StateFolder | None = None,
    ) -> None:
        self.config = config
        self.open_store = open_store
        self.next_actions = next_actions
        self.send_digest = send_digest
        self.state = state or StateFolder(config.state_dir)
        self.stopping = threading.Event()
        self._pass_lock = threading.Lock()  # never two passes at once
        self.last_result: PassResult | None = None
        self._good_playbooks: NextActions | None = None
        self._store: Store | None = None
        self._playbook_error = ""

    # --- what one wake-up does ---------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        """The wait between two retries; cut short (and the pass abandoned) on stop."""
        if self.stopping.wait(seconds):
            raise StopRequested()

    def _playbooks(self) -> NextActions | None:
        """This pass's playbooks: re-read so an admin's edit applies at the next pass.

        A broken edit is reported once and the last good set keeps working meanwhile.
        """
        if not callable(self.next_actions):
            return self.next_actions
        try:
            fresh = self.next_actions()
        except HealthAgentError as exc:
            if str(exc) != self._playbook_error:
                log.error(
                    "playbooks not reloaded, the previous ones stay in use: %s",
                    exc,
                    extra={"event": "playbooks_failed"},
                )
                self._playbook_error = str(exc)
            return self._good_playbooks
        self._playbook_error = ""
        self._good_playbooks = fresh
        return fresh

    def sync(self, now: dt.datetime) -> PassResult | None:
        """One pass; a failure is logged in one line and the next pass tries again."""
        with self._pass_lock:
            started = time.perf_counter()
            try:
                if self._store is None:  # one store for the agent's life: one token, reused
                    self._store = self.open_store(self._sleep)
                store = self._store
                result = run_pass(
                    store,
                    self.config,
                    now=now,
                    next_actions=self._playbooks(),
                    stopping=self.stopping,  # a playbook still running is stopped too
                )
            except (StopRequested, PlaybooksStopped):
                log.info("pass stopped before writing: the agent is shutting down")
                return None
            except Exception as exc:  # noqa: BLE001 - the agent must outlive any one pass
                self._record_failure(self.state.read_status(), now, exc)
                return None
        summary = result.summary()
        calls = getattr(store, "calls", None)
        log.info(
            "pass ok: %s rows, %s cells changed, %s history rows, %s calls, %.2fs",
            summary["rows"],
            summary["cells_written"],
            summary["history_rows_written"],
            calls if calls is not None else "-",
            time.perf_counter() - started,
            extra={"event": "pass", "summary": summary, "calls": calls},
        )
        self.state.record_pass(now, summary)
        self.last_result = result
        return result

    def _record_failure(self, status: AgentStatus, now: dt.datetime, exc: Exception) -> None:
        message = (
            str(exc) if isinstance(exc, HealthAgentError) else (f"{type(exc).__name__}: {exc}")
        )
        status.failures_in_a_row += 1
        status.last_error = message
        status.last_error_at = now.isoformat()
        self.state.write_status(status)
        if status.failures_in_a_row >= FAILURES_BEFORE_ALARM:
            since = status.last_success or "never"
            log.error(
                "%d passes failed in a row (last success: %s): %s",
                status.failures_in_a_row,
                since,
                message,
                extra={"event": "pass_failed", "failures": status.failures_in_a_row},
            )
        else:
            log.warning(
                "pass failed, the next pass will retry: %s",
                message,
                extra={"event": "pass_failed", "failures": status.failures_in_a_row},
            )

    def digest(self, now: dt.datetime) -> str | None:
        """Send this week's digest if it is due and not yet sent; returns its ISO week."""
        if self.send_digest is None:
            return None
        result = self.last_result if self.last_result is not None else self.sync(now)
        status = self.state.read_status()
        try:
            week = self.send_digest(now, result, status)
        except Exception as exc:  # noqa: BLE001 - SMTP down must not stop the agent
            log.warning(
                "digest not sent, will retry at the next pass: %s",
                exc,
                extra={"event": "digest_failed"},
            )
            return None
        if week:
            status = self.state.read_status()
            status.last_digest_week = week
            status.last_digest_at = now.isoformat()
            self.state.write_status(status)
            log.info("digest sent for %s", week, extra={"event": "digest", "week": week})
        return week

    def run(
        self, *, clock: Callable[[], dt.datetime] | None = None, install_signals: bool = True
    ) -> int:
        """Run until SIGTERM/SIGINT; returns 0 after a clean stop."""
        return run_agents([self], clock=clock, install_signals=install_signals)

    def _wake_for_pass(self, now: Callable[[], dt.datetime]) -> None:
        if self.stopping.is_set():
            return
        result = self.sync(now())
        self._update_next_times(now())
        if result is not None and self.send_digest is not None:
            self.digest(now())  # a digest that failed (SMTP down) is retried here

    def _wake_for_digest(self, now: Callable[[], dt.datetime]) -> None:
        if not self.stopping.is_set():
            self.digest(now())
            self._update_next_times(now())

    def _update_next_times(self, now: dt.datetime) -> None:
        status = self.state.read_status()
        status.next_pass = (now + dt.timedelta(minutes=self.config.sync_every_minutes)).isoformat()
        fire = digest_trigger(self.config).get_next_fire_time(None, now)
        status.next_digest = fire.isoformat() if fire else None
        self.state.write_status(status)


def run_agents(
    agents: list[Agent],
    *,
    clock: Callable[[], dt.datetime] | None = None,
    install_signals: bool = True,
) -> int:
    """Run one or several teams' agents in one process until SIGTERM/SIGINT; 0 on a clean stop.

    Each agent holds its own state folder's lock; passes of different sheets run one at a
    time (one worker thread), which with the shared rate limit keeps the service account
    under Google's per-user quota.
    """
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    stopping = threading.Event()
    for agent in agents:
        agent.stopping = stopping
    with contextlib.ExitStack() as locks:
        for agent in agents:
            locks.enter_context(agent.state.lock())
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stopping.set())
        scheduler = BackgroundScheduler(
            timezone=dt.UTC, executors={"default": ThreadPoolExecutor(1)}
        )
        for i, agent in enumerate(agents):
            config = agent.config
            scheduler.add_job(
                agent._wake_for_pass,
                pass_trigger(config),
                args=[now],
                id=f"pass-{i}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            scheduler.add_job(
                agent._wake_for_digest,
                digest_trigger(config),
                args=[now],
                id=f"digest-{i}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            log.info(
                "agent started for %s: a pass every %g min, digest %s %s %s",
                config.path,
                config.sync_every_minutes,
                config.digest.day,
                config.digest.time,
                config.digest.timezone,
            )
        scheduler.start()
        try:
            for agent in agents:  # at start: a pass, then any digest still due
                agent._wake_for_pass(now)
                agent._wake_for_digest(now)
            while not stopping.wait(1.0):
                pass
        finally:
            stopping.set()
            scheduler.shutdown(wait=True)  # lets a running pass finish
            log.info("agent stopped")
    return 0
