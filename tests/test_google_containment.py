"""One cell, one merge or one refusal never stops a pass (issue 17, point 4): a freeze a
merged cell forbids, rules Google gives back bounded to the grid, keys Google Sheets cannot
carry elsewhere, dropdown labels taken for formulas, the quota-project 403 of ADC."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import requests
from gspread.exceptions import APIError

from agent.config import Config, load_config
from agent.errors import ConfigError, SheetAccessError
from agent.stores.google import refusals
from agent.sync import run_pass
from tests.conftest import ROOT, example_config
from tests.google_fixtures import (
    AGENT,
    AGENT_RULES,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    counts,
    emulated_google,
    plan_for,
    start_emulated_google,
)
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def test_a_merge_across_the_header_does_not_stop_the_values(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.merges.append({"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0,
                           "endColumnIndex": 2})  # fmt: skip
        store.write(plan_for(store))
        header = [str(h) for h in tab.header()]
        assert header[3:] == AGENT and tab.cell(1, 3) != ""  # the scores landed
        assert tab.frozen_rows == 0 and len(tab.conditional_formats) == AGENT_RULES
        emulator.reset_counters()
        store.write(plan_for(store))  # the next pass asks for no freeze it cannot get
        assert counts(emulator) == {"read": 1}


def test_a_refused_freeze_is_left_out_and_the_values_still_land(tmp_path: Path) -> None:
    # the merge is not in the metadata the pass read (made between the read and the
    # write): Google's refusal of the freeze is contained, not the whole pass stopped
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        plan = plan_for(store)
        emulator.between("", "write", lambda _: tab.merges.append(
            {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}
        ))  # fmt: skip
        store.write(plan)
        assert [str(h) for h in tab.header()][3:] == AGENT and tab.cell(1, 3) != ""
        assert tab.frozen_rows == 0 and len(tab.conditional_formats) == AGENT_RULES


def test_rules_given_back_bounded_to_the_grid_are_known_as_the_agents(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (emulator, store):
        emulator.bounded_rule_ranges = True
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        store.write(plan_for(store))
        assert all("endRowIndex" in r["ranges"][0] for r in tab.conditional_formats)
        for _ in range(3):
            emulator.reset_counters()
            store.write(plan_for(store))
            assert counts(emulator) == {"read": 1}  # nothing added again
        assert len(tab.conditional_formats) == AGENT_RULES


def google_config(tmp_path: Path) -> Config:
    seed = example_config(tmp_path)
    return dataclasses.replace(seed, sheet=dataclasses.replace(seed.sheet, backend="google"))


@pytest.mark.parametrize(
    "bad_key", ["K" * 50_001, "Acme \udc80 SA"], ids=["over 50,000 characters", "lone surrogate"]
)
def test_a_key_google_cannot_carry_is_flagged_and_left_out_of_the_history(
    tmp_path: Path, bad_key: str
) -> None:
    config = google_config(tmp_path)
    rows = [[f"Compte {i}", "Camille", "PME", *(TOP, MID, LOW)[i % 3]] for i in range(6)]
    rows.append([bad_key, "Hugo", "PME", *TOP])
    google = start_emulated_google(tmp_path, HEADER, rows, key_column="Client")
    try:
        result = run_pass(google.store, config, now=NOW)
        history = google.emulator.tab(SPREADSHEET_ID, "Historique")
        keys = [str(r[2]) for r in history.rows[1:]]
        assert sorted(keys) == sorted(f"Compte {i}" for i in range(6))  # the others: all
        why_at = HEADER.index("Client")
        tab = google.tab
        header = [str(h) for h in tab.header()]
        bad_row = next(r for r in tab.rows[1:] if r[why_at] == bad_key)
        why = str(bad_row[header.index(config.output.why)])
        assert why.startswith("Clé trop longue")
        assert result.report.cells_written > 0
        google.emulator.reset_counters()
        again = run_pass(google.store, config, now=NOW)
        assert not again.report.wrote_anything  # no cell rewritten, no history row added
    finally:
        google.close()


@pytest.mark.parametrize("sign", ["=", "+", "-", "@"])
def test_a_dropdown_label_that_looks_like_a_formula_is_refused_at_load(
    tmp_path: Path, sign: str
) -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert '"Inactif" = 0' in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace('"Inactif" = 0', f'"{sign}Inactif" = 0', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="does not start with =, \\+, - or @") as caught:
        load_config(path)
    assert str(path) in str(caught.value) and f'"{sign}Inactif"' in str(caught.value)


def test_the_quota_project_403_of_adc_says_how_to_set_one() -> None:
    # Google's words for ADC of a person with no quota project (a public error text)
    message = (
        "Your application is authenticating by using local Application Default Credentials. "
        "The sheets.googleapis.com API requires a quota project, which is not set by default."
    )
    response = requests.Response()
    response.status_code = 403
    response._content = (
        b'{"error": {"code": 403, "message": "' + message.encode() + b'", '
        b'"status": "PERMISSION_DENIED"}}'
    )
    error = refusals.refusal(
        APIError(response), spreadsheet_id="x", base_url="https://sheets.googleapis.com",
        account_email="the agent's Google account",
    )  # fmt: skip
    assert isinstance(error, SheetAccessError)
    assert "gcloud auth application-default set-quota-project" in str(error)
    assert "share the sheet" not in str(error).lower()
