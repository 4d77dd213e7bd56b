"""The Google store's call budget and request bodies, against the local Sheets API emulator:
a pass costs the same calls whatever the number of rows (an unchanged pass 1, a pass that
changes cells 2, a first pass 2 and more only to keep each body under 2 MB), bodies stay
under 2 MB, cells share ranges, text goes as UTF-8 text (never a formula) and lands as
written."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.plan import CellWrite, CellWrites, HistoryRows, WritePlan
from tests.google_fixtures import (
    AGENT,
    INPUTS,
    SPREADSHEET_ID,
    USAGE,
    EmulatedGoogle,
    accounts,
    agent_cells,
    cell_updates_of,
    counts,
    emulated_google,
    plan_for,
    start_emulated_google,
)
from tests.sheets_emulator import Formula


@pytest.fixture
def google(tmp_path: Path) -> Iterator[EmulatedGoogle]:
    made = start_emulated_google(tmp_path, INPUTS, accounts(30), key_column="Client")
    yield made
    made.close()


def budget(tmp_path: Path, n: int) -> dict[str, Any]:
    """Call counts and body sizes of a first pass, an unchanged pass and a one-edit pass."""
    # the cells come with their number formats (grid data): on a shared, busy machine the
    # emulator can take longer than the fixtures' 10 s to make 100k rows of it
    made = start_emulated_google(
        tmp_path, INPUTS, accounts(n), key_column="Client", timeout_s=10 + n / 2000
    )
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
        writes = [cell_updates_of(emulator, b) for b in emulator.bodies("write")]
        return {"first": first, "first_sizes": first_sizes, "unchanged": unchanged,
                "second": second, "third": third, "third_writes": writes, "made": made}  # fmt: skip
    finally:
        made.close()


def test_call_budget_on_1000_rows(tmp_path: Path) -> None:
    seen = budget(tmp_path, 1000)
    # the first pass: one read (metadata and cells), one write (the history tab, the
    # columns, the formatting, the cells, and the keys read back in its reply)
    assert seen["first"] == {"token": 1, "read": 1, "write": 1}
    assert seen["second"] == {"read": 1}  # one read, no write at all
    assert not seen["unchanged"].wrote_anything
    assert seen["third"] == {"read": 1, "write": 1}
    [cells] = seen["third_writes"]
    accounts_ranges = [d["range"] for d in cells if d["range"].startswith("'Comptes'!")]
    # only row 44 (account 42 below the header), only agent columns (D onwards)
    assert accounts_ranges and all(r.split("!")[1][0] in "DEFG" for r in accounts_ranges)
    assert all(r.endswith("44") for r in accounts_ranges)
    history = [d for d in cells if d["range"].startswith("'Historique'!")]
    assert len(history) == 1 and history[0]["values"][0][2] == "Compte 000042"


def test_a_100k_row_sheet_costs_the_same_calls_and_bodies_stay_under_2mb(tmp_path: Path) -> None:
    small, big = budget(tmp_path / "small", 1000), budget(tmp_path / "big", 100_000)
    assert big["second"] == small["second"] == {"read": 1}
    assert big["third"] == small["third"] == {"read": 1, "write": 1}
    first = dict(big["first"])
    writes = first.pop("write")
    # many cells: the grid changes and formatting in one call, the cells as values (a
    # quarter of the bytes of updateCells), the keys read back in the last values body
    assert first == {"token": 1, "read": 1, "format": 1}
    # the one values write of the first pass is split by size, nothing else
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
            cells=CellWrites({"Prochaine action": ([r[0] for r in rows], [action] * 3000)}),
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


def test_columns_changing_the_same_rows_share_ranges_and_every_cell_lands(
    google: EmulatedGoogle,
) -> None:
    store, emulator = google.store, google.emulator
    store.write(plan_for(store))  # every agent cell filled
    keys = [f"Compte {i:06d}" for i in range(30)]
    changes = CellWrites(
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
    # D and E change rows 2-21: one range; F rows 12-21; G rows 12-21, then row 27 alone
    data = cell_updates_of(emulator, bodies[0])
    assert [d["range"] for d in data] == [
        "'Comptes'!D2:E21",
        "'Comptes'!F12:F21",
        "'Comptes'!G12:G21",
        "'Comptes'!G27:G27",
    ]
    assert data[0]["values"] == [[i, f"statut {i}"] for i in range(20)]
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
        # text as text (ExtendedValue.stringValue), never a formula (formulaValue)
        [body] = emulator.bodies("write")
        sent = [
            c["userEnteredValue"]
            for r in body["requests"]
            if "updateCells" in r
            for row in r["updateCells"]["rows"]
            for c in row["values"]
        ]
        assert sent[1:] == [{"stringValue": k} for k in keys]
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
        ranges = [d["range"] for d in cell_updates_of(emulator, body)]
        assert ranges[1:] == ["'Comptes'!D2:D3", "'Comptes'!D5:D5"]
        compact = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert size == len(compact)
        assert size < len(json.dumps(body).encode())  # what ASCII escapes would have sent
        assert store.read().accounts.rows[3][3] == "x\ufffdy"  # and reads back as it is
