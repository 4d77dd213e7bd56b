"""The Google store against the local Sheets API emulator, over real HTTP: the real
gspread and google-auth code, nothing mocked. Write plans are built by hand here (the
scoring core has its own tests); the emulator counts every call and records every body."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent.errors import SheetAccessError, SheetError, TransientError
from agent.stores.base import (
    CellChanges,
    CellWrite,
    Formatting,
    HistoryRows,
    ScoreScale,
    StatusColours,
    WritePlan,
)
from agent.stores.google import GoogleStore, backoff, check_access, is_agent_rule, quote
from tests.google_fixtures import (
    EMAIL,
    SPREADSHEET_ID,
    EmulatedGoogle,
    RecordedSleep,
    emulated_google,
    start_emulated_google,
)
from tests.sheets_emulator import Fault, Formula, SheetsEmulator

INPUTS = ["Client", "CSM", "Utilisation"]
AGENT = ["Score", "Statut", "Pourquoi", "Prochaine action"]
LABELS = StatusColours("En bonne santé", "À surveiller", "À risque")
FORMAT = Formatting(
    status_column="Statut",
    status_labels=LABELS,
    score_column="Score",
    agent_columns=tuple(AGENT),
    dropdowns=(("Utilisation", ("Quotidienne", "Hebdomadaire", "Rare")),),
    score_scale=ScoreScale(0, 3, 6),
)
USAGE = ["Quotidienne", "Hebdomadaire", "Rare"]


def accounts(n: int) -> list[list[Any]]:
    return [[f"Compte {i:06d}", ["Camille", "Hugo", "Léa"][i % 3], USAGE[i % 3]] for i in range(n)]


def agent_cells(key: str, usage: str) -> dict[str, Any]:
    """What a scoring core would write for an account (stands in for the real one)."""
    score = {"Quotidienne": 9, "Hebdomadaire": 5, "Rare": 2}.get(usage, 0)
    status = LABELS.green if score > 6 else LABELS.orange if score > 3 else LABELS.red
    return {"Score": score, "Statut": status, "Pourquoi": f"{key}: usage {usage.lower()}",
            "Prochaine action": f"Appeler {key}" if score < 4 else ""}  # fmt: skip


def plan_for(store: GoogleStore, week: str = "2026-W48") -> WritePlan:
    """Read the sheet and plan what changed, the way the sync core does."""
    tab = store.read().accounts
    header = tab.header
    plan = WritePlan(formatting=FORMAT, new_columns=[c for c in AGENT if c not in header])
    plan.desired = {}
    plan.history_header = ["Semaine", "Date", "Client", "Score", "Statut"]
    for row in tab.rows:
        key, usage = str(row[0]), str(row[2]) if len(row) > 2 else ""
        wanted = agent_cells(key, usage)
        plan.desired[key] = wanted
        for column, value in wanted.items():
            at = header.index(column) if column in header else None
            now = row[at] if at is not None and at < len(row) else ""
            if now != value:
                plan.cells.append(CellWrite(key, column, value))
        if any(c.key == key for c in plan.cells[-4:]):
            plan.history_rows.append([week, "2026-11-24", key, wanted["Score"], wanted["Statut"]])
    return plan


def counts(emulator: SheetsEmulator) -> dict[str, int]:
    return {kind: n for kind, n in emulator.calls.items() if n}


@pytest.fixture
def google(tmp_path: Path) -> Iterator[EmulatedGoogle]:
    made = start_emulated_google(tmp_path, INPUTS, accounts(30), key_column="Client")
    yield made
    made.close()


# --- the call budget ----------------------------------------------------------------------------


def budget(tmp_path: Path, n: int) -> dict[str, Any]:
    """Call counts and body sizes of a first pass, an unchanged pass and a one-edit pass."""
    made = start_emulated_google(tmp_path, INPUTS, accounts(n), key_column="Client")
    emulator, store = made.emulator, made.store
    try:
        store.write(plan_for(store))
        first, first_sizes = counts(emulator), emulator.sizes("write")
        emulator.reset_counters()
        unchanged = store.write(plan_for(store))
        second = counts(emulator)
        emulator.reset_counters()
        made.edit(
            "Compte 000042", "Utilisation", "Rare" if USAGE[42 % 3] != "Rare" else "Quotidienne"
        )
        store.write(plan_for(store, week="2026-W48"))
        third = counts(emulator)
        writes = emulator.bodies("write")
        return {"first": first, "first_sizes": first_sizes, "unchanged": unchanged,
                "second": second, "third": third, "third_writes": writes, "made": made}  # fmt: skip
    finally:
        made.close()


def test_call_budget_on_1000_rows(tmp_path: Path) -> None:
    seen = budget(tmp_path, 1000)
    assert seen["first"] == {"token": 1, "metadata": 1, "read": 2, "format": 1, "write": 1}
    assert seen["second"] == {"metadata": 1, "read": 1}  # reads only, no write at all
    assert not seen["unchanged"].wrote_anything
    assert seen["third"] == {"metadata": 1, "read": 2, "write": 1}
    [body] = seen["third_writes"]
    assert body["valueInputOption"] == "RAW"
    accounts_ranges = [d["range"] for d in body["data"] if d["range"].startswith("'Comptes'!")]
    # only row 44 (account 42 below the header), only agent columns (D onwards)
    assert accounts_ranges and all(r.split("!")[1][0] in "DEFG" for r in accounts_ranges)
    assert all(r.endswith("44") for r in accounts_ranges)
    history = [d for d in body["data"] if d["range"].startswith("'Historique'!")]
    assert len(history) == 1 and history[0]["values"][0][2] == "Compte 000042"


def test_a_100k_row_sheet_costs_the_same_calls_and_bodies_stay_under_2mb(tmp_path: Path) -> None:
    small, big = budget(tmp_path / "small", 1000), budget(tmp_path / "big", 100_000)
    assert big["second"] == small["second"] == {"metadata": 1, "read": 1}
    assert big["third"] == small["third"]
    first = dict(big["first"])
    writes = first.pop("write")
    assert first == {"token": 1, "metadata": 1, "read": 2, "format": 1}
    # the one values:batchUpdate of the first pass is split by size, nothing else
    sizes = big["first_sizes"]
    assert len(sizes) == writes and max(sizes) <= 2_000_000 and writes >= 2
    assert writes <= 1 + sum(sizes) // 1_500_000  # the bodies are well filled


def test_long_accented_next_actions_on_every_row_still_go_in_bodies_under_2mb(
    tmp_path: Path,
) -> None:
    # the worst a next action can be: 500 characters (the playbooks' cut), each 3 bytes
    # in UTF-8, on 3,000 rows, one column: the ranges must stay small enough to split
    action = "€" * 500
    rows = [[f"Compte {i}", "Léa", "Rare"] for i in range(3000)]
    with emulated_google(tmp_path, INPUTS, rows, key_column="Client") as (emulator, store):
        store.read()
        plan = WritePlan(
            new_columns=["Prochaine action"],
            cells=CellChanges({"Prochaine action": ([r[0] for r in rows], [action] * 3000)}),
        )
        store.write(plan)
        sizes = emulator.sizes("write")
        assert sum(sizes) > 4_500_000 and max(sizes) <= 2_000_000
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert all(tab.cell(r, 3) == action for r in range(1, 3001))


HISTORY_HEADER = ["Semaine", "Date", "Client", "Score", "Statut", "usage", "Modèle"]
OLD_HISTORY_ROW = st.tuples(
    st.sampled_from(["2026-W40", "2026-W47", " 2026-W48", "2026-W48", "", 1]),
    st.just("2026-11-16"),
    st.sampled_from(["Acme", " Boréal", "Cèdre", ""]),
    st.sampled_from([4, 6.5, ""]),
).map(list)


@settings(max_examples=25, deadline=None)
@given(
    old=st.lists(OLD_HISTORY_ROW, max_size=6),
    keys=st.lists(st.sampled_from(["Acme", "Boréal", "Cèdre", "Dune"]), min_size=1, max_size=5),
    week=st.sampled_from(["2026-W48", "2026-W49"]),
    oldest=st.sampled_from([None, "2026-W44"]),
)
def test_a_weeks_rows_given_as_columns_land_as_the_same_rows_would(old, keys, week, oldest):
    # the columns a pass plans (appended column by column when nothing else changes in
    # the tab) and the same rows given one by one (always merged) leave the same tab
    n = len(keys)
    columns = [[week] * n, ["2026-11-24"] * n, keys, list(range(n)), ["Vert"] * n,
               [None if i % 2 else 1 for i in range(n)], ["v1"] * n]  # fmt: skip
    tabs = []
    for history_rows in (HistoryRows(columns), [list(r) for r in zip(*columns, strict=True)]):
        folder = Path(tempfile.mkdtemp(prefix="hist-"))
        made = start_emulated_google(
            folder, INPUTS, accounts(2), key_column="Client", history=[HISTORY_HEADER, *old]
        )
        try:
            made.store.read()
            plan = WritePlan(
                history_header=HISTORY_HEADER, history_rows=history_rows, history_oldest_week=oldest
            )
            report = made.store.write(plan)
            history = made.store.read().history  # the tab as Google shows it
            assert history is not None
            tabs.append((report.history_rows_written, history.header, history.rows))
        finally:
            made.close()
    assert tabs[0] == tabs[1]


# --- rows identified by key while CSMs work ------------------------------------------------------


class CsmAtWork(RuleBasedStateMachine):
    """CSMs sort, insert, delete and edit, also in the middle of the agent's write (before
    it, and between it and the key re-read); no agent cell ever lands on the wrong row."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="csm-"))
        self.google = start_emulated_google(self.folder, INPUTS, accounts(6), key_column="Client")
        self.expected = [list(r) for r in accounts(6)]  # the CSM cells, in sheet order
        self.next_key = 100
        self.version = 0

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
            tab.insert_row(at + 1, list(row))
            self.expected.insert(at, row)
        elif change == "delete" and n > 1:
            at = seed % n
            tab.delete_row(at + 1)
            del self.expected[at]
        elif change == "edit" and n:
            at = seed % n
            tab.set(at + 1, 2, USAGE[(seed // 7) % 3])
            self.expected[at][2] = USAGE[(seed // 7) % 3]

    @rule(change=st.sampled_from(["sort", "insert", "delete", "edit"]), seed=st.integers(0, 99))
    def between_passes(self, change: str, seed: int) -> None:
        with self.google.emulator.lock:
            self.csm(change, seed)

    @rule(
        change=st.sampled_from(["sort", "insert", "delete", "edit"]),
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
        rows = [r for r in self.google.tab.rows[1:] if any(v != "" for v in r[:3])]
        assert [list(r[:3]) + [""] * (3 - len(r[:3])) for r in rows] == self.expected

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
    """The ranges of each values read since the counters were reset."""
    return [c.query.get("ranges", []) or [c.path] for c in emulator.requests if c.kind == "read"]


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
    assert report.rewrites == 0 and counts(emulator) == {"write": 1, "read": 1}
    assert key_reads(emulator) == [["'Comptes'!A14:A14"]]  # row 14: account 12


def test_scattered_rows_under_a_long_title_reread_the_whole_key_column(tmp_path: Path) -> None:
    # one range per written row would make a URL too long for Google: the column instead
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
        assert counts(emulator) == {"write": 1, "read": 1}
        [[path]] = key_reads(emulator)
        assert path.endswith(f"/values/{quote(title)}!A2:A")


def test_bottom_rows_deleted_before_the_key_reread_make_a_pass_to_try_again(
    tmp_path: Path,
) -> None:
    """A grid with no spare row (an imported sheet): a CSM deletes the last rows between
    the write and the re-read of their keys. Google refuses to read rows past the grid;
    the cells written went with their rows, so the pass says the next one looks again."""
    with emulated_google(
        tmp_path, INPUTS, accounts(10), key_column="Client", history_worksheet=None
    ) as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 11  # the header and ten accounts, nothing below
        store.read()
        plan = WritePlan(new_columns=["Score"], cells=[CellWrite("Compte 000009", "Score", 2)])
        emulator.between("write", "read", lambda _: (tab.delete_row(10), tab.delete_row(9)))
        with pytest.raises(TransientError, match="the next pass will look again"):
            store.write(plan)
        assert [r[0] for r in tab.rows[1:]] == [f"Compte {i:06d}" for i in range(8)]


def test_a_sort_before_a_one_row_write_is_put_right(google: EmulatedGoogle) -> None:
    # the one row written lands on another account: its key cell no longer matches, so
    # the whole key column is read and every cell put on its own account's row
    store, emulator = google.store, google.emulator
    plan = plan_after_one_edit(google)
    emulator.between("", "write", lambda emu: google.reverse_rows())
    report = store.write(plan)
    assert report.rewrites > 0
    # the row's key; the column, then the rewrite; the column again, to see it held
    assert counts(emulator) == {"write": 2, "read": 3}
    tab = google.tab
    header = [str(h) for h in tab.header()]
    for r in range(1, len(tab.rows)):
        key, usage = str(tab.cell(r, 0)), str(tab.cell(r, 2))
        for column in ("Score", "Statut", "Pourquoi"):
            assert tab.cell(r, header.index(column)) == agent_cells(key, usage)[column], key


def test_columns_changing_the_same_rows_share_ranges_and_every_cell_lands(
    google: EmulatedGoogle,
) -> None:
    store, emulator = google.store, google.emulator
    store.write(plan_for(store))  # every agent cell filled
    keys = [f"Compte {i:06d}" for i in range(30)]
    changes = CellChanges(
        {
            "Score": (keys[:20], list(range(20))),
            "Statut": (keys[19::-1], [f"statut {i}" for i in range(19, -1, -1)]),  # row order
            "Pourquoi": (keys[10:20], [f"why {i}" for i in range(10, 20)]),
            "Prochaine action": (keys[10:20] + [keys[25]], ["Appeler"] * 11),
        }
    )
    assert len(changes) == 61 and list(changes)[0] == CellWrite(keys[0], "Score", 0)
    bodies = []
    for cells in (changes, list(changes)):  # the pass's columns, or plain cells: one body
        emulator.reset_counters()
        report = store.write(WritePlan(cells=cells))
        assert report.cells_written == 61
        [body] = emulator.bodies("write")
        bodies.append(body)
    assert bodies[0] == bodies[1]
    # D and E change rows 2-21: one range; F rows 12-21; G rows 12-21, then row 27 alone.
    # Each range lists its columns, top to bottom (majorDimension COLUMNS)
    data = bodies[0]["data"]
    assert [d["range"] for d in data] == [
        "'Comptes'!D2:E21",
        "'Comptes'!F12:F21",
        "'Comptes'!G12:G21",
        "'Comptes'!G27:G27",
    ]
    assert {d["majorDimension"] for d in data} == {"COLUMNS"}
    assert data[0]["values"] == [list(range(20)), [f"statut {i}" for i in range(20)]]
    tab = google.tab
    header = [str(h) for h in tab.header()]
    for r in range(1, 31):
        i, usage = r - 1, str(tab.cell(r, 2))
        before = agent_cells(keys[i], usage)
        row = {c: tab.cell(r, header.index(c)) for c in AGENT}
        assert row["Score"] == (i if i < 20 else before["Score"])
        assert row["Statut"] == (f"statut {i}" if i < 20 else before["Statut"])
        assert row["Pourquoi"] == (f"why {i}" if 10 <= i < 20 else before["Pourquoi"])
        assert row["Prochaine action"] == (
            "Appeler" if 10 <= i < 20 or i == 25 else before["Prochaine action"]
        )


# --- formatting ---------------------------------------------------------------------------------


def test_ten_writes_leave_the_rules_identical_and_a_persons_rules_stay(
    google: EmulatedGoogle,
) -> None:
    theirs = {
        "ranges": [{"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Camille"}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }
    google.tab.conditional_formats.append(theirs)
    google.store.write(plan_for(google.store))
    status_col = google.tab.header().index("Statut")
    on_status = {  # a person's own rule on the agent's status column: kept too
        "ranges": [{"startRowIndex": 1, "startColumnIndex": status_col,
                    "endColumnIndex": status_col + 1}],
        "booleanRule": {
            "condition": {"type": "TEXT_CONTAINS", "values": [{"userEnteredValue": "risque"}]},
            "format": {"textFormat": {"bold": True}},
        },
    }  # fmt: skip
    google.tab.conditional_formats.insert(0, on_status)
    after_first = json.dumps(google.tab.conditional_formats, sort_keys=True)
    google.emulator.reset_counters()
    for _ in range(10):
        google.store.write(plan_for(google.store))
        assert json.dumps(google.tab.conditional_formats, sort_keys=True) == after_first
    assert google.emulator.calls["format"] == 0
    rules = google.tab.conditional_formats
    assert theirs in rules and rules[0] == on_status and len(rules) == 6
    score_col = google.tab.header().index("Score")
    [scale] = [r for r in rules if "gradientRule" in r]
    # Google leaves zero numbers (sheetId 0) out of what it returns
    assert scale["ranges"] == [{"startRowIndex": 1, "startColumnIndex": score_col,
                                "endColumnIndex": score_col + 1}]  # fmt: skip
    points = scale["gradientRule"]
    assert [
        (points[p]["type"], points[p]["value"]) for p in ("minpoint", "midpoint", "maxpoint")
    ] == [("NUMBER", "0"), ("NUMBER", "3"), ("NUMBER", "6")]
    protected = google.tab.protected_ranges
    assert len(protected) == 4 and all(p["warningOnly"] for p in protected)
    assert all(p["description"].startswith("health-agent") for p in protected)
    assert google.tab.frozen_rows == 1
    [dropdown] = google.tab.validations
    assert dropdown["rule"]["condition"]["type"] == "ONE_OF_LIST"


def test_a_tab_of_a_header_alone_in_a_one_row_grid_gets_its_formatting_unfrozen(
    tmp_path: Path,
) -> None:
    """Google refuses to freeze the only row of a tab: a new sheet with its header and no
    account yet would otherwise fail every pass."""
    with emulated_google(tmp_path, INPUTS, [], key_column="Client", row_count=1) as (
        emulator,
        store,
    ):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert tab.row_count == 1
        store.write(plan_for(store))
        assert tab.header() == [*INPUTS, *AGENT] and tab.frozen_rows == 0
        assert len(tab.conditional_formats) == 4


def test_a_deleted_agent_rule_comes_back_once(google: EmulatedGoogle) -> None:
    google.store.write(plan_for(google.store))
    del google.tab.conditional_formats[1]
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    google.store.write(plan_for(google.store))
    assert google.emulator.calls["format"] == 1 and len(google.tab.conditional_formats) == 4


def persons_rule(text: str) -> dict[str, Any]:
    return {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }


def a_rule_race(google: EmulatedGoogle) -> tuple[WritePlan, Callable[[], bool]]:
    """A pass that will rewrite the agent's rules (one of them was deleted), read, and a
    person who adds a rule on top of "Camille"'s before its formatting call: the plan to
    write, and whether the rule was added."""
    google.tab.conditional_formats.append(persons_rule("Camille"))
    google.store.write(plan_for(google.store))
    google.tab.conditional_formats.pop()  # an agent rule deleted: the next pass rewrites them
    plan = plan_for(google.store)  # the read
    added = google.emulator.between(
        "", "format", lambda _: google.tab.conditional_formats.insert(0, persons_rule("Hugo"))
    )
    return plan, added


def test_a_rule_a_person_adds_while_the_agent_rewrites_its_own_costs_no_rule(
    google: EmulatedGoogle,
) -> None:
    """Rules are deleted by position: a rule added on top between the pass's read and its
    formatting call makes a delete fall on a person's rule. It is put back, and the agent's
    rules end up there once."""
    plan, added = a_rule_race(google)
    google.store.write(plan)
    assert added()
    rules = google.tab.conditional_formats
    theirs = [(r["ranges"], r["booleanRule"]["condition"]) for r in rules[:2]]
    assert theirs == [
        (persons_rule(name)["ranges"], persons_rule(name)["booleanRule"]["condition"])
        for name in ("Hugo", "Camille")
    ]
    assert len(rules) == 2 + 4  # the agent's three status rules and its scale, once each
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    assert google.emulator.calls["format"] == 0  # nothing left to mend


@pytest.mark.parametrize(
    "lost", [Fault(status=503, after=True), Fault(reset=True, after=True)], ids=["503", "reset"]
)
def test_a_rule_put_back_whose_answer_is_lost_is_not_put_back_twice(
    google: EmulatedGoogle, lost: Fault
) -> None:
    plan, _ = a_rule_race(google)
    put_back_lost = dataclasses.replace(lost, kinds=frozenset({"format"}))
    google.emulator.between("format", "format", lambda em: em.inject(put_back_lost))
    google.store.write(plan)
    assert persons_rules(google) == ["Hugo", "Camille"]


@pytest.mark.parametrize(
    ("statuses", "said"),
    [([503] * 50, "could not be confirmed back"), ([429] * 4 + [503], "could not be put back")],
    ids=["never confirmed", "refused at the last try"],
)
def test_a_rule_put_back_that_fails_fails_the_pass_naming_the_rule(
    google: EmulatedGoogle, statuses: list[int], said: str
) -> None:
    plan, _ = a_rule_race(google)
    refused = [Fault(status=status, kinds=frozenset({"format"})) for status in statuses]
    google.emulator.between("format", "format", lambda em: em.inject(*refused))
    with pytest.raises(TransientError, match=said) as caught:
        google.store.write(plan)
    assert '"userEnteredValue": "Camille"' in str(caught.value)  # to put back by hand


def persons_rules(google: EmulatedGoogle) -> list[str]:
    """The texts of a person's rules on the accounts tab, in their order."""
    return [
        r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
        for r in google.tab.conditional_formats
        if not is_agent_rule(r)
    ]


def test_a_race_whose_formatting_answer_is_lost_still_costs_no_rule(
    google: EmulatedGoogle,
) -> None:
    """The answer that names the rules a call deleted is lost (the call made, then a 503):
    the rules are read again, and a person's rule gone since goes back among theirs."""
    plan, added = a_rule_race(google)
    google.emulator.inject(Fault(status=503, after=True, kinds=frozenset({"format"})))
    google.store.write(plan)
    assert added() and persons_rules(google) == ["Hugo", "Camille"]
    assert len(google.tab.conditional_formats) == 2 + 4


def test_a_rule_put_back_keeps_its_place_among_a_persons_rules(google: EmulatedGoogle) -> None:
    """Rules of a person above and below the agent's; one added inside the agent's block
    during the pass is deleted, then comes back above the ones that were below it."""
    google.tab.conditional_formats.append(persons_rule("Camille"))
    google.store.write(plan_for(google.store))
    rules = google.tab.conditional_formats  # Camille, the three status rules, the scale
    rules.pop()  # the scale goes: the next pass rewrites the agent's rules
    rules += [persons_rule("Léa"), persons_rule("Zoé")]
    plan = plan_for(google.store)
    google.emulator.between(
        "", "format", lambda _: google.tab.conditional_formats.insert(3, persons_rule("Hugo"))
    )
    google.store.write(plan)
    assert persons_rules(google) == ["Camille", "Hugo", "Léa", "Zoé"]
    assert len(google.tab.conditional_formats) == 4 + 4


def test_a_rule_a_person_deletes_during_the_pass_is_read_again_not_a_refusal(
    google: EmulatedGoogle,
) -> None:
    """The deletes' positions then run past the list: Google refuses the whole call; the
    rules are read again and what still differs is sent."""
    plan, _ = a_rule_race(google)
    google.emulator.clear_hooks()
    google.emulator.between("", "format", lambda _: google.tab.conditional_formats.pop(0))
    google.store.write(plan)
    assert persons_rules(google) == [] and len(google.tab.conditional_formats) == 4


def test_a_protection_a_lead_made_strict_stays_strict_even_when_made_anew(
    google: EmulatedGoogle,
) -> None:
    """The agent protects its columns with a warning. A lead who turns that into "only
    these people can edit" (the service account among them) meant it: no pass turns it
    back into a warning, and one that has to make the protections anew keeps them strict."""
    google.store.write(plan_for(google.store))
    editors = {"users": ["lead@example.com", EMAIL]}
    header = google.tab.header()
    strict = {"Score", "Statut", "Pourquoi"}  # "Prochaine action" left to CSMs to adjust
    for protection in google.tab.protected_ranges:
        if header[protection["range"]["startColumnIndex"]] in strict:
            protection["warningOnly"], protection["editors"] = False, editors
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    assert google.emulator.calls["format"] == 0  # nothing to put right
    more = dataclasses.replace(
        FORMAT, dropdowns=(("Utilisation", ("Quotidienne", "Hebdomadaire", "Rare", "Jamais")),)
    )
    plan = plan_for(google.store)
    plan.formatting = more  # a new dropdown value: the agent's protections are made anew
    google.store.write(plan)
    assert google.emulator.calls["format"] == 1
    protected = {header[p["range"]["startColumnIndex"]]: p for p in google.tab.protected_ranges}
    assert sorted(protected) == sorted(AGENT)
    for column, p in protected.items():
        if column in strict:
            assert not p["warningOnly"] and p["editors"] == editors
        else:
            assert p["warningOnly"]


def test_new_thresholds_replace_the_score_scale_once_and_a_persons_scale_stays(
    google: EmulatedGoogle,
) -> None:
    google.store.write(plan_for(google.store))
    score_col = google.tab.header().index("Score")
    theirs = {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": score_col,
                    "endColumnIndex": score_col + 1}],
        "gradientRule": {"minpoint": {"color": {"red": 1, "green": 1, "blue": 1}, "type": "MIN"},
                         "maxpoint": {"color": {"blue": 1}, "type": "MAX"}},
    }  # fmt: skip
    google.tab.conditional_formats.append(theirs)
    moved = dataclasses.replace(FORMAT, score_scale=ScoreScale(0, 2, 5))
    google.emulator.reset_counters()
    for _ in range(3):
        plan = plan_for(google.store)
        plan.formatting = moved
        google.store.write(plan)
    assert google.emulator.calls["format"] == 1
    scales = [r["gradientRule"] for r in google.tab.conditional_formats if "gradientRule" in r]
    assert theirs["gradientRule"] in scales and len(scales) == 2
    [ours] = [g for g in scales if g != theirs["gradientRule"]]
    assert (ours["midpoint"]["value"], ours["maxpoint"]["value"]) == ("2", "5")


@pytest.mark.parametrize("lost", [Fault(reset=True, after=True), Fault(status=500, after=True)],
                         ids=["reset", "500"])  # fmt: skip
def test_a_formatting_call_whose_answer_is_lost_is_not_made_twice(
    google: EmulatedGoogle, lost: Fault
) -> None:
    # the agent's rules first, then a person's: new thresholds make the agent delete its
    # rules by position and add new ones; made twice, the second time's positions would
    # fall on the person's rule
    google.store.write(plan_for(google.store))
    theirs = {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Camille"}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }
    google.tab.conditional_formats.append(theirs)
    google.emulator.inject(dataclasses.replace(lost, kinds=frozenset({"format"})))
    plan = plan_for(google.store)
    plan.formatting = dataclasses.replace(FORMAT, score_scale=ScoreScale(0, 2, 5))
    google.store.write(plan)
    rules = google.tab.conditional_formats
    assert rules[0] == theirs and len(rules) == 5  # the person's rule, and the agent's four
    [scale] = [r["gradientRule"] for r in rules if "gradientRule" in r]
    assert (scale["midpoint"]["value"], scale["maxpoint"]["value"]) == ("2", "5")
    assert len(google.tab.protected_ranges) == 4
    google.emulator.reset_counters()
    google.store.write(plan)  # nothing left to do
    assert google.emulator.calls["format"] == 0


@pytest.mark.parametrize(("fault", "metadata_reads"), [(Fault(status=429), 0),
                                                     (Fault(status=503), 1),
                                                     (Fault(reset=True), 1)],
                         ids=["429", "503", "reset"])  # fmt: skip
def test_a_refused_formatting_call_is_sent_again_once_it_is_sure_what_is_left(
    tmp_path: Path, fault: Fault, metadata_reads: int
) -> None:
    # 429: Google refused it before doing anything, sent again as it is; a 503 or a reset
    # might have come after the change was made: the metadata is read before sending again
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client", sleep=sleep) as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        emulator.reset_counters()
        emulator.inject(dataclasses.replace(fault, kinds=frozenset({"format"})))
        store.write(plan)
        assert emulator.calls["format"] == 2 and len(sleep.waits) == 1
        assert emulator.calls["metadata"] == metadata_reads
        assert len(emulator.tab(SPREADSHEET_ID, "Comptes").conditional_formats) == 4


def test_a_formatting_call_never_confirmed_fails_the_pass_after_bounded_tries(
    tmp_path: Path,
) -> None:
    sleep = RecordedSleep()
    with emulated_google(
        tmp_path, INPUTS, accounts(5), key_column="Client", sleep=sleep, max_tries=3
    ) as (emulator, store):
        plan = plan_for(store)
        emulator.inject(*[Fault(reset=True, kinds=frozenset({"format"}))] * 10)
        with pytest.raises(TransientError, match="did not confirm the formatting after 3 tries"):
            store.write(plan)
        assert emulator.calls["format"] == 3 and len(sleep.waits) == 2
        assert emulator.calls["write"] == 0  # no cell written into a layout not made


def test_a_spreadsheet_at_googles_cell_limit_gets_a_sentence_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (
        emulator,
        store,
    ):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 10_000_000 // tab.column_count - 10  # a big, mostly empty grid
        plan = plan_for(store)
        plan.history_rows = [["2026-W48", "2026-11-23", "Compte 000000", 1, "ok"]]
        with pytest.raises(SheetError) as caught:
            store.write(plan)
        assert "limit of 10 million cells" in str(caught.value)
        assert "`sheet.history_keep_weeks`" in str(caught.value)
        assert emulator.calls["write"] == 0
        assert emulator.spreadsheets[SPREADSHEET_ID].tab("Historique") is None


def test_the_history_tab_is_made_as_wide_as_its_rows(tmp_path: Path) -> None:
    # every grid cell counts towards Google's 10 million: no 26 columns for 5 used
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        plan.history_rows = [["2026-W48", "2026-11-23", "Compte 000000", 1, "ok"]]
        store.write(plan)
        history = emulator.tab(SPREADSHEET_ID, "Historique")
        assert history is not None and history.column_count == 5
        plan = plan_for(store, week="2026-W49")
        plan.history_header = [*plan.history_header, "usage"]
        plan.history_rows = [["2026-W49", "2026-11-30", "Compte 000000", 1, "ok", 2]]
        store.write(plan)  # a criterion more: the tab grows a column
        assert history.column_count == 6 and history.cell(2, 5) == 2


def test_a_first_pass_whose_formatting_answer_is_lost_still_writes_once(tmp_path: Path) -> None:
    # the call that makes the history tab is made, its answer lost: making the tab again
    # would be refused ("already exists") and fail the pass
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (
        emulator,
        store,
    ):
        emulator.inject(Fault(reset=True, after=True, kinds=frozenset({"format"})))
        plan = plan_for(store)
        plan.history_rows = [
            ["2026-W48", "2026-11-23", f"Compte {i:06d}", i, "ok"] for i in range(5)
        ]
        store.write(plan)
        history = emulator.tab(SPREADSHEET_ID, "Historique")
        assert history is not None and [history.cell(r, 2) for r in range(1, 6)] == [
            f"Compte {i:06d}" for i in range(5)
        ]
        assert len(emulator.spreadsheets[SPREADSHEET_ID].tabs) == 2
        assert len(emulator.tab(SPREADSHEET_ID, "Comptes").conditional_formats) == 4


# --- literal text -------------------------------------------------------------------------------


def test_formula_like_text_is_stored_literally(tmp_path: Path) -> None:
    keys = ['=IMPORTXML("http://x","//a")', "+1", "@SUM(A1)", "-2", "=1+1"]
    rows = [[k, "Léa", "Rare"] for k in keys]
    with emulated_google(tmp_path, INPUTS, rows, key_column="Client") as (emulator, store):
        store.read()
        plan = WritePlan(
            new_columns=["Prochaine action"],
            cells=[CellWrite(k, "Prochaine action", k) for k in keys],
        )
        store.write(plan)
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        written = [tab.cell(r, 3) for r in range(1, len(keys) + 1)]
        assert written == keys and not any(isinstance(v, Formula) for v in written)
        assert [b["valueInputOption"] for b in emulator.bodies("write")] == ["RAW"]
        assert [r[3] for r in store.read().accounts.rows] == keys


def test_text_is_sent_as_utf8_and_lands_as_written_a_broken_character_replaced(
    tmp_path: Path,
) -> None:
    actions = {0: "Planifier un point d'étape · relancer ✅", 1: "Rappeler Zoé 🙂", 3: "x\ud800y"}
    rows = [[f"Compte {i}", "Léa", "Rare"] for i in range(4)]
    with emulated_google(tmp_path, INPUTS, rows, key_column="Client") as (emulator, store):
        store.read()
        plan = WritePlan(
            new_columns=["Prochaine action"],
            cells=[CellWrite(rows[i][0], "Prochaine action", a) for i, a in actions.items()],
        )
        store.write(plan)
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        # a lone surrogate, which no sheet can hold, lands as the replacement character
        assert {r - 1: tab.cell(r, 3) for r in (1, 2, 4)} == {**actions, 3: "x\ufffdy"}
        # accents and emoji go as UTF-8, not as 6-byte escapes, every range alike
        [body], [size] = emulator.bodies("write"), emulator.sizes("write")
        assert [d["range"] for d in body["data"]][1:] == ["'Comptes'!D2:D3", "'Comptes'!D5:D5"]
        compact = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert size == len(compact)
        assert size < len(json.dumps(body).encode())  # what ASCII escapes would have sent
        assert store.read().accounts.rows[3][3] == "x\ufffdy"  # and reads back as it is


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
        assert counts(emulator) == {"format": 1, "write": 1, "read": 1}  # one key re-read
        assert report.rewrites == 0
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert [tab.cell(r, 0) for r in range(1, 8)] == [r[0] for r in rows]


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault(status=429), Fault(status=500), Fault(status=503), Fault(reset=True)],
    ids=["429", "500", "503", "reset"],
)
def test_retried_failures_succeed_after_n_tries_with_bounded_sleeps(
    tmp_path: Path, fault: Fault
) -> None:
    sleep = RecordedSleep()
    with emulated_google(
        tmp_path, INPUTS, accounts(3), sleep=sleep, rng=random.Random(7), max_tries=5
    ) as (emulator, store):
        emulator.inject(fault, fault, fault)
        assert len(store.read().accounts.rows) == 3
        rng = random.Random(7)
        assert sleep.waits == pytest.approx([backoff(i, rng) for i in range(3)])
        for attempt, wait in enumerate(sleep.waits):
            assert 2**attempt / 2 <= wait <= 2**attempt  # exponential, half jittered
        assert emulator.calls["metadata"] == 4  # three failures, then the answer


def test_retries_are_bounded_then_a_transient_error(tmp_path: Path) -> None:
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(3), sleep=sleep, max_tries=4) as (
        emulator,
        store,
    ):
        emulator.fail_next(10, 503)
        with pytest.raises(TransientError, match="503"):
            store.read()
        assert len(sleep.waits) == 3 and emulator.api_calls() == 4
        assert max(sleep.waits) <= 32
        emulator.faults.clear()
        emulator.fail_next(10, reset=True)
        with pytest.raises(TransientError, match="could not be reached after 4 tries"):
            store.read()


def test_not_shared_fails_at_once_naming_the_service_account(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3), shared=False) as (emulator, store):
        with pytest.raises(SheetAccessError) as caught:
            store.read()
        assert EMAIL in str(caught.value)
        assert "share the sheet with it as Editor" in str(caught.value)
        assert emulator.api_calls() == 1


GOOGLE_403 = {  # Google's words for each cause of a 403, and the advice each one needs
    "sheets api not enabled": (
        "Google Sheets API has not been used in project 123456789 before or it is disabled. "
        "Enable it by visiting https://console.developers.google.com/apis/api/"
        "sheets.googleapis.com/overview?project=123456789 then retry.",
        "The Google Sheets API is not enabled",
    ),
    "no spreadsheets scope": (
        "Request had insufficient authentication scopes.",
        "gcloud auth application-default login --scopes=",
    ),
    "not shared": ("The caller does not have permission", "share the sheet with it as Editor"),
}


@pytest.mark.parametrize("cause", sorted(GOOGLE_403))
def test_each_cause_of_a_403_gets_its_own_advice_and_googles_words(
    tmp_path: Path, cause: str
) -> None:
    message, advice = GOOGLE_403[cause]
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        emulator.inject(Fault(status=403, message=message))
        with pytest.raises(SheetAccessError) as caught:
            store.read()
        said = str(caught.value)
        assert advice in said and f"Google said: {message}" in said
        assert ("as Editor" in said) == (cause == "not shared")


def test_a_protected_range_that_stops_the_write_says_which_protection_to_open(
    tmp_path: Path,
) -> None:
    refusal = (
        "You are trying to edit a protected cell or object. Please contact the spreadsheet "
        "owner to remove protection if you need to edit."
    )
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        emulator.inject(Fault(status=400, message=refusal, kinds=frozenset({"write"})))
        with pytest.raises(SheetAccessError) as caught:
            store.write(plan)
        assert "Protect sheets and ranges" in str(caught.value)
        assert EMAIL in str(caught.value)


def test_a_tab_renamed_between_the_read_and_the_write_is_named_in_the_sentence(
    tmp_path: Path,
) -> None:
    """Google puts "Invalid data[0]: " before the message of a values write's range."""
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        plan.formatting = None
        emulator.tab(SPREADSHEET_ID, "Comptes").title = "Clients"  # a CSM renames it
        with pytest.raises(SheetError) as caught:
            store.write(plan)
        assert "could not find a tab the agent uses" in str(caught.value)
        assert "Invalid data[0]: Unable to parse range: 'Comptes'!" in str(caught.value)


def test_unknown_spreadsheet_missing_tab_and_missing_key_column(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.spreadsheet_id = "no-such-id"
        with pytest.raises(SheetAccessError, match="No spreadsheet with id no-such-id"):
            store.read()
        store.spreadsheet_id, store.worksheet = SPREADSHEET_ID, "Clients"
        with pytest.raises(SheetError, match='No tab named "Clients".*tabs: Comptes'):
            store.read()
        store.worksheet, store.key_column = "Comptes", "Compte"
        with pytest.raises(SheetError, match='key column "Compte"'):
            store.read()
        assert store.client_class.sleep.waits == []  # type: ignore[attr-defined]


def test_tab_names_in_the_config_match_the_tabs_whatever_their_case(tmp_path: Path) -> None:
    """Google holds tab titles unique ignoring case: "historique" in the config is the tab
    "Historique" (adding a second one would be refused, and every pass with it)."""
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        store.write(plan_for(store))  # makes "Historique"
        store.worksheet, store.history_worksheet = "comptes", "HISTORIQUE"
        snapshot = store.read()
        assert snapshot.accounts.title == "Comptes"
        assert snapshot.history is not None and len(snapshot.history.rows) == 3
        plan = plan_for(store, week="2026-W49")
        plan.history_rows = [["2026-W49", "2026-12-01", "Compte 000000", 9, "En bonne santé"]]
        store.write(plan)
        assert [t.title for t in emulator.spreadsheets[SPREADSHEET_ID].tabs] == [
            "Comptes",
            "Historique",
        ]
        rows = emulator.tab(SPREADSHEET_ID, "Historique").rows
        assert [r[0] for r in rows[1:]] == ["2026-W48"] * 3 + ["2026-W49"]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_refusals_are_never_retried(tmp_path: Path, status: int) -> None:
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(3), sleep=sleep) as (emulator, store):
        # one 401 is an expired token that google-auth refreshes by itself; more is a refusal
        emulator.fail_next(3, status)
        with pytest.raises(SheetError) as caught:
            store.read()
        assert sleep.waits == []
        expected = {400: "refused the request", 401: "did not accept", 403: "as Editor",
                    404: "No spreadsheet"}[status]  # fmt: skip
        assert expected in str(caught.value)


def test_a_key_the_token_endpoint_does_not_know_is_refused(tmp_path: Path) -> None:
    from tests.google_fixtures import service_account_file

    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.credentials_path = service_account_file(
            tmp_path / "other", emulator, "stranger@x.iam.gserviceaccount.com", register=False
        )
        with pytest.raises(SheetAccessError, match="refused the service account's credentials"):
            store.read()


@pytest.mark.parametrize("status", [429, 503])
def test_a_sign_in_service_out_for_a_while_is_a_retry_next_pass_not_a_revoked_key(
    tmp_path: Path, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.auth._exponential_backoff as auth_backoff

    waits: list[float] = []  # google-auth's own backoff between its token tries: no real wait
    monkeypatch.setattr(auth_backoff, "time", type("Clock", (), {"sleep": waits.append}))
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        emulator.inject(*[Fault(status=status, kinds=frozenset({"token"})) for _ in range(5)])
        with pytest.raises(TransientError, match="sign-in service") as caught:
            store.read()
        assert "revoked" not in str(caught.value)
        assert emulator.calls["token"] == 3 and len(waits) == 2  # google-auth's three tries


def test_a_key_file_that_cannot_be_read_says_so_without_a_traceback(tmp_path: Path) -> None:
    from agent.stores.google import load_credentials

    with pytest.raises(SheetAccessError, match="key file cannot be read") as caught:
        load_credentials(tmp_path)  # a folder given for the file
    assert str(tmp_path) in str(caught.value)


# --- secrets, scope, endpoint, check -------------------------------------------------------------


def test_debug_logs_of_a_whole_pass_hold_no_token_and_no_private_key(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("google"), logging.getLogger("urllib3")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    logging.getLogger("google").addHandler(handler)  # google-auth logs only when configured
    try:
        with emulated_google(tmp_path, INPUTS, accounts(30)) as (emulator, store):
            emulator.inject(Fault(status=503))
            store.write(plan_for(store))
            tokens = list(emulator.tokens)
            assertions = [c.body["assertion"][0] for c in emulator.requests if c.kind == "token"]
            key = json.loads(Path(str(store.credentials_path)).read_text())["private_key"]
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("google").removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert "retry" in text and "/v4/spreadsheets" in text  # the pass was logged
    assert tokens and all(token not in text for token in tokens)
    assert all(a not in text and a.split(".")[2] not in text for a in assertions)
    for line in key.splitlines()[1:-1]:
        assert line not in text


def test_scope_timeout_and_endpoint_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.read()
        assert store.client().auth.scopes == ["https://www.googleapis.com/auth/spreadsheets"]
        assert store.client().timeout == 10
        monkeypatch.setenv("HEALTH_AGENT_SHEETS_ENDPOINT", emulator.url)
        from_env = GoogleStore(
            spreadsheet_id=SPREADSHEET_ID,
            worksheet="Comptes",
            key_column="Client",
            history_worksheet=None,
            credentials=store.credentials_path,
        )
        assert len(from_env.read().accounts.rows) == 3


def test_check_access_says_what_is_fine_and_what_is_wrong(tmp_path: Path) -> None:
    from types import SimpleNamespace

    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):

        def config(**sheet: Any) -> Any:
            values = {"spreadsheet_id": SPREADSHEET_ID, "worksheet": "Comptes",
                      "key_column": "Client", "history_worksheet": "Historique"}  # fmt: skip
            values.update(sheet)
            google_ = SimpleNamespace(
                credentials=store.credentials_path, endpoint=emulator.url, timeout_s=5
            )
            return SimpleNamespace(sheet=SimpleNamespace(**values), google=google_)

        fine = check_access(config())
        assert [line.split(":")[0] for line in fine] == [
            "credentials", f"spreadsheet {SPREADSHEET_ID}", 'tab "Comptes"', 'key column "Client"'
        ]  # fmt: skip
        assert not any("problem" in line for line in fine)
        assert "must be an Editor" in fine[1]  # reading the metadata cannot tell a Viewer
        assert "problem" in check_access(config(key_column="Compte"))[-1]
        assert (
            "Share" in check_access(config(spreadsheet_id="nope"))[-1]
            or "No spreadsheet" in (check_access(config(spreadsheet_id="nope"))[-1])
        )
