"""A1 ranges and values request bodies: where the plan's cells go, as Google takes them.

Pure functions over plain lists and dicts, no network: tab titles quoted for A1, cells
grouped into ValueRanges by column and by runs of rows, RAW values, and the bodies of a
`values:batchUpdate` split so none exceeds Google's recommended size. The A1 maths is
gspread's (`gspread.utils.rowcol_to_a1`).
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
from gspread.utils import rowcol_to_a1

from agent.cells import (
    CellValue,
    cell_text,
    each_distinct,
    filled_width,
    key_text,
    key_text_list,
    rows_by_key,
)
from agent.errors import SheetError
from agent.history_look import week_code
from agent.history_merge import merge_history
from agent.plan import HistoryRows, WritePlan, cells_by_column
from agent.stores.base import Tab

Json = dict[str, Any]
ColumnCells = tuple[list[int], list[CellValue]]  # 0-based rows, ascending, and their values

MAX_BODY_BYTES = 2_000_000  # Google's recommended payload size
BLOCK_ROWS = 500  # rows per ValueRange block: compact bodies, still split finely at 2 MB


def quote(title: str) -> str:
    """A tab title as it goes in an A1 range: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """0-based column index -> its letters (0 -> A, 26 -> AA)."""
    return rowcol_to_a1(1, index + 1)[:-1]


_AS_IS = frozenset({str, int, bool})  # what a RAW write takes as it is, looked up by type
_AS_IS_OR_BLANK = _AS_IS | {type(None)}


def raw(value: CellValue) -> Any:
    """A value as a RAW write takes it: numbers and booleans stay, everything else is text."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else cell_text(value)
    return cell_text(value)


def raw_values(values: list[CellValue]) -> list[Any]:
    """Values as a RAW write takes them (`raw`); the same list when they already are."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    if kinds <= _AS_IS_OR_BLANK:  # whole points and blanks: only the blanks change
        return ["" if v is None else v for v in values]
    return [v if type(v) in _AS_IS else raw(v) for v in values]


def to_tab(title: str, values: list[list[Any]]) -> Tab:
    """A tab from the rows of a values answer (fresh lists, decoded for this read)."""
    header = [cell_text(v).strip() for v in values[0]] if values else []
    return Tab(title, header, values[1:])


# --- where the plan's cells go -----------------------------------------------------------------


def column_index(columns: list[str], name: str, *, key_column: str, title: str) -> int:
    """Where a planned column is in the header after the write; never the key column."""
    if name == key_column:
        raise SheetError(f'The agent never writes the key column "{name}".')
    if name not in columns:
        raise SheetError(
            f'Column "{name}" is not in the header of "{title}" and the plan does not add it.'
        )
    return columns.index(name)


def cells_at_key_rows(
    plan: WritePlan, columns: list[str], keys: list[str], *, key_column: str, title: str
) -> dict[int, ColumnCells]:
    """The plan's cells at every row that holds their key: column -> rows and values."""
    if not plan.cells:
        return {}
    unique = len(set(keys)) == len(keys)  # the usual sheet: every key on one row
    last: dict[str, int] | None = None  # each key's row, made only when needed
    where: dict[str, list[int]] | None = None  # each key's rows, made only when needed
    by_column: dict[int, ColumnCells] = {}
    # the last column's keys, their rows, and whether those rows ascend
    found_rows: tuple[list[str], list[int], bool] = ([], [], True)
    for column, (plan_keys, values) in cells_by_column(plan.cells).items():
        col = column_index(columns, column, key_column=key_column, title=title)
        if unique:
            # a pass changes several columns of the same accounts: look them up once
            if plan_keys != found_rows[0]:
                if plan_keys == keys:  # every row's, in the sheet's order (a first pass)
                    found_rows = (plan_keys, list(range(len(keys))), True)
                else:
                    last = last if last is not None else {k: i for i, k in enumerate(keys)}
                    rows = [last.get(key, -1) for key in plan_keys]
                    found_rows = (plan_keys, rows, all(map(operator.lt, rows, rows[1:])))
            rows = found_rows[1]
            if -1 not in rows:  # every key found as it is, on one row
                by_column[col] = (rows, values) if found_rows[2] else ascending(rows, values)
                continue
        # a pass's keys are matched as they are; others once trimmed like the sheet's
        where = where if where is not None else rows_by_key(keys)
        cells: dict[int, CellValue] = {}
        for key, value in zip(plan_keys, values, strict=True):
            for row in where.get(key) or where.get(key_text(key)) or ():
                cells[row] = value
        if cells:
            by_column[col] = ascending(list(cells), list(cells.values()))
    return by_column


def ascending(rows: list[int], values: list[CellValue]) -> ColumnCells:
    """Cells as rows in ascending order and their values; for a row given twice, the later
    value (as written one after the other)."""
    if all(map(operator.lt, rows, rows[1:])):
        return rows, values
    cells = dict(zip(rows, values, strict=True))
    order = sorted(cells)
    return order, [cells[row] for row in order]


