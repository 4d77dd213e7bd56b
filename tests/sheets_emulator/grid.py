"""The emulator's model of a spreadsheet: tabs, cells, A1 ranges, how values go in and out.

Cells hold what Google keeps: text, numbers, booleans, dates and formulas. How a value is
entered (RAW or USER_ENTERED) and how it is rendered (FORMATTED_VALUE, UNFORMATTED_VALUE,
FORMULA; SERIAL_NUMBER or FORMATTED_STRING dates) follows the Sheets API documentation.
The CSM helpers (sort, insert, delete, edit) are what a person does in the browser.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.sheets_emulator.columns import ColumnMove
from tests.sheets_emulator.typed import Formatted, formatted_value, number_format, typed


@dataclass(frozen=True)
class Formula:
    """A cell that holds a formula (only USER_ENTERED input makes one)."""

    text: str


Value = str | int | float | bool | dt.date | dt.datetime | Formula | Formatted
EMPTY = ""  # an empty cell; the API writes one with "" and never returns trailing ones
SERIAL_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Sheets' date serial numbers


class ApiError(Exception):
    """An error answer in Google's shape: {"error": {"code", "message", "status"}}."""

    def __init__(self, code: int, message: str, status: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


# --- A1 notation -------------------------------------------------------------------------

_CELL = re.compile(r"^([A-Za-z]{0,3})(\d*)$")


def column_index(letters: str) -> int:
    """'A' -> 0, 'AA' -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letters(index: int) -> str:
    """0 -> 'A', 26 -> 'AA'."""
    index += 1
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def quote_title(title: str) -> str:
    """A tab title as Google writes it in a returned range: bare when plain, else quoted.

    The recordings show `Sheet1!A1:D4` and `'🌵 test_values_batch_get 1'!A1:A10`.
    """
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) is not None
    looks_like_cell = re.fullmatch(r"[A-Za-z]{1,3}\d+", title) is not None
    if plain and not looks_like_cell:
        return title
    return "'" + title.replace("'", "''") + "'"


# --- the model ---------------------------------------------------------------------------


@dataclass
class Tab:
    """One sheet (tab): its grid of cells, size, frozen rows and the formatting it holds."""

    sheet_id: int
    title: str
    rows: list[list[Value]] = field(default_factory=list)
    row_count: int = 1000
    column_count: int = 26
    frozen_rows: int = 0
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)  # {"range", "rule"}
    merges: list[dict[str, Any]] = field(default_factory=list)  # GridRanges, as a person made
    basic_filter: dict[str, Any] | None = None  # a person's filter (BasicFilter)
    hidden_rows: set[int] = field(default_factory=set)  # 0-based rows a person hid
    frozen_columns: int = 0
    column_widths: dict[int, int] = field(default_factory=dict)  # 0-based column: pixels
    # cell formats set by repeatCell, in order: {"range", "format", "fields"} (the fields
    # named in the mask, as "wrapStrategy", "backgroundColor"...)
    formats: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # 0-based (row, col)
    filter_views: list[dict[str, Any]] = field(default_factory=list)  # FilterViews

    # cells --------------------------------------------------------------------------------

    def cell(self, row: int, col: int) -> Value:
        """The value at 0-based (row, col); "" when empty."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return EMPTY

    def set(self, row: int, col: int, value: Value) -> None:
        """Set one cell, growing the stored rows as needed (not the grid size)."""
        while len(self.rows) <= row:
            self.rows.append([])
        line = self.rows[row]
        if len(line) <= col:
            line.extend([EMPTY] * (col + 1 - len(line)))
        line[col] = value

    def column(self, col: int, start: int = 1) -> list[Value]:
        """The values of one column from row `start` (default: below the header)."""
        return [self.cell(r, col) for r in range(start, len(self.rows))]

    def header(self) -> list[Value]:
        return list(self.rows[0]) if self.rows else []

    # what a CSM does in the browser ----------------------------------------------------------

    def sort_rows(self, key: Callable[[list[Value]], Any], reverse: bool = False) -> None:
        """Data > Sort range on every row below the header: whole rows move, agent cells too."""
        data = self.rows[1:]
        width = max((len(r) for r in data), default=0)
        padded = [r + [EMPTY] * (width - len(r)) for r in data]
        self.rows[1:] = sorted(padded, key=key, reverse=reverse)

    def insert_row(self, at: int, values: list[Value]) -> None:
        """Insert a row at 0-based grid row `at` (1 = just below the header)."""
        while len(self.rows) < at:
            self.rows.append([])
        self.rows.insert(at, list(values))
        self.row_count += 1

    def delete_row(self, at: int) -> None:
        """Delete 0-based grid row `at`; the grid shrinks by one row."""
        if at < len(self.rows):
            del self.rows[at]
        self.row_count -= 1

    def insert_column(self, at: int, header: Value = EMPTY) -> None:
        """Insert an empty column at 0-based `at` (a person's Insert column): the cells, and
        the ranges of rules, protections, dropdowns and merges at or right of it, move right,
        as Google moves them with their columns."""
        for line in self.rows:
            if at < len(line):
                line.insert(at, EMPTY)
        if header != EMPTY:
            self.set(0, at, header)
        self.column_count += 1
        self._shift_columns(at, +1)

    def delete_column(self, at: int) -> None:
        """Delete the column at 0-based `at`: what is right of it moves left."""
        for line in self.rows:
            if at < len(line):
                del line[at]
        self.column_count -= 1
        self._shift_columns(at, -1)

    def move_columns(self, start: int, end: int, destination: int) -> None:
        """Move the columns [start, end) to `destination` (0-based, counted before the move,
        as moveDimension counts it): their cells, notes, widths and the ranges inside them
        go with them (`columns.py`)."""
        move = ColumnMove(start, end, destination)
        if move.moves_nothing():
            return
        self.rows = [move.line(line, EMPTY) for line in self.rows]
        self.notes = {(r, move.column(c)): n for (r, c), n in self.notes.items()}
        self.column_widths = {move.column(c): w for c, w in self.column_widths.items()}
        for rng in self._column_ranges():
            first = int(rng.get("startColumnIndex", 0))
            last = int(rng["endColumnIndex"]) if "endColumnIndex" in rng else None
            first, last = move.span(first, last)
            rng["startColumnIndex"] = first
            if last is not None:
                rng["endColumnIndex"] = last

    def format_at(self, row: int, col: int) -> dict[str, Any]:
        """The cell format repeatCell left at 0-based (row, col): each field as last set."""
        out: dict[str, Any] = {}
        for entry in self.formats:
            rng = entry["range"]
            if int(rng.get("startRowIndex", 0)) <= row < int(
                rng.get("endRowIndex", self.row_count)
            ) and int(rng.get("startColumnIndex", 0)) <= col < int(
                rng.get("endColumnIndex", self.column_count)
            ):
                for name in entry["fields"]:
                    if name in entry["format"]:
                        out[name] = entry["format"][name]
                    else:
                        out.pop(name, None)
        return out

    def _shift_columns(self, at: int, by: int) -> None:
        def moved(col: int) -> int:
            return col + by if col > at or (col == at and by > 0) else col

        gone = at if by < 0 else -1
        self.notes = {(r, moved(c)): n for (r, c), n in self.notes.items() if c != gone}
        self.column_widths = {moved(c): w for c, w in self.column_widths.items() if c != gone}
        for rng in self._column_ranges():
            start = int(rng.get("startColumnIndex", 0))
            if start > at or (start == at and by > 0):
                rng["startColumnIndex"] = start + by
            if "endColumnIndex" in rng and int(rng["endColumnIndex"]) > at:
                rng["endColumnIndex"] = int(rng["endColumnIndex"]) + by

    def _column_ranges(self) -> list[dict[str, Any]]:
        """Every GridRange the tab holds that follows its columns when they move."""
        return [
            *(r for rule in self.conditional_formats for r in rule.get("ranges", [])),
            *(p.get("range", {}) for p in self.protected_ranges),
            *(v["range"] for v in self.validations),
            *self.merges,
            *(f["range"] for f in self.formats),
            *(v.get("range", {}) for v in self.filter_views),
        ]

    # atomic batches -------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """What a failed batchUpdate must put back (rows copied shallowly: cheap on 100k rows)."""
        state = {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "rows"}
        state["rows"] = list(self.rows)
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclass
class Spreadsheet:
    """A spreadsheet, its tabs and who it is shared with (editors and viewers by email)."""

    spreadsheet_id: str
    title: str
    tabs: list[Tab]
    editors: set[str]
    viewers: set[str] = field(default_factory=set)
    locale: str = "fr_FR"
    time_zone: str = "Europe/Paris"

    def cell_count(self) -> int:
        """Cells of every tab's grid, filled or not: what Google's 10 million limit counts."""
        return sum(t.row_count * t.column_count for t in self.tabs)

    def tab(self, title: str) -> Tab | None:
        """The tab with this exact title, or None."""
        return next((t for t in self.tabs if t.title == title), None)

    def title_taken(self, title: str, by_other_than: Tab | None = None) -> bool:
        """Whether another tab has this title in any case: Google refuses "historique"
        beside "Historique", from the API as from its menus."""
        wanted = title.casefold()
        return any(t.title.casefold() == wanted for t in self.tabs if t is not by_other_than)

    def tab_by_id(self, sheet_id: Any) -> Tab:
        try:
            wanted = int(sheet_id or 0)
        except (TypeError, ValueError):
            raise bad_request(f"Invalid sheetId: {sheet_id}") from None
        found = next((t for t in self.tabs if t.sheet_id == wanted), None)
        if found is None:
            raise bad_request(f"No grid with id: {wanted}")
        return found


@dataclass
class GridRange:
    """A rectangle of one tab, 0-based, ends exclusive."""

    tab: Tab
    row0: int
    col0: int
    row1: int
    col1: int

    def a1(self) -> str:
        start = f"{column_letters(self.col0)}{self.row0 + 1}"
        end = f"{column_letters(max(self.col1, self.col0 + 1) - 1)}{max(self.row1, self.row0 + 1)}"
        return f"{quote_title(self.tab.title)}!{start}" + ("" if start == end else f":{end}")


def parse_range(book: Spreadsheet, text: str) -> tuple[GridRange, bool]:
    """Parse `'Tab'!A1:D4`, `Tab!A:A`, `Tab!2:2`, `Tab!A2:Z`, `Tab`, `A1:B2` (first tab).

    Returns the range, bounded by the grid where open, and whether it named a whole tab.
    Unknown tabs and malformed ranges get Google's "Unable to parse range" answer.
    """
    bad = bad_request(f"Unable to parse range: {text}")
    if "!" in text:
        name, cells = text.rsplit("!", 1)
    else:
        unquoted = text[1:-1].replace("''", "'") if text.startswith("'") else text
        if book.tab(unquoted) is not None:
            name, cells = text, ""
        else:
            name, cells = quote_title(book.tabs[0].title), text
    if len(name) >= 2 and name.startswith("'") and name.endswith("'"):
        name = name[1:-1].replace("''", "'")
    tab = book.tab(name)
    if tab is None:
        raise bad
    if not cells:
        return GridRange(tab, 0, 0, tab.row_count, tab.column_count), True
    parts = cells.split(":")
    if len(parts) > 2 or not all(parts):
        raise bad
    first, last = _CELL.match(parts[0]), _CELL.match(parts[-1])
    if first is None or last is None or not (first.group(0) and last.group(0)):
        raise bad
    c0 = column_index(first.group(1)) if first.group(1) else 0
    r0 = int(first.group(2)) - 1 if first.group(2) else 0
    c1 = column_index(last.group(1)) + 1 if last.group(1) else tab.column_count
    r1 = int(last.group(2)) if last.group(2) else tab.row_count
    if len(parts) == 1:
        if not (first.group(1) and first.group(2)):
            raise bad  # a lone "A" or "2" is not a range
        c1, r1 = c0 + 1, r0 + 1
    if r0 < 0 or r1 < r0 or c1 < c0:
        raise bad
    return GridRange(tab, r0, c0, r1, c1), False


# --- values in ---------------------------------------------------------------------------


def entered(value: Any, option: str, locale: str) -> Value:
    """A cell value as Google stores it after a write with this valueInputOption.

    RAW keeps text as text, even `=SUM(A1)`, `+1` or `@x`; USER_ENTERED parses like
    typing into the browser: formulas, numbers, booleans, ISO dates, a leading quote.
    """
    if value is None:
        return EMPTY
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if option == "RAW" or text == "":
        return text
    if text.startswith("'"):
        return text[1:]
    if text.startswith("="):
        return Formula(text)
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    found = typed(text, locale)  # a number, a percent, a currency, a date in this locale
    if found is not None:
        if isinstance(found, float) and found.is_integer() and abs(found) < 2**53:
            fraction = "." in text or (locale == "fr_FR" and "," in text)
            return found if fraction else int(found)
        return found
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return text


class KeptFormat(str):
    """Text written into a cell that has a number format: text to every reader, and the
    format (the value that gave it: a Formatted or a date) stays for a number written next."""

    kept: Formatted | dt.date

    def __new__(cls, text: str, kept: Formatted | dt.date) -> KeptFormat:
        made = super().__new__(cls, text)
        made.kept = kept
        return made


def format_kept(old: Value, new: Value) -> Value:
    """A value written into a cell keeps the cell's number format: a values write carries
    values only (ValueRange in the discovery document has no format; formats change through
    repeatCell or updateCells, `userEnteredFormat`), so 0.8 written RAW into a cell typed
    `80 %` still shows 80 %, a serial number written into a date cell still shows a date,
    and so after text was written there in between."""
    source = old.kept if isinstance(old, KeptFormat) else old
    if not isinstance(source, Formatted | dt.date) or isinstance(new, Formula | bool):
        return new
    if isinstance(new, str):
        return KeptFormat(new, source)
    if not isinstance(new, int | float):
        return new  # a typed value brings its own format
    if isinstance(source, Formatted):
        return Formatted(float(new), source.type, source.pattern, source.symbol)
    moment = SERIAL_EPOCH + dt.timedelta(days=float(new))
    return moment if isinstance(source, dt.datetime) else moment.date()


# --- values out --------------------------------------------------------------------------

_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _arithmetic(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arithmetic(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_arithmetic(node.left), _arithmetic(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_arithmetic(node.operand)))
    raise ValueError("not plain arithmetic")


def evaluate(formula: Formula) -> Value:
    """What Google shows for a formula: plain arithmetic is computed, anything else is an
    error value here (the emulator has no function library)."""
    try:
        result = _arithmetic(ast.parse(formula.text[1:], mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError):
        return "#NAME?"
    return int(result) if result.is_integer() else result


def _number_json(value: float) -> int | float:
    # Google keeps numbers as doubles but writes integral ones without a fraction: 5, not 5.0
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _format_number(value: float, locale: str) -> str:
    text = str(_number_json(value))
    return text.replace(".", ",") if locale == "fr_FR" else text


def _format_date(value: dt.date, locale: str) -> str:
    day = (
        f"{value.day:02d}/{value.month:02d}/{value.year}"
        if locale == "fr_FR"
        else (f"{value.month}/{value.day}/{value.year}")
    )
    if isinstance(value, dt.datetime):
        return f"{day} {value:%H:%M:%S}"
    return day


def rendered(value: Value, render: str, dates: str, locale: str) -> Any:
    """A stored value as values.get returns it for these render options."""
    if isinstance(value, Formula):
        if render == "FORMULA":
            return value.text
        value = evaluate(value)
    if isinstance(value, Formatted):
        if render == "FORMATTED_VALUE":
            return formatted_value(value, locale)
        return _number_json(value.number)
    if isinstance(value, dt.date):
        if render == "FORMATTED_VALUE" or dates == "FORMATTED_STRING":
            return _format_date(value, locale)
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        return _number_json((moment.replace(tzinfo=None) - SERIAL_EPOCH).total_seconds() / 86400)
    if render == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float):
            return _format_number(value, locale)
        return value
    if isinstance(value, float):
        return _number_json(value)
    return value


# ErrorValue.type of the error values a formula shows (discovery document, ErrorValue)
ERROR_TYPES = {
    "#NAME?": "NAME",
    "#DIV/0!": "DIVIDE_BY_ZERO",
    "#REF!": "REF",
    "#VALUE!": "VALUE",
    "#N/A": "N_A",
    "#NUM!": "NUM",
    "#NULL!": "NULL_VALUE",
    "#ERROR!": "ERROR",
}


def extended_value(value: Value, locale: str) -> dict[str, Any]:
    """A stored value as an ExtendedValue: numbers (dates as serial numbers, percents as
    fractions), text, booleans; a formula's error value as errorValue."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, Formatted):
        return {"numberValue": _number_json(value.number)}
    if isinstance(value, dt.date):
        return {"numberValue": rendered(value, "UNFORMATTED_VALUE", "SERIAL_NUMBER", locale)}
    if isinstance(value, int | float):
        return {"numberValue": _number_json(value)}
    if isinstance(value, Formula):
        return {"formulaValue": value.text}
    return {"stringValue": value}


def cell_data(value: Value, locale: str) -> dict[str, Any]:
    """A cell as spreadsheets.get returns it in grid data (CellData): {} when empty."""
    if value == EMPTY:
        return {}
    shown = evaluate(value) if isinstance(value, Formula) else value
    effective = extended_value(shown, locale)
    if isinstance(value, Formula) and isinstance(shown, str) and shown in ERROR_TYPES:
        effective = {"errorValue": {"type": ERROR_TYPES[shown], "message": f"Error {shown}"}}
    data: dict[str, Any] = {
        "userEnteredValue": extended_value(value, locale),
        "effectiveValue": effective,
        "formattedValue": rendered(value, "FORMATTED_VALUE", "FORMATTED_STRING", locale),
    }
    found = number_format(shown, locale)
    if found is not None:
        data["userEnteredFormat"] = {"numberFormat": dict(found)}
        data["effectiveFormat"] = {"numberFormat": dict(found)}
    return data


def plain_cell(fields: frozenset[str], locale: str) -> Callable[[Any], dict[str, Any]]:
    """cell_data of a text or number cell with the default format, only these fields: most
    cells, made fast (a 100k-row tab is a million of them)."""
    keys = [k for k in ("userEnteredValue", "effectiveValue") if k in fields]
    shown = "formattedValue" in fields

    def cell(value: Any) -> dict[str, Any]:
        if type(value) is str:
            extended: dict[str, Any] = {"stringValue": value}
        else:
            extended = {"numberValue": _number_json(value)}
        data: dict[str, Any] = {k: extended for k in keys}
        if shown:
            data["formattedValue"] = rendered(value, "FORMATTED_VALUE", "SERIAL_NUMBER", locale)
        return data

    return cell


def grid_data(
    grid: GridRange,
    locale: str,
    keep: Callable[[dict[str, Any]], dict[str, Any]],
    fields: frozenset[str] | None = None,
) -> dict[str, Any]:
    """One GridData of a range: rows from its first, trailing empty cells and rows left out,
    zero start indexes omitted (proto3 JSON); `keep` masks each cell, which holds `fields`
    (None: every field)."""
    tab = grid.tab
    plain = plain_cell(
        fields or frozenset({"userEnteredValue", "effectiveValue", "formattedValue"}), locale
    )
    fast = (str, int, float)

    def made(value: Value) -> dict[str, Any]:
        if type(value) in fast and value != EMPTY:
            return plain(value)
        return keep(cell_data(value, locale))

    # a mask that asks for one value field alone (the agent's reads): text cells made
    # inline, the emulator's own speed only (a 10k-row tab is 200k cells)
    asked = [
        k for k in ("userEnteredValue", "effectiveValue", "formattedValue") if k in (fields or ())
    ]
    one = asked[0] if len(asked) == 1 and asked[0] != "formattedValue" else None
    rows = []
    end = min(grid.row1, tab.row_count)
    for r in range(grid.row0, min(end, len(tab.rows))):
        line = tab.rows[r][grid.col0 : grid.col1]
        if one is not None:
            cells = [{one: {"stringValue": v}} if type(v) is str and v else made(v) for v in line]
        else:
            cells = [made(v) for v in line]
        while cells and not cells[-1]:
            cells.pop()
        rows.append({"values": cells} if cells else {})
    while rows and not rows[-1]:
        rows.pop()
    data: dict[str, Any] = {"rowData": rows} if rows else {}
    # rowMetadata: one per row of the range (DimensionProperties), hidden ones marked
    data["rowMetadata"] = [
        {"hiddenByUser": True, "pixelSize": 21} if r in tab.hidden_rows else {"pixelSize": 21}
        for r in range(grid.row0, end)
    ]
    if grid.row0:
        data["startRow"] = grid.row0
    if grid.col0:
        data["startColumn"] = grid.col0
    return data


def trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """Google's shape: trailing empty cells dropped, empty middle rows as [], no trailing rows."""
    out = []
    for row in rows:
        end = len(row)
        while end and row[end - 1] == EMPTY:
            end -= 1
        out.append(row[:end])
    while out and not out[-1]:
        out.pop()
    return out
