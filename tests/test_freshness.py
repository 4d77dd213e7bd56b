"""How fresh the scores are (issue 21): a line on the score's header written only by a pass
that writes anyway, and `status` saying when the scores are stale. Times are given."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from agent.config import Config
from agent.freshness import age_text, freshness_line, stale_since
from agent.labels import AGENT_NOTE
from agent.state import StateFolder
from agent.status_report import describe_status
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.google_fixtures import (
    FORMAT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
)
from tests.test_scoring import LOW, SEED_COLUMNS, TOP

# Monday 7 December 2026, 08:41 UTC: 09:41 in Paris
MORNING = dt.datetime(2026, 12, 7, 8, 41, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "language", "line"),
    [
        (MORNING, "fr", "Scores du 07/12 à 09:41 · prochain passage 09:51"),
        (MORNING, "en", "Scores of 12/07 at 09:41 · next pass 09:51"),
        (
            dt.datetime(2026, 12, 7, 22, 55, tzinfo=dt.UTC),
            "fr",
            "Scores du 07/12 à 23:55 · prochain passage le 08/12 à 00:05",
        ),
    ],
)
def test_the_line_says_when_the_scores_were_made_and_the_next_pass(now, language, line) -> None:
    assert freshness_line(now, 10, "Europe/Paris", language) == line


def test_scores_are_stale_after_three_missed_passes_and_half_an_hour_at_least() -> None:
    assert stale_since(None, MORNING, 10) is None  # never synced: status says "never"
    assert stale_since(MORNING - dt.timedelta(minutes=29), MORNING, 10) is None
    assert stale_since(MORNING - dt.timedelta(minutes=31), MORNING, 10) == dt.timedelta(minutes=31)
    assert stale_since(MORNING - dt.timedelta(hours=2), MORNING, 60) is None
    assert age_text(dt.timedelta(days=3, hours=2, minutes=5)) == "3 days 2 h"
    assert age_text(dt.timedelta(minutes=45)) == "45 min"


def sheet() -> MemoryStore:
    header = ["Client", "CSM", *SEED_COLUMNS]
    return MemoryStore(header, [["Acme", "Léa", *TOP]], key_column="Client",
                       history_worksheet="Historique")  # fmt: skip


def test_only_a_pass_that_writes_updates_the_line(seed_config: Config) -> None:
    config = dataclasses.replace(seed_config, playbooks_dir=None)
    store = sheet()
    run_pass(store, config, now=MORNING)
    assert store.freshness == "Scores du 07/12 à 09:41 · prochain passage 09:51"
    later = MORNING + dt.timedelta(minutes=10)
    unchanged = run_pass(store, config, now=later)
    assert not unchanged.report.wrote_anything and store.writes == 1
    assert store.freshness.startswith("Scores du 07/12 à 09:41")  # an unchanged pass: no write
    store.accounts.rows[0][2:] = LOW
    run_pass(store, config, now=later + dt.timedelta(minutes=10))
    assert store.freshness.startswith("Scores du 07/12 à 10:01")


def test_the_score_header_note_on_google_is_written_with_a_write_only(tmp_path: Path) -> None:
    look = dataclasses.replace(FORMAT, agent_note=AGENT_NOTE["fr"])
    with emulated_google(tmp_path, INPUTS, accounts(4), key_column="Client") as (emulator, store):
        plan = plan_for(store)
        plan.formatting, plan.freshness = look, freshness_line(MORNING, 10, "Europe/Paris", "fr")
        store.write(plan)
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        score = tab.header().index("Score")
        expected = f"Scores du 07/12 à 09:41 · prochain passage 09:51\n{AGENT_NOTE['fr']}"
        assert tab.notes[(0, score)] == expected
        assert tab.notes[(0, tab.header().index("Statut"))] == AGENT_NOTE["fr"]
        emulator.reset_counters()
        again = plan_for(store)  # nothing changed: no cell, no call, the line stays
        again.formatting = look
        again.freshness = freshness_line(MORNING + dt.timedelta(hours=1), 10, "Europe/Paris", "fr")
        assert again.is_empty()
        store.write(again)
        assert emulator.calls["format"] == 0 and emulator.calls["write"] == 0
        assert tab.notes[(0, score)] == expected


def test_status_says_the_scores_are_stale(seed_config: Config) -> None:
    folder = StateFolder(seed_config.state_dir)
    folder.ensure()
    status = folder.read_status()
    status.last_success = (MORNING - dt.timedelta(days=3)).isoformat()
    folder.write_status(status)
    lines = describe_status(seed_config, MORNING)
    assert lines[0] == (
        "scores périmés : aucun passage réussi depuis 3 j 0 h "
        "(un passage est prévu toutes les 10 minutes)"
    )
    english = describe_status(dataclasses.replace(seed_config, language="en"), MORNING)
    assert (
        english[0]
        == "scores are stale: no successful pass for 3 days 0 h (one is due every 10 minutes)"
    )
    status.last_success = (MORNING - dt.timedelta(minutes=5)).isoformat()
    folder.write_status(status)
    assert not any("périmés" in line for line in describe_status(seed_config, MORNING))


def test_status_speaks_the_config_s_language(seed_config: Config) -> None:
    folder = StateFolder(seed_config.state_dir)
    folder.ensure()
    status = folder.read_status()
    status.last_success = (MORNING - dt.timedelta(minutes=5)).isoformat()
    folder.write_status(status)
    french = describe_status(seed_config, MORNING)
    assert french[0] == "dernier passage réussi : lun. 07/12/2026 09:36:00 CET"
    assert "dernier résumé envoyé :  jamais" in french
    english = describe_status(dataclasses.replace(seed_config, language="en"), MORNING)
    assert english[0] == "last successful pass: Mon 07/12/2026 09:36:00 CET"
    assert "last digest sent:     never" in english
