"""The plan's cells as updateCells requests, in the same spreadsheets.batchUpdate as the
formatting, with the key column read back in its reply: a pass that changes cells writes
in one call.

A values:batchUpdate cannot carry formatting, nor read anything back; a
spreadsheets.batchUpdate can do both, atomically (the discovery document, sheets.v4.json:
`BatchUpdateSpreadsheetRequest.requests`, "If any request is not valid, no requests will be
applied"; `includeSpreadsheetInResponse`, `responseRanges`, `responseIncludeGridData`; and
`BatchUpdateSpreadsheetResponse.updatedSpreadsheet`, "the spreadsheet after updates were
applied"). So the cells go as `updateCells` requests (`UpdateCellsRequest.start`: "any number
of rows and columns (including a different number of columns per row) may be written"),
each `userEnteredValue` an `ExtendedValue`: `stringValue` is text as it is, never a formula
(that is `formulaValue`), so `=1+1` or `+33 6` stay text, as a RAW values write keeps them;
a cell whose value is named in `fields` but absent is cleared, as "" clears it in a values
write. The key cells the write may have missed come back in the reply (`responseRanges`).

Pure functions of ValueRanges (`ranges.py` builds them) and of the tabs' sheet ids.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from typing import Any

import orjson
from gspread.utils import a1_to_rowcol

from agent.stores.google import typed
from agent.stores.google.ranges import Json

CELL_FIELDS = "userEnteredValue"
# the reply: the replies (a delete names the rule it deleted) and the key cells read back,
# each range's cells from its first (no startRow: read as the pass read the tab, typed.py)
REPLY_FIELDS = f"replies,updatedSpreadsheet({typed.KEY_FIELDS})"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def cell_data(value: Any) -> Json:
    """One value, as a RAW write takes it (`ranges.raw`), as a CellData."""
    if type(value) is str:
        return {"userEnteredValue": {"stringValue": value}} if value else {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {}  # a blank


def value_rows(item: Json) -> list[list[Any]]:
    """A ValueRange's values as rows; a short column (COLUMNS) leaves the cells below it
    as they are, so its row stops there (None cells only at a row's end)."""
    values = item.get("values", [])
    if item.get("majorDimension") != "COLUMNS":
        return values
    height = max((len(c) for c in values), default=0)
    rows = [[c[i] if i < len(c) else None for c in values] for i in range(height)]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    return rows


def update_cells(item: Json, sheet_id: int) -> Json:
    """One ValueRange as an updateCells request at its first cell."""
    cells = item["range"].rsplit("!", 1)[1]
    row, col = a1_to_rowcol(cells.split(":")[0])
    rows = [{"values": [cell_data(v) for v in line]} for line in value_rows(item)]
    start = {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": col - 1}
    return {"updateCells": {"start": start, "rows": rows, "fields": CELL_FIELDS}}


def encoded(request: Json) -> bytes:
    """A request as compact UTF-8 JSON; a character UTF-8 cannot hold (a lone surrogate,
    from a broken text) goes as U+FFFD, as in a values write (`ranges.encoded`)."""
    try:
        return orjson.dumps(request)
    except orjson.JSONEncodeError:
        text = json.dumps(request, ensure_ascii=False, separators=(",", ":"))
        return _LONE_SURROGATE.sub("\ufffd", text).encode()


def tab_of(item: Json) -> str:
    """The tab title of a ValueRange's range, as the sheet spells it (quotes undone)."""
    title = item["range"].rsplit("!", 1)[0]
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    return title


def new_sheet_id(title: str, taken: Iterable[int]) -> int:
    """An id for a tab the same call adds, so its cells can be addressed in that call
    (`SheetProperties.sheetId`, "if this field is set, that ID is used" when adding):
    from the title, so a call sent again names the same tab, and not an id in use."""
    used = set(taken)
    found = zlib.crc32(title.encode("utf-8", "surrogatepass")) & 0x3FFFFFFF
    while found in used or found == 0:
        found = (found + 1) & 0x3FFFFFFF
    return found


def bodies(
    requests: list[Json],
    cells: list[Json],
    sheet_ids: dict[str, int],
    read_back: list[str],
    limit: int,
) -> list[tuple[bytes, int]]:
    """spreadsheets.batchUpdate bodies, each under `limit` bytes: the first carries
    `requests` (grid changes, formatting) and as many cells as fit, the others the rest of
    the cells; the last reads back `read_back` (no read-back when empty). With each body,
    how many of `cells` it carries."""
    head = b'{"requests":['
    pieces = [encoded(r) for r in requests]
    cell_pieces = [encoded(update_cells(item, sheet_ids[tab_of(item)])) for item in cells]
    ask = {
        "includeSpreadsheetInResponse": True,
        "responseRanges": read_back,
        "responseIncludeGridData": True,
    }
    last_tail = b"]," + orjson.dumps(ask)[1:] if read_back else b"]}"
    out: list[tuple[bytes, int]] = []
    size = len(head) + len(last_tail) + sum(len(p) + 1 for p in pieces)
    carried = 0
    for piece in cell_pieces:
        if (pieces or out) and size + len(piece) + 1 > limit:
            out.append((head + b",".join(pieces) + b"]}", carried))
            pieces, carried, size = [], 0, len(head) + len(last_tail)
        pieces.append(piece)
        carried += 1
        size += len(piece) + 1
    out.append((head + b",".join(pieces) + last_tail, carried))
    return out


def read_back_rows(reply: Json, title: str) -> list[list[list[Any]]] | None:
    """The rows of each range read back in a batchUpdate's reply (None when it has none)."""
    spreadsheet = reply.get("updatedSpreadsheet")
    if spreadsheet is None:
        return None
    return typed.range_rows(spreadsheet, title)
