"""A big team's digest: 2,000 accounts, 600 red, stays under Gmail's clipping size with
every section present; the value at risk and the renewals read from their columns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from agent.config import Config
from agent.delivery import deliver
from agent.digest import Digest
from agent.stores.memory import MemoryStore
from agent.sync import PassResult, run_pass
from tests.test_history import HEADER as SEED_HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY_9_PARIS = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
HEADER = [*SEED_HEADER, "Date de renouvellement", "ARR"]
MAX_HTML = 100_000  # Gmail clips a message past about 102 KB


def big_team(config: Config, accounts: int = 2_000, red: int = 600) -> PassResult:
    """Two weekly passes over a big sheet; between them, `red` accounts fall to red."""
    pick = random.Random(7)
    rows = []
    for i in range(accounts):
        grid = TOP if i % 3 else MID
        renewal = dt.date(2026, 12, 7) + dt.timedelta(days=pick.randrange(0, 400))
        why_note = "x" * pick.randrange(0, 40)
        rows.append(
            [
                f"Compte {i:04d} {why_note}",
                f"CSM {i % 25:02d}",
                "PME",
                *grid,
                renewal.isoformat(),
                str(1_000 * pick.randrange(1, 200)),
            ]
        )
    store = MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")
    run_pass(store, config, now=MONDAY_9_PARIS - dt.timedelta(days=8))  # Sunday of W48
    for row in store.accounts.rows[:red]:
        row[3:7] = LOW
    return run_pass(store, config, now=MONDAY_9_PARIS)


@pytest.fixture
def big_config(seed_config) -> Config:
    sheet = dataclasses.replace(
        seed_config.sheet, renewal_column="Date de renouvellement", value_column="ARR"
    )
    return dataclasses.replace(seed_config, sheet=sheet, playbooks_dir=None)


def big_digest(config: Config, language: str = "fr") -> Digest:
    config = dataclasses.replace(config, language=language)
    result = big_team(config)
    outcome = deliver(
        config,
        result,
        now=MONDAY_9_PARIS,
        location="https://docs.google.com/spreadsheets/d/abc/edit",
        last_synced=MONDAY_9_PARIS,
        dry_run=True,
    )
    assert outcome.digest is not None
    return outcome.digest


def test_2000_accounts_600_red_stay_under_100_kb_with_every_section(big_config):
    digest = big_digest(big_config)
    size = len(digest.html.encode("utf-8"))
    assert size < MAX_HTML, size
    s = digest.sections
    assert s["counts"]["now"]["red"] == 600
    assert s["turned_red"]["total"] == 600 and len(s["turned_red"]["rows"]) == 10
    assert s["call_first"]["more"] == 600 - 20
    assert "et 590 de plus dans le tableau" in digest.html
    for section_id in (
        "call-first",
        "turned-red",
        "declining",
        "improved",
        "ambassadors",
        "renewals",
        "by-owner",
        "chart",
    ):
        assert f'id="{section_id}"' in digest.html
    assert 'href="https://docs.google.com/spreadsheets/d/abc/edit"' in digest.html


def test_to_call_first_is_ordered_by_renewal_then_value(big_config):
    digest = big_digest(big_config)
    rows = digest.sections["call_first"]["rows"]
    renewals = [r["renewal"] for r in rows]

    def days_left(text: str) -> int:
        if text.startswith("renouvellement aujourd'hui ("):
            return 0
        assert text.startswith("renouvellement le "), text
        return int(text.split("(dans ")[1].split(" ")[0])

    days = [days_left(r) for r in renewals]
    assert days == sorted(days)
    assert days[0] == 0 and "(dans 0 j)" not in digest.html  # "today", not "in 0 days"
    assert digest.sections["value_at_risk"]["red"]  # the ARR of the red accounts, summed


def test_the_english_digest_uses_english_spacing(big_config, tmp_path):
    digest = big_digest(big_config, "en")
    assert "Why: " in digest.html and "Why\u00a0:" not in digest.html
    assert "and 590 more in the sheet" in digest.html


def test_a_workbook_is_linked_by_its_absolute_path(seed_config, monkeypatch, tmp_path):
    from tests.test_digest import four_weeks_of_passes

    monkeypatch.chdir(tmp_path)
    result = four_weeks_of_passes(seed_config)
    outcome = deliver(
        seed_config,
        result,
        now=MONDAY_9_PARIS,
        location="comptes.xlsx",
        last_synced=MONDAY_9_PARIS,
        dry_run=True,
    )
    assert outcome.digest is not None
    assert str(Path(tmp_path / "comptes.xlsx")) in outcome.digest.html


def test_the_chart_is_inline_in_the_message(seed_config):
    from agent.mail import digest_message
    from tests.test_digest import four_weeks_of_passes

    result = four_weeks_of_passes(seed_config)
    outcome = deliver(
        seed_config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None, dry_run=True
    )
    assert outcome.digest is not None
    message = digest_message(
        outcome.digest,
        sender="a@example.com",
        to=("b@example.com",),
        msg_id="<x@y>",
        date=MONDAY_9_PARIS,
    )
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert image.get_content_disposition() == "inline"
    assert "<link" not in outcome.digest.html and "stylesheet" not in outcome.digest.html