def by_row(by_column: dict[int, ColumnCells]) -> dict[int, dict[int, CellValue]]:
    """Cells by row, then column, from cells by column."""
    out: dict[int, dict[int, CellValue]] = {}
    for col, (rows, values) in by_column.items():
        for row, value in zip(rows, values, strict=True):
            out.setdefault(row, {})[col] = value
    return out


def by_column(cells_by_row: dict[int, dict[int, CellValue]]) -> dict[int, ColumnCells]:
    """Cells by column, rows ascending, from cells by row, then column."""
    out: dict[int, ColumnCells] = {}
    for row in sorted(cells_by_row):
        for col, value in cells_by_row[row].items():
            rows, values = out.setdefault(col, ([], []))
            rows.append(row)
            values.append(value)
    return out


def keyless_rows_cleared(
    by_column: dict[int, ColumnCells],
    rows: list[list[CellValue]],
    keys: list[str],
    agent_columns: list[int],
) -> dict[int, ColumnCells]:
    """The plan's cells, and a blank for every agent cell left on a row without a key (a
    CSM cleared the key, or a row inserted during a pass got cells meant for another
    account): no write is addressed to such a row by key, so its cells would stay for good."""
    extra: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        if key or i >= len(rows):
            continue
        row = rows[i]
        for col in agent_columns:
            if col < len(row) and row[col] not in (None, ""):
                extra.setdefault(col, []).append(i)
    if not extra:
        return by_column
    merged = dict(by_column)
    for col, blanks in extra.items():
        planned_rows, values = merged.get(col, ([], []))
        cells = dict(zip(planned_rows, values, strict=True))
        cells.update(dict.fromkeys(blanks, ""))
        order = sorted(cells)
        merged[col] = (order, [cells[r] for r in order])
    return merged


def column_cells(value_range: Json) -> list[Any]:
    """The cells of a one-column ValueRange read with majorDimension COLUMNS."""
    return list((value_range.get("values") or [[]])[0])


def without_blank_tail(cells: list[Any]) -> list[Any]:
    """A column's cells without the blank ones at its end (Google leaves those out)."""
    return cells[: filled_width(cells)]


# --- ValueRanges ------------------------------------------------------------------------------


def column_ranges(title: str, cells: dict[int, ColumnCells], offset: int = 2) -> list[Json]:
    """ValueRanges (majorDimension COLUMNS) for cells given by column as ascending 0-based
    rows and values (sheet row = row + offset).

    Adjacent columns that change the same rows share a range, one per run of consecutive
    rows, of up to BLOCK_ROWS rows (a range of long next actions stays far under 2 MB): a
    first pass over 100,000 rows is a few hundred ranges, built from slices of the plan's
    own lists, with no list made per row.
    """
    groups: list[list[int]] = []
    for col in sorted(c for c, (rows, _) in cells.items() if rows):
        if groups and groups[-1][-1] == col - 1 and cells[col - 1][0] == cells[col][0]:
            groups[-1].append(col)
        else:
            groups.append([col])
    where = quote(title)
    data: list[Json] = []
    for group in groups:
        rows = cells[group[0]][0]
        values = [raw_values(cells[col][1]) for col in group]
        for start, end in row_blocks(rows, BLOCK_ROWS):
            first = rowcol_to_a1(rows[start] + offset, group[0] + 1)
            last = rowcol_to_a1(rows[end - 1] + offset, group[-1] + 1)
            data.append(
                {
                    "range": f"{where}!{first}:{last}",
                    "majorDimension": "COLUMNS",
                    "values": [column[start:end] for column in values],
                }
            )
    return data


def row_blocks(rows: list[int], height: int) -> list[tuple[int, int]]:
    """Ascending rows cut into runs of consecutive rows, each of at most `height`: the
    (start, end) of each run in `rows`."""
    if not rows:
        return []
    breaks = (np.flatnonzero(np.diff(np.asarray(rows)) != 1) + 1).tolist()
    return [
        (at, min(at + height, end))
        for start, end in zip([0, *breaks], [*breaks, len(rows)], strict=True)
        for at in range(start, end, height)
    ]


def line_ranges(title: str, lines: dict[int, list[Any]]) -> list[Json]:
    """ValueRanges for whole lines given by 0-based sheet row, from column A: consecutive
    rows make one block of up to BLOCK_ROWS rows, as wide as its widest line."""
    data: list[Json] = []
    order = sorted(lines)
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < BLOCK_ROWS and order[end] == order[end - 1] + 1:
            end += 1
        block = [lines[r] for r in order[start:end]]
        width = max(len(line) for line in block)
        if width:
            first, last = order[start] + 1, order[end - 1] + 1
            data.append(
                {
                    "range": f"{quote(title)}!A{first}:{column_letter(width - 1)}{last}",
                    "values": block,
                }
            )
        start = end
    return data


