"""Deliver the week's digest exactly once: when it is due, through the ledger, by mail.

The scheduler only wakes this up; whether a digest is due and not yet sent is decided
here, from the clock given as `now` and the ledger, so a digest missed while the machine
was off goes out once at the next start, and a second run (or process) sends nothing.

Weeks: each digest has a slot, its `[digest] day`/`time` in some ISO week (the ledger's
key, as "2026-W50"), and reports on the seven days before it, named by the ISO week
holding most of them: the Monday 7 December digest (slot W50) covers W49. It compares
the accounts now with what the lead was told in the digests one and four slots before
(kept in the ledger); with no such digest, with the history tab's rows of the week one
and four weeks before the covered one (each holds that week's last state).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from agent.cells import parse_date, parse_number
from agent.config import DAYS, Config
from agent.digest import Digest, DigestFacts, build_digest
from agent.digest_sections import Baseline, history_baseline
from agent.digest_words import OUTCOMES
from agent.history import iso_week, shift_week, week_start
from agent.labels import day_name
from agent.ledger import DigestLedger
from agent.mail import digest_message, message_id, send_smtp, write_outbox
from agent.model_note import model_text
from agent.sync import PassResult

Transport = Callable[[EmailMessage], None]
LEDGER_FILE = "digests.sqlite"
# a digest missed while the machine was off is still sent this long after its time
CATCH_UP = dt.timedelta(days=2)


@dataclass
class Delivery:
    """What happened to this week's digest, in the words the CLI prints."""

    week: str | None  # the slot (ledger key)
    sent: bool
    reason: str  # "sent", "already sent", "being sent", "not due yet", "preview written"
    digest: Digest | None = None
    path: Path | None = None  # the preview or outbox file
    via: str = ""  # "outbox", or the SMTP server's host
    at: dt.datetime | None = None  # when it went out (now, or before for "already sent")
    forced: bool = False


def due_at(config: Config, week: str) -> dt.datetime:
    """When the digest of an ISO week is due: its `[digest] day`/`time`, local time."""
    tz = ZoneInfo(config.digest.timezone)
    hour, minute = (int(p) for p in config.digest.time.split(":"))
    day = week_start(week) + dt.timedelta(days=DAYS.index(config.digest.day))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def last_slot(config: Config, now: dt.datetime) -> str:
    """The week of the latest digest time at or before `now`, whatever day it falls on."""
    local = now.astimezone(ZoneInfo(config.digest.timezone))
    week = iso_week(local.date())
    return week if due_at(config, week) <= local else shift_week(week, -1)


def next_due(config: Config, now: dt.datetime) -> dt.datetime:
    """The next digest time after `now`."""
    return due_at(config, shift_week(last_slot(config, now), 1))


def covered_week(config: Config, slot: str) -> str:
    """The ISO week a slot's digest reports on: the one holding most of the 7 days before."""
    middle = due_at(config, slot) - dt.timedelta(days=3, hours=12)
    return iso_week(middle.date())


def due_week(config: Config, ledger: DigestLedger, now: dt.datetime) -> str | None:
    """The slot whose digest is due at `now` and not yet sent, if any."""
    week = last_slot(config, now)
    if now - due_at(config, week) >= CATCH_UP:
        return None  # too late to be news: wait for the next one
    return None if ledger.state(config.digest.team, week) == "sent" else week


def ledger_for(config: Config) -> DigestLedger:
    return DigestLedger(config.state_dir / LEDGER_FILE)


def baselines(
    config: Config, ledger: DigestLedger, history: pd.DataFrame, slot: str
) -> tuple[Baseline | None, Baseline | None]:
    """The state one and four weeks before: the earlier digests, else the history tab."""
    covered = covered_week(config, slot)
    found: list[Baseline | None] = []
    for back in (1, 4):
        told = ledger.accounts_at(config.digest.team, shift_week(slot, -back))
        if told:
            found.append(Baseline(told, "digest"))
        else:
            found.append(history_baseline(history, shift_week(covered, -back)))
    return found[0], found[1]


def digest_accounts(result: PassResult, config: Config) -> pd.DataFrame:
    """The pass's accounts, with their renewal date and value when the config names them."""
    accounts = result.accounts
    raw = result.raw
    extra: dict[str, pd.Series] = {}
    for name, column, parse in (
        ("renewal", config.sheet.renewal_column, parse_date),
        ("value", config.sheet.value_column, parse_number),
    ):
        if column and raw is not None and column in raw:
            parsed = [parse(v) for v in raw[column].tolist()]
            extra[name] = pd.Series(parsed, index=accounts.index, dtype=object)
    return accounts.assign(**extra) if extra else accounts


def render(
    config: Config,
    result: PassResult,
    *,
    slot: str,
    ledger: DigestLedger,
    location: str,
    last_synced: dt.datetime | None,
    now: dt.datetime,
) -> Digest:
    """The digest of a slot from a pass, compared with the earlier digests or history."""
    week_ago, four_ago = baselines(config, ledger, result.history, slot)
    if not location.startswith(("http://", "https://")):
        location = str(Path(location).resolve())  # a path the lead can open from anywhere
    facts = DigestFacts(
        week=covered_week(config, slot),
        pass_week=result.week,
        scale=config.model.scale,
        language=config.language,
        location=location,
        team=config.digest.team,
        model_version=config.model.version(),
        model_text=model_text(config.model, config.language),
        last_synced=last_synced,
        now=now,
        today=now.astimezone(ZoneInfo(config.digest.timezone)).date(),
        week_ago=week_ago,
        four_weeks_ago=four_ago,
        write_note=result.report.note,
    )
    return build_digest(
        digest_accounts(result, config), result.history, facts, config.digest.templates
    )


