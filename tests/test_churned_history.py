"""A churned account's history is frozen: what the score said before it left stays, on
every store (the contract suite's memory, workbook and Google backends)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from agent.plan import churned_by
from agent.sync import run_pass
from tests.conftest import example_config
from tests.store_backends import FACTORIES, Backend
from tests.test_history import HEADER as SEED_HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 2026-W48
HEADER = [*SEED_HEADER, "Date de départ"]
ROWS = [
    ["Acme", "Camille", "PME", *TOP, None],
    ["Boréal", "Hugo", "PME", *LOW, "2026-11-25"],  # left on Wednesday of W48
    ["Cèdre", "Léa", "ETI", *MID, dt.datetime(2026, 12, 20)],  # leaves later
]


@pytest.fixture(params=["memory", "workbook", "google"])
def backend(request, tmp_path):
    made: Backend = FACTORIES[request.param](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    yield made
    made.close()


def history_of(backend: Backend, key: str) -> list[list[object]]:
    tab = backend.store.read().history
    assert tab is not None
    return [list(r) for r in tab.rows if len(r) > 2 and r[2] == key]


def test_a_churned_accounts_rows_stay_as_they_were_over_later_passes(backend, tmp_path):
    config = example_config(tmp_path, churned_column="Date de départ")
    run_pass(backend.store, config, now=MONDAY)  # before Boréal left: its row is written
    before = history_of(backend, "Boréal")
    assert len(before) == 1 and before[0][0] == "S48 2026"
    # a new model (another version, other scores) and passes after Boréal left, that week
    # and the next ones: every other account's rows follow, Boréal's do not move
    model = config.model
    heavier = dataclasses.replace(
        model,
        criteria=(dataclasses.replace(model.criteria[0], weight=3), *model.criteria[1:]),
    )
    later = dataclasses.replace(config, model=heavier)
    for days in (3, 4, 7, 14, 15):
        run_pass(backend.store, later, now=MONDAY + dt.timedelta(days=days))
    assert history_of(backend, "Boréal") == before
    acme = history_of(backend, "Acme")
    assert [r[0] for r in acme] == ["S48 2026", "S49 2026", "S50 2026"]
    assert acme[0][-1] != before[0][-1]  # Acme's W48 row was rewritten with the new model
    assert len(history_of(backend, "Cèdre")) == 3  # not gone yet on 2026-12-08


def test_without_a_churn_column_every_account_keeps_its_history_going(tmp_path):
    made = FACTORIES["memory"](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    config = example_config(tmp_path)  # no sheet.churned_column
    for week in range(2):
        run_pass(made.store, config, now=MONDAY + dt.timedelta(weeks=week))
    assert len(history_of(made, "Boréal")) == 2


def test_churned_by_counts_the_churn_day_itself_and_ignores_blanks():
    accounts = pd.DataFrame(
        {"churned": [dt.date(2026, 1, 5), dt.date(2026, 1, 6), None, float("nan")]}
    )
    assert churned_by(accounts, dt.date(2026, 1, 5)).tolist() == [True, False, False, False]
    assert not churned_by(pd.DataFrame({"key": ["A"]}), dt.date(2026, 1, 5)).any()
