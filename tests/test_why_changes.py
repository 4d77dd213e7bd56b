""" "Why" says what moved since last week's history row: "Adoption 2→0 depuis S48"."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.test_scoring import LOW, SEED_COLUMNS, TOP

SUNDAY_W48 = dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC)
HEADER = ["Client", "CSM", *SEED_COLUMNS]


def sheet() -> MemoryStore:
    rows = [["Acme", "Léa", *TOP], ["Boréal", "Léa", *TOP]]
    return MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")


def why_of(result, key: str) -> str:
    accounts = result.accounts.set_index("key")
    return accounts.loc[key, "why"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Adoption 0/2 (régression) · Adoption 2→0 depuis S48"),
        ("en", "Adoption 0/2 (régression) · Adoption 2→0 since W48"),
    ],
)
def test_a_criterion_that_moved_since_last_week_is_named_with_the_week(
    seed_config, language, expected
):
    config = dataclasses.replace(seed_config, language=language, playbooks_dir=None)
    store = sheet()
    first = run_pass(store, config, now=SUNDAY_W48)
    assert "→" not in why_of(first, "Acme")  # no history yet: nothing to compare with
    store.accounts.rows[0][5] = LOW[3]  # Wednesday of W49: Adoption falls to "Régression"
    wednesday = run_pass(store, config, now=SUNDAY_W48 + dt.timedelta(days=3))
    assert why_of(wednesday, "Acme") == expected
    assert "→" not in why_of(wednesday, "Boréal")  # unchanged: no note
    again = run_pass(store, config, now=SUNDAY_W48 + dt.timedelta(days=4))
    assert why_of(again, "Acme") == expected  # still against W48, not this week's own row
    assert not again.plan.cells  # and an unchanged pass writes nothing


def test_the_note_moves_on_with_the_weeks(seed_config):
    config = dataclasses.replace(seed_config, playbooks_dir=None)
    store = sheet()
    run_pass(store, config, now=SUNDAY_W48)
    store.accounts.rows[0][5] = LOW[3]
    run_pass(store, config, now=SUNDAY_W48 + dt.timedelta(days=3))
    next_week = run_pass(store, config, now=SUNDAY_W48 + dt.timedelta(days=8))
    assert why_of(next_week, "Acme") == "Adoption 0/2 (régression)"  # W49 held 0 too
