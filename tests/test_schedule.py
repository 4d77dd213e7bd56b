"""The unattended agent with time as an input: passes, the Monday digest, DST, failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from agent.errors import AlreadyRunningError, TransientError
from agent.schedule import Agent, digest_trigger, pass_trigger
from agent.state import StateFolder
from agent.stores.memory import MemoryStore
from tests.test_history import HEADER, accounts

PARIS = ZoneInfo("Europe/Paris")


def fire_times(trigger, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """What APScheduler would do: each next fire time after the previous one."""
    times: list[dt.datetime] = []
    previous = None
    now = start
    for _ in range(10_000):  # bounded
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            break
        times.append(fire)
        previous, now = fire, fire
    return times


def test_passes_fire_every_n_minutes(seed_config):
    config = dataclasses.replace(seed_config, sync_every_minutes=10)
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    times = fire_times(
        pass_trigger(config, jitter_s=0, start=start), start, start + dt.timedelta(hours=2)
    )
    gaps = {b - a for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {dt.timedelta(minutes=10)}
    assert len(times) == 13  # both ends included


def test_jitter_stays_small(seed_config):
    config = dataclasses.replace(seed_config, sync_every_minutes=10)
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    times = fire_times(pass_trigger(config, start=start), start, start + dt.timedelta(hours=5))
    for a, b in zip(times, times[1:], strict=False):
        assert dt.timedelta(minutes=9) <= b - a <= dt.timedelta(minutes=11)


@pytest.mark.parametrize(
    ("start", "end"),
    [  # the weeks around the DST changes of March and October 2026
        (dt.datetime(2026, 3, 16, tzinfo=dt.UTC), dt.datetime(2026, 4, 7, tzinfo=dt.UTC)),
        (dt.datetime(2026, 10, 12, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, tzinfo=dt.UTC)),
    ],
)
def test_digest_fires_monday_8_paris_time_once_a_week_across_dst(seed_config, start, end):
    times = fire_times(digest_trigger(seed_config), start, end)
    assert len(times) == 4  # four Mondays
    for fire in times:
        local = fire.astimezone(PARIS)
        assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)
    offsets = {t.astimezone(PARIS).utcoffset() for t in times}
    assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}  # both sides of the change


class Digests:
    """A fake digest sender that, like the ledger, sends each ISO week once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dt.datetime]] = []

    def __call__(self, now, result, status):
        week = "{}-W{:02d}".format(*now.astimezone(PARIS).isocalendar()[:2])
        if now.astimezone(PARIS).weekday() == 0 and now.astimezone(PARIS).hour < 8:
            return None  # not due before Monday 08:00
        if any(w == week for w, _ in self.sent):
            return None
        self.sent.append((week, now))
        return week


def make_agent(config, tmp_path, store=None, digests=None, opener=None) -> Agent:
    store = store or MemoryStore(
        HEADER, accounts(), key_column="Client", history_worksheet="Historique"
    )
    return Agent(
        config,
        open_store=opener or (lambda sleep: store),
        next_actions=None,
        send_digest=digests,
        state=StateFolder(tmp_path / "state"),
    )


def test_a_simulated_week_runs_every_pass_and_one_digest(seed_config, tmp_path):
    config = dataclasses.replace(seed_config, sync_every_minutes=30)
    digests = Digests()
    digests.sent.append(("2026-W47", dt.datetime(2026, 11, 16, 7, 0, tzinfo=dt.UTC)))
    agent = make_agent(config, tmp_path, digests=digests)
    start = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)  # a Friday
    end = start + dt.timedelta(days=7)
    events = [(t, "pass") for t in fire_times(pass_trigger(config, 0, start), start, end)]
    events += [(t, "digest") for t in fire_times(digest_trigger(config), start, end)]
    passes = 0
    for when, kind in sorted(events):
        if kind == "pass":
            agent._wake_for_pass(lambda when=when: when)
            passes += 1
        else:
            agent._wake_for_digest(lambda when=when: when)
    assert passes == 7 * 48 + 1  # both ends included
    assert [w for w, _ in digests.sent] == ["2026-W47", "2026-W48"]
    sent_at = digests.sent[1][1].astimezone(PARIS)
    assert (sent_at.weekday(), sent_at.hour) == (0, 8)
    assert StateFolder(tmp_path / "state").read_status().last_digest_week == "2026-W48"


def test_a_digest_missed_while_off_is_sent_once_at_start(seed_config, tmp_path):
    digests = Digests()
    agent = make_agent(seed_config, tmp_path, digests=digests)
    tuesday = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # off all Monday
    agent._wake_for_pass(lambda: tuesday)
    agent._wake_for_digest(lambda: tuesday)
    agent._wake_for_pass(lambda: tuesday + dt.timedelta(minutes=10))
    assert [w for w, _ in digests.sent] == ["2026-W48"]


