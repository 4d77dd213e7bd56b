"""A column a person inserts, deletes or moves between the agent's read and its write never
puts the agent's values into a person's column (issue 17, point 2): the header is read
again with the keys, in the same call; cells that went into a column not the agent's are
put back as they were, and the agent's cells land in its columns: in the same call when
the key column and the rows written stood, else on the next pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agent.stores.google.columns_moved import now_at
from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
    rows_with_wrong_agent_cells,
)
from tests.sheets_emulator import SheetsEmulator
from tests.sheets_emulator.grid import entered

HEADER = [*INPUTS, "Notes"]


def rows(n: int) -> list[list[str]]:
    return [[*row, f"note {i}"] for i, row in enumerate(accounts(n))]


def persons_columns(tab, names: list[str]) -> dict[str, list[object]]:  # type: ignore[no-untyped-def]
    header = [str(h) for h in tab.header()]
    return {name: [tab.cell(r, header.index(name)) for r in range(1, 11)] for name in names}


def agent_columns_are_right(tab) -> bool:  # type: ignore[no-untyped-def]
    return not rows_with_wrong_agent_cells(tab, range(1, 11))


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
        # the cells (the header and keys read back in its reply), then "Notes" put back as
        # it was and the agent's cells in its columns: no read of its own
        assert emulator.calls["write"] == 2 and emulator.calls["read"] == 0
        assert persons_columns(tab, HEADER) == before
        assert persons_columns(tab, ["Priorité"])["Priorité"] == [""] * 10
        assert agent_columns_are_right(tab)  # in the same pass
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
        assert agent_columns_are_right(tab)  # in the same pass
        store.write(plan_for(store))
        assert persons_columns(tab, ["Suivi"])["Suivi"] == kept and agent_columns_are_right(tab)


def test_the_key_column_moved_right_of_the_agents_mid_pass_keeps_its_keys(tmp_path: Path) -> None:
    """Found by the state machine (tests/test_live_columns.py): a person drags the key
    column past the agent's columns between the read and the write. The header read again
    looked like "the key column deleted" (every other column one letter left), so the
    letter the key column now holds was "put back" as blank: every key lost, for good."""
    with emulated_google(tmp_path, HEADER, rows(10), key_column="Client") as (emulator, store):
        store.write(plan_for(store))  # the agent's columns after "Notes"
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        for r in (2, 5, 9):
            tab.rows[r][2] = "Rare"  # the next pass has cells to write, the last column's too
        before = persons_columns(tab, HEADER)
        plan = plan_for(store)
        width = len(tab.header())
        emulator.between("", "write", lambda _: tab.move_columns(0, 1, width))
        store.write(plan)
        assert [str(h) for h in tab.header()] == [*HEADER[1:], *AGENT, "Client"]
        assert persons_columns(tab, HEADER) == before
        store.write(plan_for(store))  # the next pass: the agent's cells in its columns
        assert persons_columns(tab, HEADER) == before and agent_columns_are_right(tab)


def test_the_agents_column_dragged_before_the_key_mid_pass_keeps_every_persons_cell(
    tmp_path: Path,
) -> None:
    # the agent's last column dragged before the key column: it looks like a column
    # inserted at A, unless its name says it is one the read saw
    with emulated_google(tmp_path, HEADER, rows(10), key_column="Client") as (emulator, store):
        store.write(plan_for(store))
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        for r in (1, 4, 8):
            tab.rows[r][2] = "Rare"
        before = persons_columns(tab, HEADER)
        plan = plan_for(store)
        last = len(tab.header()) - 1
        emulator.between("", "write", lambda _: tab.move_columns(last, last + 1, 0))
        store.write(plan)
        assert persons_columns(tab, HEADER) == before
        store.write(plan_for(store))
        assert persons_columns(tab, HEADER) == before and agent_columns_are_right(tab)


COLUMNS = ["Client", "CSM", "Notes", "Score", "Statut"]


def test_where_each_letter_is_after_an_insert_a_delete_or_a_move() -> None:
    # a column inserted at B (named by a person before the write): C..F hold B..E
    assert now_at(["Client", "Priorité", "CSM", "Notes", "Score"], COLUMNS, 5)[:6] == [
        0, None, 1, 2, 3, 4,
    ]  # fmt: skip
    # "CSM" deleted: every column right of it one letter left, the last letter blank
    assert now_at(["Client", "Notes", "Score", "Statut", ""], COLUMNS, 5)[:5] == [0, 2, 3, 4, None]
    # the key column dragged to the end: the same letters shifted, but "Client" at the end
    # says it moved; each letter holds the column its name says
    assert now_at(["CSM", "Notes", "Score", "Statut", "Client"], COLUMNS, 5)[:5] == [1, 2, 3, 4, 0]
    # "Statut" dragged to A: not a column inserted there
    assert now_at(["Statut", "Client", "CSM", "Notes", "Score"], COLUMNS, 5)[:5] == [4, 0, 1, 2, 3]


def test_typed_cells_put_back_keep_what_the_csm_typed(tmp_path: Path) -> None:
    """Found by the state machine: a person's cells the agent's write fell on are put back
    as the read saw them, and the read hands a typed `80 %` out as 80.0 and a date as a
    date. Written back so, the cell showed 8000 % and the date became text. They go back as
    Google holds them (0.8, the serial number), and keep their number format."""
    header = [*INPUTS, "Renouvellement", "ARR", "Adoption"]
    typed = [entered(text, "USER_ENTERED", "fr_FR") for text in ("31/03/2027", "1 234 €", "80 %")]
    with emulated_google(
        tmp_path, header, [[*r, *typed] for r in accounts(10)], key_column="Client"
    ) as (emulator, store):
        store.write(plan_for(store))  # the agent's columns right of "Adoption"
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        for r in (2, 5, 9):
            tab.rows[r][2] = "Rare"  # the next pass writes these rows' cells
        before = [list(r[:6]) for r in tab.rows]
        plan = plan_for(store)

        def three_columns_inserted(_: SheetsEmulator) -> None:
            for name in ("A", "B", "C"):  # the agent's first three letters: the typed cells
                tab.insert_column(3, name)

        emulator.between("", "write", three_columns_inserted)
        store.write(plan)
        assert [r[:3] + r[6:9] for r in tab.rows] == before  # 80 %, not 8000 %; a date
        assert store.read().accounts.rows[1][6:9] == [dt.date(2027, 3, 31), 1234, 80.0]
