"""A pass writes once (issue 17, point 6), its row-identity guarantee kept: few cells go in
the one spreadsheets.batchUpdate that reads the keys back in its reply; many cells (a first
pass, a week's history) go as a values write after the formatting call, reading the keys
back in its own answer. Rows a CSM moves before the write are put right either way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    USAGE,
    accounts,
    counts,
    plan_for,
    rows_with_wrong_agent_cells,
    start_emulated_google,
)


def every_row_holds_its_own_cells(made) -> None:  # type: ignore[no-untyped-def]
    rows = range(1, len(made.tab.rows))
    assert not rows_with_wrong_agent_cells(made.tab, rows, ("Score", "Statut", "Pourquoi"))


@pytest.mark.parametrize("cells_in_one_call", [1_000_000, 10], ids=["one call", "values"])
def test_a_first_pass_costs_at_most_three_calls_and_reads_back_no_more(
    tmp_path: Path, cells_in_one_call: int
) -> None:
    made = start_emulated_google(
        tmp_path, INPUTS, accounts(40), key_column="Client", cells_in_one_call=cells_in_one_call
    )
    try:
        plan = plan_for(made.store)
        made.emulator.reset_counters()
        made.store.write(plan)
        if cells_in_one_call > 1000:
            assert counts(made.emulator) == {"write": 1}
        else:  # the formatting, then the cells; the keys came back with them
            assert counts(made.emulator) == {"format": 1, "write": 1}
        assert [str(h) for h in made.tab.header()][3:] == AGENT
        every_row_holds_its_own_cells(made)
    finally:
        made.close()


@pytest.mark.parametrize("cells_in_one_call", [1_000_000, 10], ids=["one call", "values"])
def test_rows_sorted_before_a_first_pass_write_get_their_own_cells(
    tmp_path: Path, cells_in_one_call: int
) -> None:
    made = start_emulated_google(
        tmp_path, INPUTS, accounts(40), key_column="Client", cells_in_one_call=cells_in_one_call
    )
    try:
        plan = plan_for(made.store)
        made.emulator.between("", "write", lambda _: made.reverse_rows())
        report = made.store.write(plan)
        assert report.rewrites > 0
        every_row_holds_its_own_cells(made)
    finally:
        made.close()


def test_a_person_protecting_the_key_column_gets_the_keys_read_in_a_call_of_their_own(
    tmp_path: Path,
) -> None:
    # what Google makes of the nulls that read keys back in a range a person protected is
    # not written anywhere: the keys are then read by themselves
    made = start_emulated_google(
        tmp_path, INPUTS, accounts(40), key_column="Client", cells_in_one_call=10
    )
    try:
        tab = made.emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.protected_ranges.append(
            {
                "protectedRangeId": 77,
                "range": {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 1},
                "description": "clés: ne pas toucher",
                "editors": {"users": ["owner@example.com"]},
            }
        )
        plan = plan_for(made.store)
        made.emulator.reset_counters()
        made.store.write(plan)
        assert counts(made.emulator) == {"format": 1, "write": 1, "read": 1}
        values = [b for b in made.emulator.bodies("write") if "data" in b]
        assert values and not any(b.get("includeValuesInResponse") for b in values)
        every_row_holds_its_own_cells(made)
    finally:
        made.close()


def test_a_date_in_the_header_read_back_as_a_number_is_not_taken_for_a_moved_column(
    tmp_path: Path,
) -> None:
    # a values write reads back plain values: a header cell typed as a date comes back as
    # its serial number, where the pass read a date. Only agreement is trusted: the header
    # is read again the way the pass read it, and nothing of the write is undone
    header = [*INPUTS, dt.date(2026, 11, 1)]
    rows = [[*row, 7] for row in accounts(40)]
    made = start_emulated_google(
        tmp_path,
        header,
        rows,
        key_column="Client",
        cells_in_one_call=10,  # type: ignore[arg-type]
    )
    try:
        plan = plan_for(made.store)
        made.emulator.reset_counters()
        report = made.store.write(plan)
        assert report.rewrites == 0
        assert counts(made.emulator) == {"format": 1, "write": 1, "read": 1}
        assert made.tab.cell(1, 3) == 7  # the person's column, as it was
        every_row_holds_its_own_cells(made)
    finally:
        made.close()


def test_a_history_tab_deleted_between_passes_costs_one_more_read_and_comes_back(
    tmp_path: Path,
) -> None:
    # the pass reads only the two tabs the last read saw; one gone, Google cannot parse
    # its range ("Unable to parse range"): the whole spreadsheet is read instead
    made = start_emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client")
    try:
        made.store.write(plan_for(made.store))
        made.emulator.reset_counters()
        made.store.read()
        assert counts(made.emulator) == {"read": 1}
        [ranged] = [c.query.get("ranges") for c in made.emulator.requests]
        assert ranged == ["'Comptes'", "'Historique'"]
        book = made.emulator.spreadsheets[SPREADSHEET_ID]
        book.tabs = [t for t in book.tabs if t.title != "Historique"]
        made.emulator.reset_counters()
        assert made.store.read().history is None
        assert counts(made.emulator) == {"read": 2}
        made.edit("Compte 000002", "Utilisation", "Rare" if USAGE[2] != "Rare" else "Quotidienne")
        made.store.write(plan_for(made.store, week="2026-W49"))
        history = made.emulator.tab(SPREADSHEET_ID, "Historique")
        assert [history.cell(1, 0), history.cell(1, 2)] == ["2026-W49", "Compte 000002"]
    finally:
        made.close()
