"""The emulator's handlers for how a tab looks and is viewed: cell formats and notes
(repeatCell), column widths (updateDimensionProperties) and filter views
(addFilterView, deleteFilterView).

Each follows the discovery document for sheets.v4 (`schema.discovery()`), quoted where it
decides a behaviour:
- RepeatCellRequest.fields: "The fields that should be updated. At least one field must
  be specified. The root `cell` is implied and should not be specified."
- UpdateDimensionPropertiesRequest.fields: the same, with the root `properties`.
- AddFilterViewRequest.filter: "The filterViewId field is optional. If one is not set, an
  ID will be randomly generated. (It is an error to specify the ID of a filter that
  already exists.)"; AddFilterViewResponse.filter: "The newly added filter view."
- DeleteFilterViewRequest.filterId: "The ID of the filter to delete."
- FilterView.range: "When writing, only one of range, named_range_id, or table_id may be
  set."; Sheet.filterViews: "The filter views in this sheet."
Only what the agent sends is modelled; anything else is refused, never ignored.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.sheets_emulator.grid import ApiError, Spreadsheet, bad_request

Json = dict[str, Any]
FORMAT_FIELDS = frozenset(
    {"backgroundColor", "wrapStrategy", "verticalAlignment", "textFormat", "horizontalAlignment"}
)


def _mask(fields: str | None, root: str) -> list[str]:
    if not fields:
        raise bad_request(f"At least one field must be updated, but '{root}' is empty.")
    return [f.strip() for f in fields.split(",") if f.strip()]


def repeat_cell(book: Spreadsheet, body: Json) -> Json:
    """repeatCell: set the named fields of every cell of the range (formats and notes)."""
    rng = dict(body.get("range") or {})
    tab = book.tab_by_id(rng.get("sheetId", 0))
    cell = body.get("cell") or {}
    formats: list[str] = []
    for name in _mask(body.get("fields"), "fields"):
        if name == "note":
            rows = range(int(rng.get("startRowIndex", 0)), int(rng.get("endRowIndex", 0) or 0))
            cols = range(
                int(rng.get("startColumnIndex", 0)), int(rng.get("endColumnIndex", 0) or 0)
            )
            if not rows or not cols:  # a note on every cell of a whole column: not modelled
                raise bad_request("the emulator sets notes on bounded ranges only")
            for r, c in itertools.product(rows, cols):
                note = str(cell.get("note", ""))
                if note:
                    tab.notes[(r, c)] = note
                else:
                    tab.notes.pop((r, c), None)
        elif name.startswith("userEnteredFormat.") and name.split(".", 1)[1] in FORMAT_FIELDS:
            formats.append(name.split(".", 1)[1])
        else:
            raise bad_request(f"the emulator does not model the cell field {name}")
    if formats:
        entry = {
            "range": rng,
            "format": copy.deepcopy(cell.get("userEnteredFormat", {})),
            "fields": formats,
        }
        tab.formats.append(entry)
    return {}


def update_dimension_properties(book: Spreadsheet, body: Json) -> Json:
    """updateDimensionProperties: the width of columns (pixelSize) only."""
    rng = body.get("range") or {}
    if rng.get("dimension") != "COLUMNS":
        raise bad_request("the emulator sets the size of COLUMNS only")
    if _mask(body.get("fields"), "fields") != ["pixelSize"]:
        raise bad_request("the emulator models pixelSize only")
    tab = book.tab_by_id(rng.get("sheetId", 0))
    start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
    if not 0 <= start < end <= tab.column_count:
        raise bad_request(f"Invalid dimension range: {start}..{end}")
    size = int((body.get("properties") or {}).get("pixelSize", 0))
    for col in range(start, end):
        tab.column_widths[col] = size
    return {}


def add_filter_view(book: Spreadsheet, body: Json, ids: itertools.count[int]) -> Json:
    """addFilterView: a view over a range of one tab, its id given back."""
    view = copy.deepcopy(body.get("filter") or {})
    if sum(k in view for k in ("range", "namedRangeId", "tableId")) != 1:
        raise bad_request("Exactly one of range, namedRangeId or tableId must be set.")
    if "range" not in view:
        raise bad_request("the emulator models filter views over a range only")
    tab = book.tab_by_id(view["range"].get("sheetId", 0))
    taken = {v["filterViewId"] for t in book.tabs for v in t.filter_views}
    if "filterViewId" in view and int(view["filterViewId"]) in taken:
        raise bad_request(f"Filter view with id {view['filterViewId']} already exists.")
    view["filterViewId"] = int(view.get("filterViewId", next(ids)))
    view["range"]["sheetId"] = tab.sheet_id
    tab.filter_views.append(view)
    return {"addFilterView": {"filter": copy.deepcopy(view)}}


def delete_filter_view(book: Spreadsheet, body: Json) -> Json:
    """deleteFilterView: the view of that id, on whichever tab holds it."""
    wanted = int(body.get("filterId", -1))
    for tab in book.tabs:
        for view in tab.filter_views:
            if view["filterViewId"] == wanted:
                tab.filter_views.remove(view)
                return {}
    raise ApiError(400, f"No filter with id: {wanted}", "INVALID_ARGUMENT")
