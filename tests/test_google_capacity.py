"""Grid sizes of a Google spreadsheet: the requests that grow a tab, and Google's
10-million-cell limit, as pure functions: no server."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.plan import HistoryRows, WritePlan
from agent.stores.google.capacity import (
    HISTORY_SPARE_ROWS,
    grid_cells,
    grow_columns_requests,
    history_cells,
    history_tab_requests,
    weeks_that_fit,
)


def tab(title: str, rows: int, columns: int, sheet_id: int = 0) -> Any:
    grid = {"rowCount": rows, "columnCount": columns}
    return {"properties": {"sheetId": sheet_id, "title": title, "gridProperties": grid}}


def test_history_cells_count_every_week_kept_the_header_and_the_spare_rows() -> None:
    # 200 accounts, this week and 52 kept, 7 columns
    assert history_cells(200, 52, 7) == (1 + 200 * 53 + HISTORY_SPARE_ROWS) * 7


@given(
    room=st.integers(0, 10_000_000),
    accounts=st.integers(1, 50_000),
    width=st.integers(1, 30),
)
def test_weeks_that_fit_is_the_most_weeks_whose_history_fits(
    room: int, accounts: int, width: int
) -> None:
    weeks = weeks_that_fit(room, accounts, width)
    if weeks == -1:  # not even this week's rows
        assert history_cells(accounts, 0, width) > room
    else:
        assert history_cells(accounts, weeks, width) <= room
        assert history_cells(accounts, weeks + 1, width) > room


def test_grid_cells_count_the_history_tab_apart() -> None:
    metadata = {
        "sheets": [tab("Comptes", 1000, 26), tab("Notes", 10, 3), tab("Historique", 500, 7)]
    }
    assert grid_cells(metadata, "Historique") == (26_030, 3_500, 7)
    assert grid_cells(metadata, None) == (26_030 + 3_500, 0, 0)  # no history tab yet


def test_columns_are_added_only_when_the_new_ones_do_not_fit() -> None:
    accounts = tab("Comptes", 1000, 5, sheet_id=4)
    assert grow_columns_requests(accounts, 5) == []
    assert grow_columns_requests(accounts, 8) == [
        {"appendDimension": {"sheetId": 4, "dimension": "COLUMNS", "length": 3}}
    ]


HEADER = ["Semaine", "Date", "Client", "Score", "Statut"]


def test_a_missing_history_tab_is_made_as_wide_as_its_rows_with_spare_rows() -> None:
    columns: list[list[Any]] = [["W48"] * 3, ["d"] * 3, ["a", "b", "c"], [1, 2, 3], ["x"] * 3]
    plan = WritePlan(history_header=HEADER[:3], history_rows=HistoryRows(columns))
    [request] = history_tab_requests(None, "Historique", plan, rows_needed=4_000)
    assert request == {
        "addSheet": {
            "properties": {
                "title": "Historique",
                "gridProperties": {
                    "rowCount": 4_000 + HISTORY_SPARE_ROWS,
                    "columnCount": 5,  # the rows' width, wider than the header given
                    "frozenRowCount": 1,
                },
            }
        }
    }
    small = history_tab_requests(None, "Historique", plan, rows_needed=4)
    assert small[0]["addSheet"]["properties"]["gridProperties"]["rowCount"] == 1000


def test_an_existing_history_tab_grows_rows_ahead_and_columns_to_fit() -> None:
    plan = WritePlan(history_header=[*HEADER, "usage"], history_rows=[["W49", "d", "a", 1]])
    history = tab("Historique", 1000, 5, sheet_id=9)
    assert history_tab_requests(history, "Historique", plan, rows_needed=1000) == [
        {"appendDimension": {"sheetId": 9, "dimension": "COLUMNS", "length": 1}}
    ]
    assert history_tab_requests(history, "Historique", plan, rows_needed=1001) == [
        {"appendDimension": {"sheetId": 9, "dimension": "ROWS", "length": 1 + HISTORY_SPARE_ROWS}},
        {"appendDimension": {"sheetId": 9, "dimension": "COLUMNS", "length": 1}},
    ]
