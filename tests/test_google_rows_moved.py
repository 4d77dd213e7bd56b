"""Rows found by key while CSMs work: sorts, inserts, deletes and edits during a pass, the
re-read of keys after a write, and cells put right on rows that moved (emulator, real HTTP)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent.plan import CellWrite, WritePlan
from agent.stores.google import quote
from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    USAGE,
    EmulatedGoogle,
    accounts,
    agent_cells,
    counts,
    emulated_google,
    plan_for,
    start_emulated_google,
)
from tests.sheets_emulator import SheetsEmulator, Value


@pytest.fixture
def google(tmp_path: Path) -> Iterator[EmulatedGoogle]:
    made = start_emulated_google(tmp_path, INPUTS, accounts(30), key_column="Client")
    yield made
    made.close()


class CsmAtWork(RuleBasedStateMachine):
    """CSMs sort, insert, delete and edit, and insert columns (issue 17), also in the middle
    of the agent's write (before it, and between it and the key re-read); no agent cell ever
    lands on the wrong row, and no CSM cell, in their columns or a column they inserted,
    ever changes."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="csm-"))
        self.google = start_emulated_google(self.folder, INPUTS, accounts(6), key_column="Client")
        self.expected = [list(r) for r in accounts(6)]  # the CSM cells, in sheet order
        self.next_key = 100
        self.version = 0
        self.inserted: list[str] = []  # columns a CSM inserted (empty: they must stay so)

    def teardown(self) -> None:
        self.google.close()

    def csm(self, change: str, seed: int) -> None:
        """One CSM change on the sheet, mirrored on the expected CSM cells."""
        tab, n = self.google.tab, len(self.expected)
        if change == "sort":
            order = sorted(range(n), key=lambda i: (self.expected[i][2], self.expected[i][0]))
            width = max((len(r) for r in tab.rows[1:]), default=0)
            rows = [r + [""] * (width - len(r)) for r in tab.rows[1 : n + 1]]
            tab.rows[1 : n + 1] = [rows[i] for i in order]
            self.expected = [self.expected[i] for i in order]
        elif change == "insert":
            at = seed % (n + 1)
            row = [f"Nouveau {self.next_key}", "Hugo", USAGE[seed % 3]]
            self.next_key += 1
            header = [str(h) for h in tab.header()]
            line: list[Value] = [""] * max(header.index(c) + 1 for c in INPUTS)
            for name, value in zip(INPUTS, row, strict=True):  # by header: columns move
                line[header.index(name)] = value
            tab.insert_row(at + 1, line)
            self.expected.insert(at, row)
        elif change == "delete" and n > 1:
            at = seed % n
            tab.delete_row(at + 1)
            del self.expected[at]
        elif change == "edit" and n:
            at = seed % n
            header = [str(h) for h in tab.header()]
            tab.set(at + 1, header.index("Utilisation"), USAGE[(seed // 7) % 3])
            self.expected[at][2] = USAGE[(seed // 7) % 3]
        elif change == "column":  # right of the key column, left of the last one
            # (not at the very right edge: a column inserted there and named in the moment
            # between the first read and the first write would lose its name)
            name = f"Colonne {len(self.inserted)}"
            tab.insert_column(1 + seed % (len(tab.header()) - 1), name)
            self.inserted.append(name)

    @rule(
        change=st.sampled_from(["sort", "insert", "delete", "edit", "column"]),
        seed=st.integers(0, 99),
    )
    def between_passes(self, change: str, seed: int) -> None:
        with self.google.emulator.lock:
            self.csm(change, seed)

    @rule(
        change=st.sampled_from(["sort", "insert", "delete", "edit", "column"]),
        moment=st.sampled_from([("", "write"), ("write", "read"), ("format", "write")]),
        seed=st.integers(0, 99),
    )
    def during_a_pass(self, change: str, moment: tuple[str, str], seed: int) -> None:
        store = self.google.store
        plan = plan_for(store)
        first, then = moment
        self.google.emulator.between(first, then, lambda emu: self.csm(change, seed))
        store.write(plan)
        self.google.emulator.clear_hooks()

    @invariant()
    def no_csm_cell_changed(self) -> None:
        tab = self.google.tab
        header = [str(h) for h in tab.header()]
        at = [header.index(c) for c in INPUTS]
        rows = [[tab.cell(r, c) for c in at] for r in range(1, len(tab.rows))]
        assert [r for r in rows if any(v != "" for v in r)] == self.expected
        for name in self.inserted:  # a column a CSM inserted: nothing of the agent's in it
            col = header.index(name)
            assert all(tab.cell(r, col) == "" for r in range(1, len(tab.rows))), name

    @invariant()
    def every_agent_cell_belongs_to_its_row(self) -> None:
        tab = self.google.tab
        header = [str(h) for h in tab.header()]
        if "Score" not in header:
            return
        at = [header.index(c) for c in AGENT]
        for r in range(1, len(tab.rows)):
            cells = dict(zip(AGENT, (tab.cell(r, c) for c in at), strict=True))
            key = str(tab.cell(r, 0))
            if not key or all(v == "" for v in cells.values()):
                assert all(v == "" for v in cells.values()), f"agent cells on empty row {r}"
                continue  # a CSM's new row: the next pass fills it
            # the cells name their account, and all come from one write for it
            assert str(cells["Pourquoi"]).startswith(f"{key}: "), (key, cells)
            usage = str(cells["Pourquoi"]).split("usage ", 1)[1]
            assert cells == agent_cells(key, usage.capitalize()), (key, cells)


CsmAtWork.TestCase.settings = settings(max_examples=30, stateful_step_count=6, deadline=None)


test_csm_edits_interleaved_with_writes = CsmAtWork.TestCase


def test_a_sort_between_the_write_and_the_reread_is_put_right(google: EmulatedGoogle) -> None:
    store, emulator = google.store, google.emulator
    plan = plan_for(store)
    emulator.between("", "write", lambda emu: google.reverse_rows())  # before the write
    report = store.write(plan)
    assert report.rewrites > 0
    tab = google.tab
    header = [str(h) for h in tab.header()]
    for r in range(1, len(tab.rows)):
        key, usage = str(tab.cell(r, 0)), str(tab.cell(r, 2))
        assert tab.cell(r, header.index("Score")) == agent_cells(key, usage)["Score"]
        assert tab.cell(r, header.index("Pourquoi")) == agent_cells(key, usage)["Pourquoi"]


def key_reads(emulator: SheetsEmulator) -> list[list[str]]:
    """The ranges read back in each write's reply, and of each read, since the counters
    were reset."""
    return [
        (c.body or {}).get("responseRanges", [])
        if c.kind == "write"
        else c.query.get("ranges", []) or [c.path]
        for c in emulator.requests
        if c.kind in ("read", "write")
    ]


def plan_after_one_edit(google: EmulatedGoogle) -> WritePlan:
    """Every agent cell written, then a CSM changes account 12 (row 14): the plan of the
    pass that follows, counters reset."""
    google.store.write(plan_for(google.store))
    google.edit("Compte 000012", "Utilisation", "Rare")  # was USAGE[12 % 3], "Quotidienne"
    plan = plan_for(google.store)
    google.emulator.reset_counters()
    return plan


def test_a_pass_that_changes_one_row_rereads_only_that_rows_key(google: EmulatedGoogle) -> None:
    store, emulator = google.store, google.emulator
    report = store.write(plan_after_one_edit(google))
    assert report.rewrites == 0 and counts(emulator) == {"write": 1}
    # row 14: account 12, read back in the write's own reply; the header with it (issue
    # 17: columns moved)
    assert key_reads(emulator) == [["'Comptes'!A14:A14", "'Comptes'!1:1"]]


def test_scattered_rows_under_a_long_title_read_back_only_their_keys(tmp_path: Path) -> None:
    # the ranges read back go in the write's body, not in a URL: a long title, many
    # times over, still reads back only the rows written
    title = "Comptes clients de l'équipe réussite client " * 4
    header = [*INPUTS, "Prochaine action"]
    with emulated_google(tmp_path, header, accounts(60), worksheet=title) as (emulator, store):
        store.read()
        emulator.reset_counters()
        store.write(
            WritePlan(
                cells=[
                    CellWrite(f"Compte {i:06d}", "Prochaine action", "Relancer")
                    for i in range(0, 40, 2)
                ]
            )  # fmt: skip
        )
        assert counts(emulator) == {"write": 1}
        # the keys read back with their formats, the header with them (issue 17)
        [ranges] = key_reads(emulator)
        rows = [f"{quote(title)}!A{i + 2}:A{i + 2}" for i in range(0, 40, 2)]
        assert ranges == [*rows, f"{quote(title)}!1:1"]


def test_bottom_rows_deleted_right_after_the_write_take_their_cells_with_them(
    tmp_path: Path,
) -> None:
    """A grid with no spare row (an imported sheet): a CSM deletes the last rows right
    after the write. The keys were read back in the write's own reply (atomic with it),
    so the pass ends well; the cells written went with their rows."""
    with emulated_google(
        tmp_path, INPUTS, accounts(10), key_column="Client", history_worksheet=None
    ) as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 11  # the header and ten accounts, nothing below
        store.read()
        plan = WritePlan(new_columns=["Score"], cells=[CellWrite("Compte 000009", "Score", 2)])
        emulator.between("write", "read", lambda _: (tab.delete_row(10), tab.delete_row(9)))
        assert store.write(plan).rewrites == 0
        assert tab.cell(10, 3) == 2  # landed on its own row, before the delete
        store.read()  # the next pass: the rows are gone, with their cells
        assert [r[0] for r in tab.rows[1:]] == [f"Compte {i:06d}" for i in range(8)]


def test_a_sort_before_a_one_row_write_is_put_right(google: EmulatedGoogle) -> None:
    # the one row written lands on another account: its key cell no longer matches, so
    # the whole key column is read and every cell put on its own account's row
    store, emulator = google.store, google.emulator
    plan = plan_after_one_edit(google)
    emulator.between("", "write", lambda emu: google.reverse_rows())
    report = store.write(plan)
    assert report.rewrites > 0
    # the write reads the row's key back; the column, then the rewrite; the column
    # again, to see it held
    assert counts(emulator) == {"write": 2, "read": 2}
    tab = google.tab
    header = [str(h) for h in tab.header()]
    for r in range(1, len(tab.rows)):
        key, usage = str(tab.cell(r, 0)), str(tab.cell(r, 2))
        for column in ("Score", "Statut", "Pourquoi"):
            assert tab.cell(r, header.index(column)) == agent_cells(key, usage)[column], key


def test_keys_that_are_dates_are_not_taken_for_moved_rows(tmp_path: Path) -> None:
    # a date in the key column is read as the sheet shows it; the key re-read must see
    # it the same way, or every such row looks moved and loses the cells just written
    days = [dt.date(2026, 11, d) for d in (2, 9, 16)]
    rows = [[d, "Léa", "Rare"] for d in days]
    with emulated_google(tmp_path, INPUTS, rows, key_column="Client") as (emulator, store):
        keys = [str(r[0]) for r in store.read().accounts.rows]
        plan = WritePlan(
            new_columns=["Prochaine action"],
            cells=[CellWrite(k, "Prochaine action", f"Appeler {k}") for k in keys],
        )
        report = store.write(plan)
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert [tab.cell(r, 3) for r in range(1, 4)] == [f"Appeler {k}" for k in keys]
        assert report.rewrites == 0
        assert counts(emulator)["write"] == 1


def test_rows_without_a_key_at_the_bottom_cost_no_second_key_reread(tmp_path: Path) -> None:
    # Google leaves blank cells at the end of a column out: that is not a row that moved
    rows = [*accounts(5), ["", "Léa", "Rare"], ["", "Hugo", "Quotidienne"]]
    with emulated_google(tmp_path, INPUTS, rows, key_column="Client") as (emulator, store):
        plan = plan_for(store)
        plan.cells = [c for c in plan.cells if c.key]
        emulator.reset_counters()
        report = store.write(plan)
        assert counts(emulator) == {"write": 1}  # the keys read back in the write's reply
        assert report.rewrites == 0
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert [tab.cell(r, 0) for r in range(1, 8)] == [r[0] for r in rows]
