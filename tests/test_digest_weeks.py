"""Six weeks of `run` under a fake clock on a workbook, CSMs editing cells on weekdays:
each Monday's digest reports on the week that just ended."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from agent.config import Config, load_config
from agent.delivery import deliver, ledger_for
from agent.digest import Digest
from agent.from_config import load_next_actions, open_store, sheet_location
from agent.schedule import Agent, digest_trigger, pass_trigger
from agent.sheet_templates import init
from agent.state import StateFolder
from tests.test_schedule import fire_times
from tests.test_scoring import LOW, MID, TOP

WARM_UP = dt.datetime(2026, 8, 16, 18, 0, tzinfo=dt.UTC)  # a Sunday: 8 weeks of history
START = dt.datetime(2026, 10, 5, 0, 0, tzinfo=dt.UTC)  # Monday of W41
END = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)  # Monday of W47, after its digest
CRITERIA = [
    "Utilisation hebdomadaire",
    "Réactivité aux relances",
    "Feedback client",
    "Adoption des nouveautés",
]
# (UTC time, account, its four criteria): what CSMs type, on various weekdays at noon
EDITS = [
    # Garage Dupuis declines over three weeks: 6 -> 5 -> 4 -> 3
    (
        dt.datetime(2026, 10, 13, 12, tzinfo=dt.UTC),
        "Garage Dupuis",
        [TOP[0], TOP[1], MID[2], LOW[3]],
    ),
    (
        dt.datetime(2026, 10, 22, 12, tzinfo=dt.UTC),
        "Garage Dupuis",
        [TOP[0], MID[1], MID[2], LOW[3]],
    ),
    (
        dt.datetime(2026, 10, 30, 12, tzinfo=dt.UTC),
        "Garage Dupuis",
        [MID[0], MID[1], MID[2], LOW[3]],
    ),
    # Institut Beauté Zen improves on a Wednesday: 5 (orange) -> 7 (green)
    (
        dt.datetime(2026, 10, 14, 12, tzinfo=dt.UTC),
        "Institut Beauté Zen",
        [TOP[0], MID[1], TOP[2], TOP[3]],
    ),
    # Fleuriste Rose & Lys turns red on a Wednesday: 7 -> 0
    (dt.datetime(2026, 10, 21, 12, tzinfo=dt.UTC), "Fleuriste Rose & Lys", LOW),
]


def edit(workbook: Path, account: str, values: list[str]) -> None:
    """A CSM's save in a spreadsheet program, between two passes."""
    wb = load_workbook(workbook)
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == account:
            for column, value in zip(CRITERIA, values, strict=True):
                row[header.index(column)].value = value
    wb.save(workbook)


def run_six_weeks(tmp_path: Path) -> tuple[Config, list[tuple[dt.datetime, Digest]]]:
    init("startup", "fr", tmp_path / "comptes.xlsx", tmp_path / "config.toml")
    config = load_config(tmp_path / "config.toml")
    sent: list[tuple[dt.datetime, Digest]] = []

    def send(now: dt.datetime, result: Any, status: Any) -> str | None:  # from_config's, recorded
        outcome = deliver(
            config,
            result,
            now=now,
            location=sheet_location(config),
            last_synced=status.last_success_time(),
        )
        if outcome.sent and outcome.digest is not None:
            sent.append((now, outcome.digest))
        return outcome.week if outcome.sent else None

    agent = Agent(
        config,
        open_store=lambda sleep: open_store(config, sleep),
        next_actions=lambda: load_next_actions(config),
        send_digest=send,
        state=StateFolder(config.state_dir),
    )
    for week in range(8):  # the agent ran before: one pass each Sunday evening
        agent.sync(WARM_UP + dt.timedelta(weeks=week))
    events: list[tuple[dt.datetime, str, Any]] = []
    every_8_hours = pass_trigger(replace(config, sync_every_minutes=480), jitter_s=0, start=START)
    events += [(t, "pass", None) for t in fire_times(every_8_hours, START, END)]
    events += [(t, "digest", None) for t in fire_times(digest_trigger(config), START, END)]
    events += [(t, "edit", (name, values)) for t, name, values in EDITS]
    for when, kind, what in sorted(events, key=lambda e: e[0]):
        if kind == "edit":
            edit(config.sheet.workbook or Path(), *what)
        elif kind == "pass":
            agent._wake_for_pass(lambda when=when: when)
        else:
            agent._wake_for_digest(lambda when=when: when)
    return config, sent


def keys(digest: Digest, section: str) -> list[str]:
    return [r["key"] for r in digest.sections[section]["rows"]]


def test_six_weeks_of_run_each_monday_digest_reports_the_week_that_ended(tmp_path):
    config, sent = run_six_weeks(tmp_path)
    paris = [when.astimezone(digest_trigger(config).timezone) for when, _ in sent]
    assert [(d.weekday(), d.hour) for d in paris] == [(0, 8)] * 7  # Mondays 08:00, DST or not
    digests = {d.week: d for _, d in sent}
    assert list(digests) == [f"2026-W{n}" for n in range(40, 47)]
    assert digests["2026-W46"].subject == "Santé clients S46 : 6 vert · 2 orange · 4 rouge"

    quiet = digests["2026-W41"]  # nothing moved during W41
    for section in ("turned_red", "declining", "improved"):
        assert keys(quiet, section) == []
    assert quiet.sections["counts"]["week_ago"] == {"green": 7, "orange": 2, "red": 3}

    w42 = digests["2026-W42"]  # Tuesday: Garage 6 -> 5; Wednesday: Institut 5 -> 7
    assert keys(w42, "improved") == ["Institut Beauté Zen"]
    assert "Garage Dupuis" in keys(w42, "call_first")  # orange and going down
    assert keys(w42, "declining") == []  # one point down only

    w43 = digests["2026-W43"]  # Wednesday: Fleuriste turns red
    assert keys(w43, "turned_red") == ["Fleuriste Rose & Lys"]
    assert w43.sections["counts"]["now"] == {"green": 6, "orange": 2, "red": 4}
    assert w43.sections["counts"]["week_ago"] == {"green": 7, "orange": 2, "red": 3}
    assert "Passés au rouge cette semaine (1)" in w43.text
    assert w43.sections["compared_with"] == "digest"  # what the lead was told last Monday

    w44 = digests["2026-W44"]  # Garage down to 3: 6 -> 3 over four weeks
    assert keys(w44, "declining") == ["Fleuriste Rose & Lys", "Garage Dupuis"]  # -7, -3
    assert keys(w44, "turned_red") == []  # Fleuriste was red already a week before
    assert w44.sections["counts"]["four_weeks_ago"] == {"green": 7, "orange": 2, "red": 3}
    assert "Studio Yoga Lumière" in keys(w44, "ambassadors")  # 13 weeks at 8/8
    assert "Studio Yoga Lumière" not in keys(w43, "ambassadors")  # 12 weeks only

    first = digests["2026-W40"]  # no digest before: the history tab's week rows
    assert first.sections["compared_with"] == "history"
    assert ledger_for(config).attempts("default", "2026-W47") == 1