class FlakyStore:
    """A sheet that fails `failures` times (Google down), then works."""

    def __init__(self, inner: MemoryStore, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def read(self):
        if self.failures:
            self.failures -= 1
            raise TransientError("Google Sheets answered 503 (service unavailable).")
        return self.inner.read()

    def write(self, plan):
        return self.inner.write(plan)

    def location(self):
        return "flaky"


def test_failed_passes_never_stop_the_agent_and_the_third_is_an_error(
    seed_config, tmp_path, caplog
):
    store = FlakyStore(MemoryStore(HEADER, accounts(), key_column="Client"), failures=3)
    agent = make_agent(seed_config, tmp_path, opener=lambda sleep: store)
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    caplog.set_level(logging.INFO, logger="agent")
    for i in range(4):
        agent._wake_for_pass(lambda i=i: now + dt.timedelta(minutes=10 * i))
    failed = [r for r in caplog.records if "503" in r.getMessage()]
    assert [r.levelname for r in failed] == ["WARNING", "WARNING", "ERROR"]
    assert "3 passes failed in a row" in failed[-1].getMessage()
    status = StateFolder(tmp_path / "state").read_status()
    assert status.failures_in_a_row == 0 and status.last_success is not None
    assert "503" in (status.last_error or "")


def test_a_second_agent_on_the_same_state_folder_is_refused_with_the_pid(tmp_path):
    import os

    folder = StateFolder(tmp_path / "state")
    with (
        folder.lock(),
        pytest.raises(AlreadyRunningError) as caught,
        StateFolder(tmp_path / "state").lock(),
    ):
        pass
    assert f"process id {os.getpid()}" in str(caught.value)
    with folder.lock():  # released: a new agent may start
        pass


def test_an_edited_playbook_applies_at_the_next_pass_and_a_broken_one_keeps_the_last(
    seed_config, tmp_path, caplog
):
    from agent.playbooks import load_playbooks

    folder = tmp_path / "pb"
    folder.mkdir()
    rule = folder / "all.md"
    rule.write_text('+++\nname = "a"\nwhen = "true"\n+++\nPremière version\n', encoding="utf-8")
    store = MemoryStore(HEADER, accounts(), key_column="Client", history_worksheet="Historique")
    agent = Agent(
        seed_config,
        open_store=lambda sleep: store,
        next_actions=lambda: load_playbooks(folder),
        send_digest=None,
        state=StateFolder(tmp_path / "state"),
    )
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    first = agent.sync(now)
    assert first is not None and set(first.accounts["next_action"]) == {"Première version"}
    rule.write_text('+++\nname = "a"\nwhen = "true"\n+++\nDeuxième version\n', encoding="utf-8")
    second = agent.sync(now + dt.timedelta(minutes=10))
    assert second is not None and set(second.accounts["next_action"]) == {"Deuxième version"}
    rule.write_text('+++\nname = "a"\nwhen = "true"\n+++\n{% if %}\n', encoding="utf-8")
    caplog.set_level(logging.ERROR, logger="agent")
    third = agent.sync(now + dt.timedelta(minutes=20))
    assert third is not None and set(third.accounts["next_action"]) == {"Deuxième version"}
    assert any("all.md:5" in r.getMessage() for r in caplog.records)


def test_status_shows_the_last_pass_error_and_next_digest(seed_config, tmp_path, capsys):
    from agent.cli import main

    config_path = tmp_path / "config.toml"
    from agent.sheet_templates import init

    init("startup", "fr", tmp_path / "s.xlsx", config_path)
    from agent.config import load_config
    from agent.from_config import build_agent

    config = load_config(config_path)
    agent = build_agent(config)
    agent.sync(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    assert main(["status", "-c", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "dernier passage réussi : mar. 24/11/2026 10:00:00 CET" in out  # the team's time
    assert "prochain résumé :" in out and "dernier passage : 12 comptes" in out


def test_json_logs_are_one_object_per_line_and_hold_no_secret(capsys):
    import json as json_module

    from agent.logs import configure

    configure(logging.INFO, "json")
    log = logging.getLogger("agent.test")
    log.info(
        "token Bearer ya29.secret-token-value and key -----BEGIN PRIVATE KEY-----\nMIIE"
        "abc\n-----END PRIVATE KEY----- sent",
        extra={"event": "pass"},
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json_module.loads(line)
    assert record["event"] == "pass" and record["level"] == "INFO"
    assert "ya29.secret-token-value" not in line and "MIIE" not in line
    logging.getLogger().handlers.clear()


def test_status_reads_passes_and_digests_made_by_hand(tmp_path, capsys):
    import re

    from agent.cli import main
    from agent.sheet_templates import init

    config_path = tmp_path / "config.toml"
    init("startup", "fr", tmp_path / "s.xlsx", config_path)
    assert main(["sync", "-c", str(config_path)]) == 0
    assert main(["digest", "-c", str(config_path)]) == 0
    printed = capsys.readouterr().out
    assert "Écrit dans la boîte d'envoi : " in printed and "Prochain résumé prévu " in printed
    assert main(["status", "-c", str(config_path)]) == 0
    out = capsys.readouterr().out
    to_the_second = r"\w{3}\. \d\d/\d\d/\d{4} \d\d:\d\d:\d\d CES?T"  # Paris time
    assert re.search(rf"dernier passage réussi : {to_the_second}", out), out
    assert re.search(rf"dernier résumé envoyé :  {to_the_second} \(\d{{4}}-W\d\d, outbox\)", out)
    assert "jamais" not in out
