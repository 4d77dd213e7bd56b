"""updateCells as Google applies it, for the values the agent sends in a spreadsheets.batchUpdate.

The discovery document (sheets.v4.json, `UpdateCellsRequest`): with `start` (a
GridCoordinate) "any number of rows and columns (including a different number of columns
per row) may be written"; `fields` names the CellData fields written, and a field named
there but absent from a cell clears it. `ExtendedValue.stringValue` is text as it is (a
formula is `formulaValue`, apart), so a `stringValue` of "=1+1" stays text, as a RAW values
write keeps it. Only `userEnteredValue` is modelled (the agent writes nothing else this way);
a `range` instead of `start` is refused as not modelled rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from tests.sheets_emulator.grid import EMPTY, Formula, GridRange, Spreadsheet, bad_request

MAX_CELL_CHARS = 50_000  # Google's limit for one cell's text


def cell_value(cell: Any, where: str) -> Any:
    """The value one CellData of an updateCells stores."""
    if not isinstance(cell, dict):
        raise bad_request(
            f"Invalid value at '{where}' (type.googleapis.com/google.apps.sheets.v4.CellData)"
        )
    value = cell.get("userEnteredValue")
    if not value:
        return EMPTY  # named in `fields`, absent here: cleared
    [(kind, item)] = value.items()
    if kind == "stringValue":
        text = str(item)
        if len(text) > MAX_CELL_CHARS:
            raise bad_request(
                "Your input contains more than the maximum of 50000 characters in a single cell."
            )
        return text
    if kind == "numberValue":
        number = float(item)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "boolValue":
        return bool(item)
    if kind == "formulaValue":
        return Formula(str(item))
    raise bad_request(f"the emulator does not model userEnteredValue.{kind}")


def update_cells(book: Spreadsheet, body: dict[str, Any]) -> tuple[GridRange, list[list[Any]]]:
    """The area an updateCells writes and the values it stores there, row by row (checked
    against the grid first: the caller stores them, after its protected-range check)."""
    if body.get("fields") != "userEnteredValue":
        raise bad_request(
            f"the emulator models updateCells of userEnteredValue only, not {body.get('fields')!r}"
        )
    start = body.get("start")
    if start is None or "range" in body:
        raise bad_request("the emulator models updateCells with `start` only")
    tab = book.tab_by_id(int(start.get("sheetId", 0)))
    row0, col0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
    rows = [
        [
            cell_value(c, f"rows[{i}].values[{j}]")
            for j, c in enumerate((line or {}).get("values") or [])
        ]
        for i, line in enumerate(body.get("rows") or [])
    ]
    height, width = len(rows), max((len(r) for r in rows), default=0)
    if row0 + height > tab.row_count or col0 + width > tab.column_count:
        a1 = GridRange(tab, row0, col0, row0 + max(height, 1), col0 + max(width, 1)).a1()
        raise bad_request(
            f"Range ({a1}) exceeds grid limits. Max rows: {tab.row_count}, max columns: "
            f"{tab.column_count}"
        )
    return GridRange(tab, row0, col0, row0 + height, col0 + width), rows
