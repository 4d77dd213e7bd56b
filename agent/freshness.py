"""How fresh the scores are: the line a CSM reads on the score's header, and whether the
scores are stale (for `status`). Pure: the time is an argument."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WORDS = {
    "fr": {
        "line": "Scores du {day} à {time} · prochain passage {next}",
        "next_day": "le {day} à {time}",
    },
    "en": {
        "line": "Scores of {day} at {time} · next pass {next}",
        "next_day": "{day} at {time}",
    },
}
STALE_AFTER_PASSES = 3  # passes missed in a row before the scores are called stale
STALE_AT_LEAST = dt.timedelta(minutes=30)


def _day(moment: dt.datetime, language: str) -> str:
    return moment.strftime("%d/%m" if language == "fr" else "%m/%d")


def freshness_line(now: dt.datetime, every_minutes: float, timezone: str, language: str) -> str:
    """ "Scores du 07/12 à 09:41 · prochain passage 09:51", in the team's time zone; the
    next pass's day is said when it is another day. Written only by a pass that writes
    anyway: a CSM who sees a "next pass" long gone knows the agent is down."""
    words = WORDS.get(language, WORDS["en"])
    zone = ZoneInfo(timezone)
    here = now.astimezone(zone)
    after = (now + dt.timedelta(minutes=every_minutes)).astimezone(zone)
    next_text = after.strftime("%H:%M")
    if after.date() != here.date():
        next_text = words["next_day"].format(day=_day(after, language), time=next_text)
    return words["line"].format(
        day=_day(here, language), time=here.strftime("%H:%M"), next=next_text
    )


def stale_since(
    last_success: dt.datetime | None, now: dt.datetime, every_minutes: float
) -> dt.timedelta | None:
    """How old the scores are when they are stale (no successful pass for three passes'
    interval, and at least half an hour), else None. Never synced is not "stale": `status`
    says "never" already."""
    if last_success is None:
        return None
    if last_success.tzinfo is None:
        last_success = last_success.replace(tzinfo=dt.UTC)
    age = now - last_success
    limit = max(dt.timedelta(minutes=every_minutes * STALE_AFTER_PASSES), STALE_AT_LEAST)
    return age if age > limit else None


def age_text(age: dt.timedelta, language: str = "en") -> str:
    """An age as `status` says it: "3 days 2 h" ("3 j 2 h"), "5 h 10 min", "45 min"."""
    minutes = int(age.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        unit = "j" if language == "fr" else f"day{'s' if days > 1 else ''}"
        return f"{days} {unit} {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"