# --- the history tab --------------------------------------------------------------------------


def history_ranges(title: str, old: Tab | None, plan: WritePlan) -> tuple[list[Json], int, int]:
    """The history rows that change (rows after a dropped one shift up, leftovers are
    blanked), with how many rows the plan wrote and how many grid rows the tab needs."""
    old = old or Tab(title, [], [])
    appended = appended_history(title, old, plan)
    if appended is not None:
        return appended
    merge = merge_history(old.header, old.rows, plan)
    # only the rows the plan wrote, the rows shifted up after a dropped one, and the
    # leftovers at the bottom: no comparison of the whole tab
    rows_to_write = set(merge.touched)
    if merge.first_dropped is not None:
        rows_to_write.update(range(merge.first_dropped, len(old.rows)))
    old_rows, new_rows = old.rows, merge.rows
    lines: dict[int, list[Any]] = {}
    for i in rows_to_write:
        row = new_rows[i] if i < len(new_rows) else []
        line = raw_values(row)  # may be the row itself: never changed in place
        before = len(old_rows[i]) if i < len(old_rows) else 0
        if before > len(line):
            line = line + [""] * (before - len(line))  # blank what the row had more
        lines[i + 1] = line
    if list(merge.header) != list(old.header):
        lines[0] = list(merge.header) + [""] * (len(old.header) - len(merge.header))
    return line_ranges(title, lines), merge.written, len(new_rows) + 1


def appended_history(title: str, old: Tab, plan: WritePlan) -> tuple[list[Json], int, int] | None:
    """A week's first history rows, written column by column below the rows read, when
    appending them is all the plan does to the tab: no row of their weeks there yet, no
    old week to drop, each (week, key) once. The ranges, how many rows the plan wrote and
    how many grid rows the tab needs; None when the general merge is needed.
    """
    new = plan.history_rows
    if not isinstance(new, HistoryRows) or not len(new) or len(new.columns) < 3:
        return None
    new_weeks = each_distinct(new.columns[0], week_code)  # "S49 2026" and "2026-W49" alike
    weeks = set(new_weeks)
    old_weeks = set(each_distinct([row[0] if row else "" for row in old.rows], week_code))
    oldest = plan.history_oldest_week
    if old_weeks.intersection(weeks) or (oldest and any(w and w < oldest for w in old_weeks)):
        return None
    keys = key_text_list(new.columns[2])
    pairs = keys if len(weeks) == 1 else list(zip(new_weeks, keys, strict=True))
    if len(set(pairs)) != len(keys):
        return None  # a (week, key) twice: the last one wins, as the merge says
    data: list[Json] = []
    header = plan.history_header or old.header
    if list(header) != list(old.header):
        data += line_ranges(title, {0: list(header) + [""] * (len(old.header) - len(header))})
    start = len(old.rows)  # the new rows go right below the rows read
    rows = list(range(start, start + len(new)))
    data += column_ranges(title, {col: (rows, values) for col, values in enumerate(new.columns)})
    return data, len(new), start + len(new) + 1


# --- request bodies ---------------------------------------------------------------------------

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encoded(item: Json) -> bytes:
    """One ValueRange as compact UTF-8 JSON (orjson): accented text costs 2 bytes a letter,
    not the 6 of an ASCII escape (a tenth less to send for French next actions). A
    character UTF-8 cannot hold (a lone surrogate, from a broken text) goes as U+FFFD, the
    replacement character: a sheet holds only Unicode, and what Google would make of
    an escaped one is not written anywhere. Values come here as a RAW write takes them
    (`raw`): no NaN, which orjson would turn into a null that leaves the cell as it was."""
    try:
        return orjson.dumps(item)  # compact UTF-8, about ten times faster than json.dumps
    except orjson.JSONEncodeError:  # a lone surrogate (or an int past 64 bits)
        values = [
            [_LONE_SURROGATE.sub("\ufffd", v) if type(v) is str else v for v in line]
            for line in item.get("values", [])
        ]
        text = json.dumps({**item, "values": values}, allow_nan=False, ensure_ascii=False,
                          separators=(",", ":"))  # fmt: skip
        return text.encode()


def bodies(data: list[Json], limit: int) -> Iterable[bytes]:
    """values:batchUpdate request bodies (RAW), each under `limit` bytes, ready to send.

    Each ValueRange is encoded once and the pieces joined: the size is known exactly
    without encoding the body a second time.
    """
    head, tail = b'{"valueInputOption":"RAW","data":[', b"]}"
    pieces: list[bytes] = []
    size = len(head) + len(tail)
    for item in data:
        piece = encoded(item)
        if pieces and size + len(piece) + 1 > limit:  # "," between items
            yield head + b",".join(pieces) + tail
            pieces, size = [], len(head) + len(tail)
        size += len(piece) + (1 if pieces else 0)
        pieces.append(piece)
    if pieces:
        yield head + b",".join(pieces) + tail
