"""Columns a person inserts, deletes and moves, through the API as through the browser:
the emulator's moveDimension follows the discovery document's own example, and what is
anchored to a column (its cells, notes, widths, rules, dropdowns, protections) goes with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.google_fixtures import service_account_file
from tests.sheets_emulator import SheetsEmulator
from tests.sheets_emulator.columns import ColumnMove
from tests.test_sheets_emulator import BOOK, EMAIL, Api

ROWS = [["0", "1", "2", "3", "4"], ["a0", "a1", "a2", "a3", "a4"], ["b0", "b1"]]


@pytest.fixture
def api(emulator: SheetsEmulator, tmp_path: Path) -> Api:
    emulator.add_spreadsheet(BOOK, {"Sheet1": [list(r) for r in ROWS]}, shared_with={EMAIL})
    return Api(emulator, service_account_file(tmp_path, emulator))


def batch(api: Api, *requests_: dict) -> tuple[int, str]:  # type: ignore[type-arg]
    reply = api.post(":batchUpdate", {"requests": list(requests_)})
    return reply.status_code, reply.json().get("error", {}).get("message", "")


def columns(start: int, end: int) -> dict[str, object]:
    return {"sheetId": 0, "dimension": "COLUMNS", "startIndex": start, "endIndex": end}


def values(api: Api) -> list[list[str]]:
    return list(api.get("/values/Sheet1").json()["values"])


def test_moving_columns_follows_the_discovery_documents_example(api: Api) -> None:
    # "given A1..A5 of 0, 1, 2, 3, 4 [...] the source would be [1..3), and the destination
    # index would be 4 [...] The end result would be A1..A5 of 0, 3, 1, 2, 4" (in rows
    # there; the same along columns)
    status, _ = batch(api, {"moveDimension": {"source": columns(1, 3), "destinationIndex": 4}})
    assert status == 200
    assert values(api) == [
        ["0", "3", "1", "2", "4"],
        ["a0", "a3", "a1", "a2", "a4"],
        ["b0", "", "b1"],  # a short row's cells move too; empty ones come back ""
    ]


def test_a_column_moved_left_takes_its_rules_dropdowns_notes_and_width(
    api: Api, emulator: SheetsEmulator
) -> None:
    tab = emulator.tab(BOOK, "Sheet1")
    at_d = {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 3, "endColumnIndex": 4}
    tab.validations.append({"range": dict(at_d), "rule": {"condition": {"type": "BOOLEAN"}}})
    tab.protected_ranges.append({"protectedRangeId": 1, "range": dict(at_d)})
    tab.notes[(0, 3)] = "la note de D1"
    tab.column_widths[3] = 180
    wide = {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 2}  # A:B, cut by nothing
    tab.conditional_formats.append({"ranges": [dict(wide)], "booleanRule": {}})
    status, _ = batch(api, {"moveDimension": {"source": columns(3, 4), "destinationIndex": 0}})
    assert status == 200
    assert values(api)[0] == ["3", "0", "1", "2", "4"]
    moved = {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}
    assert tab.validations[0]["range"] == moved and tab.protected_ranges[0]["range"] == moved
    assert tab.notes == {(0, 0): "la note de D1"} and tab.column_widths == {0: 180}
    assert tab.conditional_formats[0]["ranges"] == [
        {"sheetId": 0, "startColumnIndex": 1, "endColumnIndex": 3}
    ]


def test_a_destination_inside_the_source_moves_nothing(api: Api) -> None:
    status, _ = batch(api, {"moveDimension": {"source": columns(1, 3), "destinationIndex": 2}})
    assert status == 200 and values(api) == [r for r in ROWS]


def test_columns_inserted_and_deleted_through_the_api(api: Api, emulator: SheetsEmulator) -> None:
    status, _ = batch(api, {"insertDimension": {"range": columns(1, 3)}})
    assert status == 200
    assert values(api)[0] == ["0", "", "", "1", "2", "3", "4"]
    assert emulator.tab(BOOK, "Sheet1").column_count == 28
    status, _ = batch(api, {"deleteDimension": {"range": columns(0, 3)}})
    assert status == 200 and values(api)[0] == ["1", "2", "3", "4"]


def test_a_move_past_the_grid_or_of_rows_is_refused(api: Api) -> None:
    past = {"moveDimension": {"source": columns(1, 2), "destinationIndex": 27}}
    message = "Invalid requests[0].moveDimension: Invalid destinationIndex: 27"
    assert batch(api, past) == (400, message)
    rows = {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
    status, message = batch(api, {"moveDimension": {"source": rows, "destinationIndex": 0}})
    assert status == 400 and "only moves COLUMNS" in message
    status, _ = batch(api, {"moveDimension": {"source": columns(25, 27), "destinationIndex": 0}})
    assert status == 400  # columns past the grid


@pytest.mark.parametrize(
    ("start", "end", "destination", "order"),
    [
        (1, 3, 4, [0, 3, 1, 2, 4]),
        (3, 4, 0, [3, 0, 1, 2, 4]),
        (0, 1, 5, [1, 2, 3, 4, 0]),
        (4, 5, 1, [0, 4, 1, 2, 3]),
        (1, 2, 1, [0, 1, 2, 3, 4]),
    ],
)
def test_every_column_lands_where_the_cells_do(
    start: int, end: int, destination: int, order: list[int]
) -> None:
    move = ColumnMove(start, end, destination)
    assert move.line(list(range(5)), "") == order
    assert [order.index(c) for c in range(5)] == [move.column(c) for c in range(5)]
    for first in range(5):  # a one-column range follows its column
        assert move.span(first, first + 1) == (move.column(first), move.column(first) + 1)
