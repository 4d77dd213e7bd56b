"""Deliver the week's digest exactly once: when it is due, through the ledger, by mail.

The scheduler only wakes this up; whether a digest is due and not yet sent is decided
here, from the clock given as `now` and the ledger, so a digest missed while the machine
was off goes out once at the next start, and a second run in the same week sends nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.config import DAYS, Config
from agent.digest import Digest, build_digest
from agent.history import iso_week, week_start
from agent.ledger import DigestLedger
from agent.mail import digest_message, message_id, send_smtp, write_outbox
from agent.sync import PassResult

Transport = Callable[[EmailMessage], None]
LEDGER_FILE = "digests.sqlite"
# a digest missed while the machine was off is still sent this long after its time
CATCH_UP = dt.timedelta(days=2)


@dataclass
class Delivery:
    """What happened to this week's digest."""

    week: str | None
    sent: bool
    reason: str
    digest: Digest | None = None
    path: Path | None = None  # the preview or outbox file


def due_at(config: Config, week: str) -> dt.datetime:
    """When the digest of an ISO week is due: its `[digest] day`/`time`, local time."""
    tz = ZoneInfo(config.digest.timezone)
    hour, minute = (int(p) for p in config.digest.time.split(":"))
    day = week_start(week) + dt.timedelta(days=DAYS.index(config.digest.day))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def due_week(config: Config, ledger: DigestLedger, now: dt.datetime) -> str | None:
    """The ISO week whose digest is due at `now` and not yet sent, if any."""
    local = now.astimezone(ZoneInfo(config.digest.timezone))
    week = iso_week(local.date())
    due = due_at(config, week)
    if local < due or local >= due + CATCH_UP:
        return None  # too early, or too late to be news: wait for next week's
    return None if ledger.state(config.digest.team, week) == "sent" else week


def ledger_for(config: Config) -> DigestLedger:
    return DigestLedger(config.state_dir / LEDGER_FILE)


def render(
    config: Config,
    result: PassResult,
    *,
    week: str,
    location: str,
    last_synced: dt.datetime | None,
    now: dt.datetime,
) -> Digest:
    return build_digest(
        result.accounts,
        result.history,
        week=week,
        scale=config.model.scale,
        language=config.language,
        location=location,
        team=config.digest.team,
        model_version=config.model.version(),
        last_synced=last_synced,
        now=now,
        templates_dir=config.digest.templates,
    )


def deliver(
    config: Config,
    result: PassResult,
    *,
    now: dt.datetime,
    location: str,
    last_synced: dt.datetime | None,
    force: bool = False,
    dry_run: bool = False,
    preview: Path | None = None,
    transport: Transport | None = None,
    env: Mapping[str, str] = os.environ,
) -> Delivery:
    """Send this week's digest if due (or forced); `dry_run` only writes a preview."""
    ledger = ledger_for(config)
    team = config.digest.team
    local_week = iso_week(now.astimezone(ZoneInfo(config.digest.timezone)).date())
    week = local_week if (force or dry_run or preview) else due_week(config, ledger, now)
    if week is None:
        state = ledger.state(team, local_week)
        reason = "already sent" if state == "sent" else "not due yet"
        return Delivery(None, False, reason)
    digest = render(config, result, week=week, location=location, last_synced=last_synced, now=now)
    if dry_run or preview:
        target = preview or (config.digest.outbox / f"{week}-{team}.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        stem = target.with_suffix("")
        target.write_text(
            digest.html.replace("cid:status-chart", f"{stem.name}.png"), encoding="utf-8"
        )
        stem.with_suffix(".png").write_bytes(digest.chart_png)
        return Delivery(week, False, "preview written", digest, target)
    sender = config.smtp.sender if config.smtp else "Health agent <health-agent@localhost>"
    msg_id = message_id(team, week, sender)
    message = digest_message(digest, sender=sender, to=config.digest.to, msg_id=msg_id, date=now)
    ledger.sending(team, week, msg_id, now)
    path = None
    if transport is not None:
        transport(message)
    elif config.smtp is not None:
        send_smtp(message, config.smtp, config.digest.to, env)
    else:
        path = write_outbox(message, digest, config.digest.outbox, team)
    ledger.sent(team, week, now)
    return Delivery(week, True, "sent", digest, path)
