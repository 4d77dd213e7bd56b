"""Grid sizes: the requests that grow a tab to fit, and Google's 10-million-cell limit.

Every cell of every tab's grid counts towards Google's limit, empty or not: the agent adds
no spare columns and grows the history tab a bounded number of rows ahead. Pure functions
over the metadata Google gives (`sheets[].properties.gridProperties`).
"""

from __future__ import annotations

import sys
import zlib

from agent.plan import HistoryRows, WritePlan
from agent.stores.google.ranges import Json

GOOGLE_CELL_LIMIT = 10_000_000  # cells in one Google spreadsheet: every tab's grid, empty or not
HISTORY_SPARE_ROWS = 100  # the history tab is made or grown this many rows beyond its need


def history_cells(accounts: int, keep_weeks: int, width: int) -> int:
    """Grid cells the history tab comes to hold with `history_keep_weeks = keep_weeks`: a row
    per account for this week and each week kept, the header, the rows grown ahead."""
    return (1 + accounts * (keep_weeks + 1) + HISTORY_SPARE_ROWS) * width


def weeks_that_fit(room: int, accounts: int, width: int) -> int:
    """The largest `history_keep_weeks` whose history tab fits in `room` cells; -1 when not
    even this week's rows do (any number fits a sheet with no accounts: `sys.maxsize`)."""
    rows = room // max(width, 1) - 1 - HISTORY_SPARE_ROWS
    if rows < accounts:
        return -1
    return rows // accounts - 1 if accounts else sys.maxsize


def grid_cells(metadata: Json, history_title: str | None) -> tuple[int, int, int]:
    """Cells of the spreadsheet's grids, as Google counts them for its limit: every tab's
    but the history tab's, the history tab's, and the history tab's columns (0 when it does
    not exist yet: each row it grows costs that many cells)."""
    other = history = history_columns = 0
    for sheet in metadata.get("sheets", []):
        grid = sheet["properties"].get("gridProperties", {})
        rows, columns = int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0))
        if sheet["properties"].get("title") == history_title:
            history, history_columns = rows * columns, columns
        else:
            other += rows * columns
    return other, history, history_columns


def _append(sheet_id: int, dimension: str, length: int) -> Json:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def grow_columns_requests(tab: Json, width: int) -> list[Json]:
    """Grow a tab's grid (its metadata `tab`) when `width` columns do not fit in it."""
    grid = tab["properties"].get("gridProperties", {})
    have = int(grid.get("columnCount", 26))
    if width <= have:
        return []
    sheet_id = int(tab["properties"].get("sheetId", 0))
    return [_append(sheet_id, "COLUMNS", width - have)]


def free_sheet_id(metadata: Json, title: str) -> int:
    """An id no tab of the spreadsheet has, for a tab the agent makes: given in its
    addSheet, so the same call can size its columns. The same for a title each time."""
    taken = {int(s["properties"].get("sheetId", 0)) for s in metadata.get("sheets", [])}
    start = zlib.crc32(title.encode()) % 1_000_000_000 + 1
    return next(i for i in range(start, start + len(taken) + 1) if i not in taken)


def history_tab_requests(
    history: Json | None,
    title: str | None,
    plan: WritePlan,
    rows_needed: int,
    sheet_id: int | None = None,
) -> list[Json]:
    """Create the history tab (`history` is None; with `sheet_id` as its id when given),
    or grow it, so the rows to write fit."""
    rows = plan.history_rows
    widest = (
        len(rows.columns)  # a pass's rows, all as wide: not made one by one to be measured
        if isinstance(rows, HistoryRows)
        else max((len(r) for r in rows), default=0)
    )
    width = max(len(plan.history_header), widest)
    if history is None:
        return [
            {
                "addSheet": {
                    "properties": {
                        **({} if sheet_id is None else {"sheetId": sheet_id}),
                        "title": title,
                        "gridProperties": {
                            "rowCount": max(1000, rows_needed + HISTORY_SPARE_ROWS),
                            # no spare columns: every cell of every tab counts
                            # towards Google's 10 million (grown when needed)
                            "columnCount": max(1, width),
                            "frozenRowCount": 1,
                        },
                    }
                }
            }
        ]
    grid = history["properties"].get("gridProperties", {})
    sheet_id = int(history["properties"].get("sheetId", 0))
    requests_: list[Json] = []
    rows_have, columns_have = int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26))
    if rows_needed > rows_have:
        requests_.append(_append(sheet_id, "ROWS", rows_needed - rows_have + HISTORY_SPARE_ROWS))
    if width > columns_have:
        requests_.append(_append(sheet_id, "COLUMNS", width - columns_have))
    return requests_


def history_after(history: Json | None, requests_: list[Json]) -> Json | None:
    """The history tab's metadata once `requests_` (`history_tab_requests`') are made: the
    tab they add, or the tab with the columns they append."""
    for request in requests_:
        if "addSheet" in request:
            return dict(request["addSheet"])
        append = request.get("appendDimension", {})
        if history is not None and append.get("dimension") == "COLUMNS":
            props = history["properties"]
            grid = dict(props.get("gridProperties", {}))
            grid["columnCount"] = int(grid.get("columnCount", 26)) + int(append["length"])
            history = {**history, "properties": {**props, "gridProperties": grid}}
    return history
