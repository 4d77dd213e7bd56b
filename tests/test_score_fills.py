"""The score cell takes exactly its status's colour: the agent's score rules on the model's
thresholds, no blend (issue 21), and the colour scale it once wrote replaced, never piled."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.labels import AGENT_FILL, fill_rgb, hex_rgb
from agent.plan import Formatting, ScoreScale, StatusColours
from agent.scoring import Model
from agent.stores.google.formatting import formatting_requests, is_agent_rule, score_rule
from tests.google_fixtures import (
    AGENT_RULES,
    FORMAT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
)
from tests.sheets_emulator import Tab
from tests.sheets_emulator.fills import conditional_fill

# a model scored out of 8: orange from 4, green from 6 (the sample's thresholds)
EIGHT = Formatting(
    status_column="Statut",
    status_labels=StatusColours("En bonne santé", "À surveiller", "À risque"),
    score_column="Score",
    agent_columns=("Score", "Statut"),
    score_scale=ScoreScale(0, 4, 6),
)
COLUMNS = ["Client", "Score", "Statut"]


def scored_tab(scores: list[object]) -> Tab:
    """A tab holding the scores and the agent's rules, as Google would apply them."""
    tab = Tab(0, "Comptes", rows=[COLUMNS, *([f"C{i}", s, ""] for i, s in enumerate(scores))])
    meta = {"properties": {"sheetId": 0, "gridProperties": {"rowCount": 1000}}}
    for request in formatting_requests(meta, COLUMNS, EIGHT):
        if "addConditionalFormatRule" in request:
            add = request["addConditionalFormatRule"]
            tab.conditional_formats.insert(add["index"], add["rule"])
    return tab


@pytest.mark.parametrize(
    ("score", "status"),
    [(5, "orange"), (4, "orange"), (5.5, "orange"), (6, "green"), (8, "green"), (2, "red"),
     (0, "red"), (3.9, "red")],
)  # fmt: skip
def test_a_score_cell_has_its_status_fill_exactly(score: float, status: str) -> None:
    model_status = Model(scale=8, missing="zero", green=6, orange=4, criteria=()).status_of(score)
    assert model_status == status  # the status column says the same
    tab = scored_tab([score])
    assert conditional_fill(tab, 1, 1) == fill_rgb(status)


def test_a_five_out_of_eight_was_greenish_under_the_old_scale_and_is_orange_now() -> None:
    tab = scored_tab([5])
    assert conditional_fill(tab, 1, 1) == fill_rgb("orange")
    tab.conditional_formats = [score_rule(0, 1, ScoreScale(0, 4, 6))]  # the old gradient
    assert conditional_fill(tab, 1, 1) not in {fill_rgb(s) for s in ("green", "orange", "red")}


def test_a_blank_score_keeps_the_agents_shade_not_red() -> None:
    tab = scored_tab([""])
    assert conditional_fill(tab, 1, 1) == hex_rgb(AGENT_FILL)


def test_the_old_colour_scale_is_recognised_and_replaced_by_the_fills() -> None:
    old = score_rule(0, 1, ScoreScale(0, 4, 6))
    assert is_agent_rule(old)
    meta = {
        "properties": {"sheetId": 0, "gridProperties": {"rowCount": 1000, "frozenRowCount": 1}},
        "conditionalFormats": [old],
    }
    requests = formatting_requests(meta, COLUMNS, EIGHT)
    assert {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}} in requests
    added = [r["addConditionalFormatRule"]["rule"] for r in requests
             if "addConditionalFormatRule" in r]  # fmt: skip
    assert len(added) == AGENT_RULES and not any("gradientRule" in r for r in added)


def test_a_sheet_with_the_old_scale_gets_the_fills_once_on_google(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(6), key_column="Client") as (emulator, store):
        store.write(plan_for(store))
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        score_col = tab.header().index("Score")
        # the agent's rules as an earlier version left them: status fills, then the scale
        tab.conditional_formats[-4:] = [score_rule(0, score_col, FORMAT.score_scale)]  # type: ignore[arg-type]
        for _ in range(3):
            store.write(plan_for(store))
        rules = tab.conditional_formats
        assert len(rules) == AGENT_RULES and not any("gradientRule" in r for r in rules)
        by_score = {tab.cell(r, score_col): conditional_fill(tab, r, score_col)
                    for r in range(1, len(tab.rows))}  # fmt: skip
        # the fixture's scores on thresholds 3 and 6: 9 green, 5 orange, 2 red
        assert by_score == {9: fill_rgb("green"), 5: fill_rgb("orange"), 2: fill_rgb("red")}
