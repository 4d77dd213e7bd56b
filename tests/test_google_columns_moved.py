"""A column a person inserts, deletes or moves between the agent's read and its write never
puts the agent's values into a person's column (issue 17, point 2): the header is read
again with the keys, in the same call; cells that went into a column not the agent's are
put back as they were, and the agent's cells land in its columns on the next pass."""

from __future__ import annotations

from pathlib import Path

from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    agent_cells,
    emulated_google,
    plan_for,
)

HEADER = [*INPUTS, "Notes"]


def rows(n: int) -> list[list[str]]:
    return [[*row, f"note {i}"] for i, row in enumerate(accounts(n))]


def persons_columns(tab, names: list[str]) -> dict[str, list[object]]:  # type: ignore[no-untyped-def]
    header = [str(h) for h in tab.header()]
    return {name: [tab.cell(r, header.index(name)) for r in range(1, 11)] for name in names}


def agent_columns_are_right(tab) -> bool:  # type: ignore[no-untyped-def]
    header = [str(h) for h in tab.header()]
    for r in range(1, 11):
        key, usage = str(tab.cell(r, 0)), str(tab.cell(r, header.index("Utilisation")))
        for column in AGENT:
            if tab.cell(r, header.index(column)) != agent_cells(key, usage)[column]:
                return False
    return True


def test_a_column_inserted_mid_pass_keeps_every_persons_cell(tmp_path: Path) -> None:
    with emulated_google(tmp_path, HEADER, rows(10), key_column="Client") as (emulator, store):
        store.write(plan_for(store))  # the agent's columns after "Notes"
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.rows[3][2] = "Rare"  # a CSM's edit: the next pass rewrites that row's cells
        tab.rows[5][2] = "Rare"
        before = persons_columns(tab, HEADER)
        plan = plan_for(store)
        at = [str(h) for h in tab.header()].index("Notes")
        emulator.between("", "write", lambda _: tab.insert_column(at, "Priorité"))
        emulator.reset_counters()
        store.write(plan)
        assert emulator.calls["write"] == 2  # the cells, then "Notes" put back as it was
        assert persons_columns(tab, HEADER) == before
        assert persons_columns(tab, ["Priorité"])["Priorité"] == [""] * 10
        store.write(plan_for(store))  # the next pass: the agent's cells in its columns
        assert persons_columns(tab, HEADER) == before and agent_columns_are_right(tab)


def test_a_column_deleted_mid_pass_keeps_every_persons_cell(tmp_path: Path) -> None:
    with emulated_google(tmp_path, HEADER, rows(10), key_column="Client") as (emulator, store):
        store.write(plan_for(store))  # the agent's columns after "Notes"
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        # a person adds "Suivi" right of the agent's columns
        tab.set(0, len(tab.header()), "Suivi")
        for r in range(1, 11):
            tab.set(r, len(tab.header()) - 1, f"suivi {r}")
        tab.rows[2][2] = "Rare"
        plan = plan_for(store)
        notes = [str(h) for h in tab.header()].index("Notes")
        emulator.between("", "write", lambda _: tab.delete_column(notes))
        emulator.reset_counters()
        store.write(plan)  # every agent column moved left: "Suivi" took the last one's letter
        kept = [f"suivi {r}" for r in range(1, 11)]
        assert persons_columns(tab, [*INPUTS, "Suivi"])["Suivi"] == kept
        assert emulator.calls["write"] == 2
        store.write(plan_for(store))
        assert persons_columns(tab, ["Suivi"])["Suivi"] == kept and agent_columns_are_right(tab)
