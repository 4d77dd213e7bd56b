"""A1 ranges, RAW values and request bodies of the Google store, as pure functions: no
server (like gspread's tests of its utils)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agent.errors import SheetError
from agent.plan import CellWrite, CellWrites, HistoryRows, WritePlan
from agent.stores.base import Tab
from agent.stores.google.ranges import (
    BLOCK_ROWS,
    bodies,
    by_column,
    by_row,
    cells_at_key_rows,
    column_letter,
    column_ranges,
    encoded,
    history_ranges,
    line_ranges,
    quote,
    raw,
    raw_values,
    row_blocks,
    without_blank_tail,
)


@pytest.mark.parametrize(
    ("title", "quoted"),
    [("Comptes", "'Comptes'"), ("l'équipe", "'l''équipe'"), ("A B!C", "'A B!C'"), ("''", "''''''")],
)
def test_a_tab_title_is_always_quoted_its_quotes_doubled(title: str, quoted: str) -> None:
    assert quote(title) == quoted


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (3, "D"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letters_follow_the_sheets_naming(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def test_raw_keeps_numbers_and_booleans_and_turns_the_rest_into_text() -> None:
    assert [raw(v) for v in ("x", 3, True, 2.5, None)] == ["x", 3, True, 2.5, ""]
    assert raw(dt.date(2026, 11, 24)) == "2026-11-24"
    # NaN and infinity have no JSON number: a NaN would become a null, leaving the cell
    assert raw(float("nan")) == "" and raw(float("inf")) == "inf"


def test_raw_values_returns_the_same_list_when_nothing_needs_changing() -> None:
    values: list = ["a", 1, True]
    assert raw_values(values) is values
    assert raw_values([1, None, "b"]) == [1, "", "b"]
    assert raw_values([1.5, dt.date(2026, 1, 2)]) == [1.5, "2026-01-02"]


def test_row_blocks_cut_runs_of_consecutive_rows_at_the_height() -> None:
    assert row_blocks([], 10) == []
    assert row_blocks([0, 1, 2, 5, 6, 9], 10) == [(0, 3), (3, 5), (5, 6)]
    assert row_blocks([0, 1, 2, 3, 4], 2) == [(0, 2), (2, 4), (4, 5)]


def test_adjacent_columns_on_the_same_rows_share_a_range_listed_column_by_column() -> None:
    cells = {3: ([0, 1], [1, 2]), 4: ([0, 1], ["a", "b"]), 6: ([1, 4], [None, "c"])}
    assert column_ranges("Comptes", cells) == [
        {"range": "'Comptes'!D2:E3", "majorDimension": "COLUMNS", "values": [[1, 2], ["a", "b"]]},
        {"range": "'Comptes'!G3:G3", "majorDimension": "COLUMNS", "values": [[""]]},
        {"range": "'Comptes'!G6:G6", "majorDimension": "COLUMNS", "values": [["c"]]},
    ]


def test_a_long_run_of_rows_is_cut_into_blocks_of_block_rows() -> None:
    rows = list(range(BLOCK_ROWS * 2 + 1))
    data = column_ranges("T", {0: (rows, ["x"] * len(rows))})
    assert [d["range"] for d in data] == [
        f"'T'!A2:A{BLOCK_ROWS + 1}",
        f"'T'!A{BLOCK_ROWS + 2}:A{2 * BLOCK_ROWS + 1}",
        f"'T'!A{2 * BLOCK_ROWS + 2}:A{2 * BLOCK_ROWS + 2}",
    ]


def test_whole_lines_make_one_block_per_run_as_wide_as_its_widest_line() -> None:
    lines = {0: ["Semaine", "Client"], 1: ["W48"], 5: ["W49", "Acme", 4], 7: []}
    assert line_ranges("Historique", lines) == [
        {"range": "'Historique'!A1:B2", "values": [["Semaine", "Client"], ["W48"]]},
        {"range": "'Historique'!A6:C6", "values": [["W49", "Acme", 4]]},
    ]  # an empty line alone writes nothing


def test_cells_by_row_and_by_column_are_the_same_cells() -> None:
    cells = {2: ([0, 3], ["a", "b"]), 5: ([3], [7])}
    assert by_row(cells) == {0: {2: "a"}, 3: {2: "b", 5: 7}}
    assert by_column(by_row(cells)) == cells


def test_a_columns_blank_cells_at_its_end_are_left_out_like_google_does() -> None:
    assert without_blank_tail(["a", "", None, "b", "", None]) == ["a", "", None, "b"]
    assert without_blank_tail(["", None]) == []


COLUMNS = ["Client", "CSM", "Score", "Statut"]


def at_key_rows(plan: WritePlan, keys: list[str]) -> dict:
    return cells_at_key_rows(plan, COLUMNS, keys, key_column="Client", title="Comptes")


def test_planned_cells_go_to_the_rows_of_their_keys_in_ascending_order() -> None:
    keys = ["Acme", "Boréal", "Cèdre"]
    plan = WritePlan(cells=CellWrites({"Score": (["Cèdre", "Acme", "Nobody"], [8, 2, 5])}))
    assert at_key_rows(plan, keys) == {2: ([0, 2], [2, 8])}  # no row for an unknown key


def test_a_key_on_two_rows_gets_the_cell_on_both_and_a_padded_key_is_found() -> None:
    keys = ["Acme", "Boréal", "Acme"]
    plan = WritePlan(cells=[CellWrite("Acme", "Statut", "ok"), CellWrite(" Boréal ", "Score", 1)])
    assert at_key_rows(plan, keys) == {3: ([0, 2], ["ok", "ok"]), 2: ([1], [1])}


def test_the_key_column_and_a_column_not_in_the_header_are_refused() -> None:
    with pytest.raises(SheetError, match='never writes the key column "Client"'):
        at_key_rows(WritePlan(cells=[CellWrite("Acme", "Client", "x")]), ["Acme"])
    with pytest.raises(SheetError, match='Column "Notes" is not in the header of "Comptes"'):
        at_key_rows(WritePlan(cells=[CellWrite("Acme", "Notes", "x")]), ["Acme"])


HEADER = ["Semaine", "Date", "Client", "Score"]


def test_a_weeks_first_history_rows_are_appended_below_the_rows_read() -> None:
    old = Tab("Historique", HEADER, [["2026-W47", "2026-11-17", "Acme", 4]])
    columns = [["2026-W48"] * 2, ["2026-11-24"] * 2, ["Acme", "Boréal"], [5, 6]]
    plan = WritePlan(history_header=HEADER, history_rows=HistoryRows(columns))
    data, written, rows_needed = history_ranges("Historique", old, plan)
    assert (written, rows_needed) == (2, 4)  # header, the old row, the two new ones
    assert data == [
        {"range": "'Historique'!A3:D4", "majorDimension": "COLUMNS", "values": columns},
    ]


def test_a_history_row_of_a_week_there_already_is_rewritten_in_place() -> None:
    old = Tab(
        "Historique", HEADER, [["2026-W48", "2026-11-24", "Acme", 4], ["2026-W48", "", "Boréal", 6]]
    )
    plan = WritePlan(history_header=HEADER, history_rows=[["2026-W48", "2026-11-25", "Acme", 5]])
    data, written, rows_needed = history_ranges("Historique", old, plan)
    assert (written, rows_needed) == (1, 3)
    assert data == [
        {"range": "'Historique'!A2:D2", "values": [["2026-W48", "2026-11-25", "Acme", 5]]}
    ]


def test_a_new_history_tab_gets_its_header_and_rows() -> None:
    plan = WritePlan(history_header=HEADER, history_rows=[["2026-W48", "2026-11-24", "Acme", 5]])
    data, written, rows_needed = history_ranges("Historique", None, plan)
    assert (written, rows_needed) == (1, 2)
    assert data == [
        {"range": "'Historique'!A1:D2", "values": [HEADER, ["2026-W48", "2026-11-24", "Acme", 5]]}
    ]


def ranges_of(body: bytes) -> list[dict]:
    parsed = json.loads(body)
    assert parsed["valueInputOption"] == "RAW"
    return parsed["data"]


def test_bodies_are_split_under_the_limit_and_keep_every_range_in_order() -> None:
    data = [{"range": f"'T'!A{i}", "values": [["é" * 50]]} for i in range(1, 41)]
    limit = 1_000
    sent = list(bodies(data, limit))
    assert len(sent) > 1 and all(len(body) <= limit for body in sent)
    assert [r for body in sent for r in ranges_of(body)] == data
    for body, after in zip(sent, sent[1:], strict=False):  # each as full as it could be
        assert len(body) + 1 + len(encoded(ranges_of(after)[0])) > limit


def test_a_range_larger_than_the_limit_still_goes_alone_in_its_body() -> None:
    big = {"range": "'T'!A1", "values": [["x" * 5_000]]}
    small = {"range": "'T'!A2", "values": [["y"]]}
    sent = list(bodies([small, big, small], 1_000))
    assert [ranges_of(body) for body in sent] == [[small], [big], [small]]


def test_text_is_encoded_as_utf8_and_a_lone_surrogate_as_the_replacement_character() -> None:
    assert encoded({"range": "A1", "values": [["é"]]}) == '{"range":"A1","values":[["é"]]}'.encode()
    broken = encoded({"range": "A1", "values": [["x\ud800y", 3]]})
    assert json.loads(broken)["values"] == [["x\ufffdy", 3]]
    assert broken.decode("utf-8")  # valid UTF-8 all through