def _preview(digest: Digest, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.with_suffix("")
    html = digest.html.replace("cid:status-chart", f"{stem.name}.png")
    target.write_text(html, encoding="utf-8")
    stem.with_suffix(".png").write_bytes(digest.chart_png)
    return target


def deliver(
    config: Config,
    result: PassResult,
    *,
    now: dt.datetime,
    location: str,
    last_synced: dt.datetime | None,
    force: bool = False,
    by_hand: bool = False,
    dry_run: bool = False,
    preview: Path | None = None,
    transport: Transport | None = None,
    env: Mapping[str, str] = os.environ,
) -> Delivery:
    """Send this week's digest if due and not yet sent.

    `by_hand` (an admin's `health-agent digest`) sends the latest slot's digest however
    late; `force` sends it again; `dry_run` and `preview` only write a preview.
    """
    ledger = ledger_for(config)
    team = config.digest.team
    latest = last_slot(config, now)
    week = latest if (force or by_hand or dry_run or preview) else due_week(config, ledger, now)
    if week is None:
        state = ledger.state(team, latest)
        return Delivery(None, False, "already sent" if state == "sent" else "not due yet")
    if dry_run or preview:
        digest = render(
            config,
            result,
            slot=week,
            ledger=ledger,
            location=location,
            last_synced=last_synced,
            now=now,
        )
        target = preview or (config.digest.outbox / f"{digest.week}-{team}-preview.html")
        return Delivery(week, False, "preview written", digest, _preview(digest, target))
    sender = config.smtp.sender if config.smtp else "Health agent <health-agent@localhost>"
    msg_id = message_id(team, week, sender)
    claim = ledger.claim(team, week, msg_id, now, force=force)
    if not claim.granted:
        reason = "being sent" if claim.state == "sending" else "already sent"
        return Delivery(week, False, reason, at=claim.sent_at)
    try:
        digest = render(
            config,
            result,
            slot=week,
            ledger=ledger,
            location=location,
            last_synced=last_synced,
            now=now,
        )
        message = digest_message(
            digest, sender=sender, to=config.digest.to, msg_id=msg_id, date=now
        )
        path, via = _send(message, digest, config, transport, env)
    except BaseException:
        ledger.release(team, week, now)  # failed, not crashed: the next run may try at once
        raise
    accounts = [
        (key, status if isinstance(status, str) else None, None if s != s else float(s))
        for key, status, s in zip(
            result.accounts["key"], result.accounts["status"], result.accounts["shown"], strict=True
        )
    ]
    ledger.sent(team, week, now, via=via, accounts=accounts)
    return Delivery(week, True, "sent", digest, path, via, now, forced=claim.state == "sent")


def _send(
    message: EmailMessage,
    digest: Digest,
    config: Config,
    transport: Transport | None,
    env: Mapping[str, str],
) -> tuple[Path | None, str]:
    """Hand the message over: a test's transport, the SMTP server, or the outbox."""
    if transport is not None:
        transport(message)
        return None, "transport"
    if config.smtp is not None:
        send_smtp(message, config.smtp, config.digest.to, env)
        return None, config.smtp.host
    return write_outbox(message, digest, config.digest.outbox, config.digest.team), "outbox"


def digest_by_hand(
    config: Config,
    *,
    now: dt.datetime,
    force: bool = False,
    dry_run: bool = False,
    preview: Path | None = None,
    transport: Transport | None = None,
    env: Mapping[str, str] = os.environ,
) -> Delivery:
    """`health-agent digest`: read the sheet (writing nothing), then deliver by hand."""
    from agent.from_config import load_next_actions, open_store, sheet_location
    from agent.sync import run_pass

    result = run_pass(
        open_store(config), config, now=now, next_actions=load_next_actions(config), dry_run=True
    )
    return deliver(
        config,
        result,
        now=now,
        location=sheet_location(config),
        last_synced=now,  # the sheet was just read
        force=force,
        by_hand=True,
        dry_run=dry_run,
        preview=preview,
        transport=transport,
        env=env,
    )


def outcome_lines(config: Config, outcome: Delivery, now: dt.datetime) -> list[str]:
    """What `health-agent digest` says happened, truthfully, and when the next one is due,
    in the config's language."""
    tz = ZoneInfo(config.digest.timezone)
    say = OUTCOMES.get(config.language, OUTCOMES["en"])

    def when(moment: dt.datetime) -> str:
        local = moment.astimezone(tz)
        return f"{day_name(local.weekday(), config.language)} {local:%d/%m %H:%M}"

    lines = [outcome.digest.subject] if outcome.digest is not None else []
    to = ", ".join(config.digest.to)
    if outcome.reason == "preview written":
        lines.append(say["preview"].format(path=outcome.path))
    elif outcome.sent and outcome.via == "outbox":
        lines.append(say["outbox_again" if outcome.forced else "outbox"].format(path=outcome.path))
    elif outcome.sent:
        lines.append(say["sent_again" if outcome.forced else "sent"].format(to=to, via=outcome.via))
    elif outcome.reason == "being sent":
        lines.append(say["being_sent"])
    elif outcome.at is not None:
        lines.append(say["already"].format(when=when(outcome.at)))
    else:
        lines.append(say["not_sent"].format(reason=say.get(outcome.reason, outcome.reason)))
    lines.append(say["next"].format(when=when(next_due(config, now)), tz=config.digest.timezone))
    return lines
