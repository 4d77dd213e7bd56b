"""How the agent's columns look to a CSM on a Google Sheet, as plain request dicts.

The header row and the key column frozen (scrolling right to read the answer keeps its
account), the agent's columns shaded whole with a note on their header saying the agent
writes them, "why" and the next action wrapped at a readable width, the history tab's
columns as wide as their words. The freeze is read
back from the metadata; shade, wrap, widths and notes are not in it without grid data, so
they are sent with the protections whenever the fingerprint of what the agent applies
changes (`formatting.protection_requests`). Pure functions, no network.
"""

from __future__ import annotations

from agent.labels import AGENT_FILL, hex_rgb
from agent.plan import Formatting
from agent.stores.google.ranges import Json

SHADE = hex_rgb(AGENT_FILL)


def _colour(rgb: tuple[float, float, float]) -> dict[str, float]:
    return {"red": rgb[0], "green": rgb[1], "blue": rgb[2]}


def _across_merge(merges: list[Json], rows: int, columns: int) -> tuple[bool, bool]:
    """Whether a merged cell spans the boundary of a freeze of `rows` rows, and of one of
    `columns` columns: Google refuses to freeze through part of a merged cell."""

    def spans(merge: Json, start: str, end: str, at: int) -> bool:
        return int(merge.get(start, 0)) < at < int(merge.get(end, 0) or 0)

    return (
        any(spans(m, "startRowIndex", "endRowIndex", rows) for m in merges),
        any(spans(m, "startColumnIndex", "endColumnIndex", columns) for m in merges),
    )


def freeze_requests(
    tab: Json, columns: list[str] | None = None, key: str | None = None
) -> list[Json]:
    """Freeze the header row, and the columns up to the key's, when they are not.

    A tab of one row (a header, no account yet) cannot freeze it, nor a cell merged
    across the header and the row below, nor a merge across the key column's right edge:
    Google refuses, so that part is left as it is. A freeze a person made wider stays.
    """
    props = tab["properties"]
    grid = props.get("gridProperties", {})
    want_columns = columns.index(key) + 1 if columns and key in columns else 0
    row_merge, column_merge = _across_merge(tab.get("merges", []), 1, want_columns)
    fields: dict[str, int] = {}
    if (
        int(grid.get("frozenRowCount", 0)) < 1
        and int(grid.get("rowCount", 1000)) > 1
        and not row_merge
    ):
        fields["frozenRowCount"] = 1
    if (
        int(grid.get("frozenColumnCount", 0)) < want_columns
        and int(grid.get("columnCount", 26)) > want_columns
        and not column_merge
    ):
        fields["frozenColumnCount"] = want_columns
    if not fields:
        return []
    return [
        {
            "updateSheetProperties": {
                "properties": {"sheetId": int(props.get("sheetId", 0)), "gridProperties": fields},
                "fields": ",".join(f"gridProperties.{name}" for name in fields),
            }
        }
    ]


def freshness_requests(
    sheet_id: int, columns: list[str], formatting: Formatting, line: str
) -> list[Json]:
    """The note on the score's header: how fresh the scores are, then that the agent
    writes the column. Sent only by a pass that writes anyway."""
    if not line or formatting.score_column not in columns:
        return []
    col = columns.index(formatting.score_column)
    note = f"{line}\n{formatting.agent_note}" if formatting.agent_note else line
    return [
        {
            "repeatCell": {
                "range": {**_whole_column(sheet_id, col), "endRowIndex": 1},
                "cell": {"note": note},
                "fields": "note",
            }
        }
    ]


def _whole_column(sheet_id: int, col: int, start_row: int = 0) -> Json:
    return {
        "sheetId": sheet_id,
        "startRowIndex": start_row,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }


def look_requests(sheet_id: int, columns: list[str], formatting: Formatting) -> list[Json]:
    """The agent's columns shaded whole with a note on their header, the wrapped ones
    wrapping at their width. Only the fields named are set: a person's bold or borders
    stay."""
    requests_: list[Json] = []
    for column in dict.fromkeys(formatting.agent_columns):
        if column not in columns:
            continue
        col = columns.index(column)
        requests_.append(
            {
                "repeatCell": {
                    "range": _whole_column(sheet_id, col),
                    "cell": {"userEnteredFormat": {"backgroundColor": _colour(SHADE)}},
                    "fields": "userEnteredFormat.backgroundColor",
                }
            }
        )
        if column == formatting.score_column:  # "8" apart from "En bonne santé" beside it
            requests_.append(
                {
                    "repeatCell": {
                        "range": _whole_column(sheet_id, col, start_row=1),
                        "cell": {"userEnteredFormat": {"horizontalAlignment": "CENTER"}},
                        "fields": "userEnteredFormat.horizontalAlignment",
                    }
                }
            )
        if formatting.agent_note and column != formatting.score_column:  # see freshness
            header = {**_whole_column(sheet_id, col), "endRowIndex": 1}
            requests_.append(
                {
                    "repeatCell": {
                        "range": header,
                        "cell": {"note": formatting.agent_note},
                        "fields": "note",
                    }
                }
            )
    for column, width in formatting.wrapped:
        if column not in columns:
            continue
        col = columns.index(column)
        requests_.append(
            {
                "repeatCell": {
                    "range": _whole_column(sheet_id, col, start_row=1),
                    "cell": {
                        "userEnteredFormat": {"wrapStrategy": "WRAP", "verticalAlignment": "TOP"}
                    },
                    "fields": "userEnteredFormat.wrapStrategy,userEnteredFormat.verticalAlignment",
                }
            }
        )
        requests_.append(column_width(sheet_id, col, width))
    return requests_


def column_width(sheet_id: int, col: int, pixels: int) -> Json:
    """The request giving the column `col` (0-based) of a tab `pixels` of width."""
    return {
        "updateDimensionProperties": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "COLUMNS",
                "startIndex": col,
                "endIndex": col + 1,
            },
            "properties": {"pixelSize": pixels},
            "fields": "pixelSize",
        }
    }


def history_width_requests(history: Json | None, widths: tuple[int, ...]) -> list[Json]:
    """The history tab's columns at a readable width (its metadata `history`; none
    without the tab), as far as its grid reaches. Sent with the rest of the look, when the
    fingerprint changes: a width a person gave a column stays until then."""
    if history is None or not widths:
        return []
    props = history["properties"]
    sheet_id = int(props.get("sheetId", 0))
    reach = int(props.get("gridProperties", {}).get("columnCount", 26))
    return [column_width(sheet_id, col, width) for col, width in enumerate(widths[:reach])]
