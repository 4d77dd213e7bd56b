"""The write plan (agent/plan.py): only what differs is planned, history rows merge by
(week, key), and the formatting the agent wants follows the config."""

from __future__ import annotations

import datetime as dt

from agent.accounts import accounts_frame
from agent.config import Config
from agent.history import history_frame, history_header, iso_week, shift_week
from agent.history_merge import merge_history
from agent.plan import (
    CellWrite,
    ScoreScale,
    StatusColours,
    WritePlan,
    formatting_for,
    plan_writes,
)
from agent.scoring import score_accounts
from agent.stores.base import Snapshot, Tab
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.test_scoring import LOW, MID, TOP

TODAY = dt.date(2026, 11, 23)
WEEK = iso_week(TODAY)


def plan_for(snapshot: Snapshot, config: Config) -> WritePlan:
    """The plan for a read sheet, made as a pass makes it (no next actions)."""
    raw = accounts_frame(snapshot.accounts)
    accounts = score_accounts(raw, config.model, key_column="Client", today=TODAY)
    accounts["next_action"] = ""
    return plan_writes(
        snapshot,
        accounts,
        config,
        week=WEEK,
        today=TODAY,
        raw=raw,
        history=history_frame(snapshot.history, config.model),
        history_header=history_header(config.model, "Client", config.language),
        oldest_week=shift_week(WEEK, -config.sheet.history_keep_weeks),
    )


def written_sheet(config: Config) -> MemoryStore:
    """A sheet of three accounts after one pass wrote its cells and history."""
    header = ["Client", "CSM", "Segment", *(c.column for c in config.model.criteria)]
    rows: list[list[object]] = [
        ["Acme", "Camille", "PME", *TOP],
        ["Boréal", "Hugo", "PME", *MID],
        ["Cèdre", "Léa", "ETI", *LOW],
    ]
    store = MemoryStore(header, rows, key_column="Client", history_worksheet="Historique")
    run_pass(store, config, now=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC))
    return store


def test_a_sheet_that_already_shows_every_result_plans_no_write(seed_config) -> None:
    plan = plan_for(written_sheet(seed_config).read(), seed_config)

    assert plan.is_empty()
    assert list(plan.cells) == []
    assert len(plan.history_rows) == 0


def test_a_score_cell_a_person_changed_is_the_one_cell_planned(seed_config) -> None:
    snapshot = written_sheet(seed_config).read()
    at = snapshot.accounts.header.index(seed_config.output.score)
    right = snapshot.accounts.rows[1][at]
    snapshot.accounts.rows[1][at] = 99

    plan = plan_for(snapshot, seed_config)

    assert list(plan.cells) == [CellWrite("Boréal", seed_config.output.score, right)]
    assert len(plan.history_rows) == 0  # the history already holds the right score


def test_a_new_sheet_gets_the_agent_columns_and_a_history_row_per_scored_account(
    seed_config,
) -> None:
    header = ["Client", *(c.column for c in seed_config.model.criteria)]
    snapshot = Snapshot(Tab("Comptes", header, [["Acme", *TOP], ["", *LOW], ["Cèdre", *LOW]]))

    plan = plan_for(snapshot, seed_config)

    assert plan.new_columns == list(seed_config.output.all())
    assert [row[2] for row in plan.history_rows] == ["Acme", "Cèdre"]  # no row without a key
    assert plan.history_header == history_header(seed_config.model, "Client", "fr")


def test_history_rows_are_replaced_by_week_and_key_and_old_weeks_dropped() -> None:
    header = ["Semaine", "Date", "Client", "Score"]
    rows: list[list[object]] = [
        ["2026-W30", "2026-07-20", "Acme", 5],
        ["2026-W47", "2026-11-16", "Acme", 6],
        ["2026-W48", "2026-11-23", "Acme", 7],
        ["2026-W48", "2026-11-23", "Boréal", 3],
    ]
    plan = WritePlan(
        history_rows=[
            ["2026-W48", "2026-11-24", " Acme ", 8],
            ["2026-W48", "2026-11-24", "Cèdre", 1],
        ],
        history_oldest_week="2026-W40",
    )

    merged = merge_history(header, rows, plan)

    assert merged.rows == [
        ["2026-W47", "2026-11-16", "Acme", 6],
        ["2026-W48", "2026-11-24", " Acme ", 8],
        ["2026-W48", "2026-11-23", "Boréal", 3],
        ["2026-W48", "2026-11-24", "Cèdre", 1],
    ]
    assert merged.written == 3  # one dropped, one replaced, one added
    assert merged.first_dropped == 0


def test_the_wanted_formatting_follows_the_language_and_the_thresholds(seed_config) -> None:
    formatting = formatting_for(seed_config)

    assert formatting.status_column == seed_config.output.status
    assert formatting.status_labels == StatusColours("En bonne santé", "À surveiller", "À risque")
    assert formatting.score_scale == ScoreScale(0.0, 3.0, 6.0)
    assert formatting.agent_columns == seed_config.output.all()
    assert formatting.dropdowns[0] == (
        "Utilisation hebdomadaire",
        ("Active 5 jours sur 7", "Usage sporadique", "Inactif"),
    )
