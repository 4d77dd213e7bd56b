"""Agent cells left on a row without a key are cleared (issue 17, point 2): a CSM who
clears a key, or a row inserted during a pass whose key re-read then failed, never keeps
another account's score for good."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import HealthAgentError
from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    counts,
    emulated_google,
    plan_for,
)
from tests.sheets_emulator import Fault, SheetsEmulator


def keyed_plan(store):  # type: ignore[no-untyped-def]
    """plan_for, without cells for a blank key (the sync core plans none: rows are
    addressed by key, and a row without one has none)."""
    plan = plan_for(store)
    plan.cells = [c for c in plan.cells if c.key]
    plan.history_rows = [r for r in plan.history_rows if r[2]]
    if plan.desired:
        plan.desired = {k: v for k, v in plan.desired.items() if k}
    return plan


def agent_part(tab, row: int) -> list[object]:  # type: ignore[no-untyped-def]
    header = [str(h) for h in tab.header()]
    return [tab.cell(row, header.index(c)) for c in AGENT]


def test_a_row_whose_key_was_cleared_loses_the_agents_cells(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(6), key_column="Client") as (emulator, store):
        store.write(plan_for(store))
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert any(agent_part(tab, 3))
        tab.rows[3][0] = ""  # a CSM clears the key
        store.write(keyed_plan(store))
        assert agent_part(tab, 3) == ["", "", "", ""]
        assert all(any(agent_part(tab, r)) for r in (1, 2, 4, 5, 6))
        emulator.reset_counters()
        store.write(keyed_plan(store))
        assert counts(emulator) == {"read": 1}  # nothing left to clear


def test_a_row_inserted_mid_pass_whose_reread_failed_is_cleared_next_pass(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(6), key_column="Client") as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        plan = plan_for(store)

        # a keyless row inserted before the write; the write's answer (and the keys it
        # read back) lost, and every look at what landed refused for good
        def insert_and_lose_the_answer(e: SheetsEmulator) -> None:
            tab.insert_row(2, ["", "Léa", "Rare"])
            e.inject(Fault(status=503, after=True, kinds=frozenset({"write"})))
            e.inject(*[Fault(status=403, kinds=frozenset({"metadata", "read"}))] * 3)

        emulator.between("", "write", insert_and_lose_the_answer)
        with pytest.raises(HealthAgentError):
            store.write(plan)
        assert any(agent_part(tab, 2))  # another account's cells landed on the new row
        emulator.faults.clear()
        store.write(keyed_plan(store))
        assert agent_part(tab, 2) == ["", "", "", ""]
