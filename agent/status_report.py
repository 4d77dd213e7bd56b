"""`health-agent status`: passes and digests made by `run` or by hand, in the team's time
zone, to the second, and in the config's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from agent.config import Config
from agent.freshness import age_text, stale_since
from agent.labels import day_name
from agent.state import StateFolder

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "never": "jamais",
        "none": "aucune",
        "last_success": "dernier passage réussi : {t}",
        "last_error": "dernière erreur :        {t}",
        "failures": "échecs d'affilée :       {n}",
        "next_pass": "prochain passage :       {t}",
        "not_running": "quand l'agent tourne (health-agent run)",
        "next_digest": "prochain résumé :        {t}",
        "last_digest": "dernier résumé envoyé :  {t}",
        "last_pass": "dernier passage : {rows} comptes, {green} verts, {orange} orange, "
        "{red} rouges",
        "wrote_nothing": "le dernier passage n'a rien écrit : {note}",
        "stale": "scores périmés : aucun passage réussi depuis {age} "
        "(un passage est prévu toutes les {every} minutes)",
    },
    "en": {
        "never": "never",
        "none": "none",
        "last_success": "last successful pass: {t}",
        "last_error": "last error:           {t}",
        "failures": "failed passes in a row: {n}",
        "next_pass": "next pass:            {t}",
        "not_running": "when the agent runs",
        "next_digest": "next digest:          {t}",
        "last_digest": "last digest sent:     {t}",
        "last_pass": "last pass: {rows} rows, {green} green, {orange} orange, {red} red",
        "wrote_nothing": "last pass wrote nothing: {note}",
        "stale": "scores are stale: no successful pass for {age} "
        "(one is due every {every} minutes)",
    },
}


def shown_time(value: str | dt.datetime | None, timezone: str, language: str = "en") -> str:
    """A stored time as the team reads it: its time zone, to the second ("never" if none)."""
    words = WORDS.get(language, WORDS["en"])
    if not value:
        return words["never"]
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = when.astimezone(ZoneInfo(timezone))
    return f"{day_name(local.weekday(), language)} {local:%d/%m/%Y %H:%M:%S %Z}"


def describe_status(config: Config, now: dt.datetime) -> list[str]:
    """The lines `health-agent status` prints: passes and digests made by `run` or by hand."""
    from agent.delivery import ledger_for, next_due

    lang = config.language
    words = WORDS.get(lang, WORDS["en"])
    status = StateFolder(config.state_dir).read_status()
    tz = config.digest.timezone

    def time(value: str | dt.datetime | None) -> str:
        return shown_time(value, tz, lang)

    last = ledger_for(config).last_sent(config.digest.team)
    digest = f"{time(last.sent_at)} ({last.week}, {last.via})" if last else words["never"]
    error = (
        f"{time(status.last_error_at)} {status.last_error or ''}" if status.last_error_at else ""
    )
    lines = [
        words["last_success"].format(t=time(status.last_success)),
        words["last_error"].format(t=error or words["none"]),
        words["failures"].format(n=status.failures_in_a_row),
        words["next_pass"].format(
            t=time(status.next_pass) if status.next_pass else words["not_running"]
        ),
        words["next_digest"].format(t=time(next_due(config, now))),
        words["last_digest"].format(t=digest),
    ]
    if status.last_pass:
        s = status.last_pass
        lines.append(
            words["last_pass"].format(
                rows=s.get("rows"), green=s.get("green"), orange=s.get("orange"), red=s.get("red")
            )
        )
        if s.get("write_note"):
            lines.append(words["wrote_nothing"].format(note=s["write_note"]))
    age = stale_since(status.last_success_time(), now, config.sync_every_minutes)
    if age is not None:  # what the CSMs see is that old: say so first
        every = f"{config.sync_every_minutes:g}"
        lines.insert(0, words["stale"].format(age=age_text(age, lang), every=every))
    return [line.rstrip() for line in lines]
