"""A worksheet's cells as XML text: read them, and write the few the agent changes.

A worksheet part is kept as the bytes its program wrote. Reading finds each `<row>` and
its `<c>` cells with regular expressions (no tree is built: a year of history is millions
of cells); writing renders only the rows that change and splices them between the
untouched bytes, so every other cell, formula, cached value and style stays as it was.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from agent.cells import MAX_CELL_TEXT, NOT_IN_A_CELL, CellValue, Uncomputed

_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_REF = re.compile(rb'\sr="([A-Z]+)\d*"')
_CELL_TYPE = re.compile(rb'\st="(\w+)"')
_CELL_STYLE = re.compile(rb'\ss="(\d+)"')
_TEXT = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_ESCAPED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
_EPOCH = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}

_COLUMNS: dict[bytes, int] = {}


def column_index(letters: bytes) -> int:
    """1 for A, 27 for AA (cached: a sheet has few columns)."""
    found = _COLUMNS.get(letters)
    if found is None:
        found = 0
        for ch in letters:
            found = found * 26 + ch - 64
        _COLUMNS[letters] = found
    return found


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def unescape(raw: bytes) -> str:
    """An XML text node's bytes as the text it holds."""
    text = raw.decode()
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:  # OOXML's own escape for characters XML cannot hold
        text = _ESCAPED_CHAR.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def string_items(xml: bytes) -> list[str]:
    """The texts of a sharedStrings part (rich text runs joined, phonetic runs left out)."""
    out = []
    for item in re.finditer(rb"<si>(.*?)</si>|<si/>", xml, re.S):
        body = item[1] or b""
        if b"<rPh" in body:
            body = _PHONETIC.sub(b"", body)
        out.append("".join(unescape(t[1] or b"") for t in _TEXT.finditer(body)))
    return out


@dataclass
class CellKinds:
    """What the package's styles say of a cell's number: a date, a percentage, or neither."""

    dates: frozenset[int] = frozenset()  # style indexes (the `s` of a cell)
    percents: frozenset[int] = frozenset()
    date1904: bool = False


@dataclass
class SheetCells:
    """One worksheet read: its rows of values, and where each row's XML is."""

    rows: dict[int, list[CellValue]] = field(default_factory=dict)  # 1-based row number
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # row -> (start, end)
    uncomputed: int = 0  # formula cells without a cached value

    def values(self, first: int, last: int | None = None) -> list[list[CellValue]]:
        """Rows `first`..`last` (all that hold something, by default), gaps as empty rows."""
        end = last if last is not None else max(self.rows, default=0)
        return [self.rows.get(n, []) for n in range(first, end + 1)]

    def last_filled(self) -> int:
        """The last row number holding a value (0 when none)."""
        filled = [n for n, row in self.rows.items() if any(v is not None for v in row)]
        return max(filled, default=0)


def read_cells(
    xml: bytes, strings: Sequence[str], kinds: CellKinds, *, spans: bool = True
) -> SheetCells:
    """Every row's values, and (with `spans`) each row's span in `xml`."""
    out = SheetCells()
    start = xml.find(b"<sheetData")
    if start < 0:
        return out
    if spans:
        out.spans = row_spans(xml)
    if not _UNADDRESSED_CELL.search(xml, start):  # every cell says where it is: the usual
        texts: dict[bytes, str] = {}
        while start >= 0:  # a slice of rows at a time: a year of history is millions of cells
            end = xml.find(b"</row>", start + _SLICE)
            cells = _ADDRESSED_CELL.findall(xml, start, end if end >= 0 else len(xml))
            _read_addressed(cells, strings, kinds, texts, out)
            start = end
        return out
    row_number = 0
    for row in _ROW.finditer(xml, start):
        found = _ROW_NUMBER.search(row[1])
        row_number = int(found[1]) if found else row_number + 1
        body = row[2]
        if body:
            values = _row_values(body, strings, kinds, out)
            if values:
                out.rows[row_number] = values
    return out


# a cell whose address comes first, as Excel, LibreOffice and openpyxl write them
_UNADDRESSED_CELL = re.compile(rb"<c(?! r=)[\s>/]")
_ADDRESSED_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)


_SLICE = 1 << 20  # bytes of rows read at once


class NotAddressed(Exception):
    """Cells that do not say where they are (allowed, rare): the sheet is read whole."""


def _row_slices(stream: IO[bytes]) -> Iterator[bytes]:
    """A sheet's XML from `stream` in slices that end after a `</row>`, so that no row is
    cut in two (the last slice holds what follows the rows)."""
    buffer = b""
    while True:
        chunk = stream.read(_SLICE)
        if not chunk:
            if buffer:
                yield buffer
            return
        buffer = buffer + chunk if buffer else chunk
        cut = buffer.rfind(b"</row>")
        if cut >= 0:
            yield buffer[: cut + 6]
            buffer = buffer[cut + 6 :]


def read_cells_streamed(stream: IO[bytes], strings: Sequence[str], kinds: CellKinds) -> SheetCells:
    """`read_cells` (without spans) from a stream, never holding the whole XML: a year of
    history is about 125 MB of it. Raises NotAddressed for a sheet it cannot read so."""
    out = SheetCells()
    texts: dict[bytes, str] = {}
    for piece in _row_slices(stream):
        if _UNADDRESSED_CELL.search(piece):
            raise NotAddressed
        _read_addressed(_ADDRESSED_CELL.findall(piece), strings, kinds, texts, out)
    return out


class RowNotFound(Exception):
    """A row to replace was not found by its address while the sheet streamed."""


def stream_rows(
    stream: IO[bytes], replaced: dict[int, bytes], appended: Sequence[bytes]
) -> Iterator[bytes]:
    """The sheet from `stream`, with the rows of `replaced` (number -> XML) put in place
    and `appended` added after the last row, a slice at a time. Raises RowNotFound (before
    the end of the sheet's data is written) when a row to replace is not there."""
    todo = dict(replaced)
    for piece in _row_slices(stream):
        for number in [n for n in todo if b'<row r="%d"' % n in piece]:
            at = piece.find(b'<row r="%d"' % number)
            row = _ROW.match(piece, at)
            assert row is not None
            piece = piece[: row.start()] + todo.pop(number) + piece[row.end() :]
        end = piece.find(b"</sheetData>")
        if end < 0:
            yield piece
            continue
        if todo:
            raise RowNotFound(sorted(todo))
        yield piece[:end]
        yield from appended
        yield piece[end:]
        todo = {}
        appended = ()
    if todo or appended:
        raise RowNotFound(sorted(todo))


def _read_addressed(
    cells: list[tuple[bytes, bytes, bytes, bytes]],
    strings: Sequence[str],
    kinds: CellKinds,
    texts: dict[bytes, str],
    out: SheetCells,
) -> None:
    """Values from the cells of `_ADDRESSED_CELL`: a text or a number in a few slices, any
    other cell by `_cell_value`. `texts` holds each inline text once, however many cells
    repeat it (a history tab repeats its weeks, dates, statuses and keys)."""
    rows = out.rows
    columns = _COLUMNS
    last_row = b""
    values: list[CellValue] = []
    plain_numbers = not (kinds.dates or kinds.percents)
    for letters, row, attrs, inner in cells:
        if not inner:
            continue
        if row != last_row:
            last_row = row
            values = rows.setdefault(int(row), [])
        value: CellValue
        if inner[:3] == b"<v>" and inner[-4:] == b"</v>" and (not attrs or plain_numbers):
            raw = inner[3:-4]
            if b" t=" in attrs:
                value = _cell_value(attrs, inner, strings, kinds)
            else:
                value = int(raw) if raw.isdigit() else _number(raw, attrs, kinds)
        elif attrs == b' t="inlineStr"' and inner[:7] == b"<is><t>" and inner[-9:] == b"</t></is>":
            raw = inner[7:-9]
            value = texts.get(raw)
            if value is None:
                value = texts[raw] = unescape(raw)
        else:
            value = _cell_value(attrs, inner, strings, kinds)
            if isinstance(value, Uncomputed):
                out.uncomputed += 1
            if value is None:
                continue
        column = columns.get(letters) or column_index(letters)
        if len(values) == column - 1:
            values.append(value)
        elif len(values) < column - 1:
            values.extend([None] * (column - 1 - len(values)))
            values.append(value)
        else:
            values[column - 1] = value


def _row_values(
    body: bytes, strings: Sequence[str], kinds: CellKinds, out: SheetCells
) -> list[CellValue]:
    values: list[CellValue] = []
    column = 0
    for cell in _CELL.finditer(body):
        attrs, inner = cell[1], cell[2]
        ref = _CELL_REF.search(attrs)
        column = column_index(ref[1]) if ref else column + 1
        if not inner:
            continue
        value = _cell_value(attrs, inner, strings, kinds)
        if isinstance(value, Uncomputed):
            out.uncomputed += 1
        if value is None:
            continue
        if len(values) < column - 1:
            values.extend([None] * (column - 1 - len(values)))
        if len(values) == column - 1:
            values.append(value)
        else:
            values[column - 1] = value
    return values


def _cell_value(attrs: bytes, inner: bytes, strings: Sequence[str], kinds: CellKinds) -> CellValue:
    kind_match = _CELL_TYPE.search(attrs) if b" t=" in attrs else None
    kind = kind_match[1] if kind_match else b"n"
    if kind == b"inlineStr":
        if b"<rPh" in inner:
            inner = _PHONETIC.sub(b"", inner)
        return "".join(unescape(t[1] or b"") for t in _TEXT.finditer(inner))
    at = inner.find(b"<v>")
    if at < 0:
        if inner.startswith(b"<f") or b"<f" in inner:
            found = re.search(rb"<f\b[^>]*>(.*?)</f>", inner, re.S)
            return Uncomputed("=" + (unescape(found[1]) if found else ""))
        return None
    raw = inner[at + 3 : inner.find(b"</v>", at)]
    if kind == b"n":
        return _number(raw, attrs, kinds)
    if kind == b"s":
        return strings[int(raw)]
    if kind == b"b":
        return raw.strip() == b"1"
    if kind == b"d":
        try:
            return dt.datetime.fromisoformat(raw.decode())
        except ValueError:
            return raw.decode()
    return unescape(raw)  # str (a formula's text), e (an error such as #N/A)


def _number(raw: bytes, attrs: bytes, kinds: CellKinds) -> CellValue:
    if not raw:
        return None
    number: int | float = (
        int(raw) if raw.isdigit() or (raw[:1] == b"-" and raw[1:].isdigit()) else float(raw)
    )
    if b" s=" not in attrs or not (kinds.dates or kinds.percents):
        return number
    style = _CELL_STYLE.search(attrs)
    index = int(style[1]) if style else 0
    if index in kinds.dates:
        try:
            return _EPOCH[kinds.date1904] + dt.timedelta(days=float(number))
        except OverflowError:
            return number
    if index in kinds.percents:  # as the person typed it: 80 %, not 0.8
        return f"{float(number) * 100:.10g}%"
    return number


# --- writing cells -----------------------------------------------------------------------


def clean_text(text: str) -> tuple[str, bool]:
    """A text as a cell can hold it: characters XML cannot carry removed, at most 32,767
    characters; True when something was removed."""
    cleaned = NOT_IN_A_CELL.sub("", text)
    if len(cleaned) > MAX_CELL_TEXT:
        cleaned = cleaned[:MAX_CELL_TEXT]
    return cleaned, cleaned != text


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_xml(ref: str, value: CellValue, style: bytes | None) -> bytes:
    """One cell holding `value` (a text as an inline string: never read as a formula)."""
    s = b' s="' + style + b'"' if style else b""
    head = b'<c r="' + ref.encode() + b'"' + s
    if value is None or value == "":
        return head + b"/>" if style else b""
    if isinstance(value, bool):
        return head + b' t="b"><v>' + (b"1" if value else b"0") + b"</v></c>"
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return head + b"/>" if style else b""
        return head + b"><v>" + repr(value).encode() + b"</v></c>"
    if isinstance(value, dt.date):
        value = value.isoformat()
    text, _ = clean_text(str(value))
    space = b' xml:space="preserve"' if text != text.strip() else b""
    return head + b' t="inlineStr"><is><t' + space + b">" + escape(text).encode() + b"</t></is></c>"


def row_xml(number: int, values: Sequence[CellValue]) -> bytes:
    """A whole row the agent owns (the history tab's)."""
    cells = b"".join(
        cell_xml(f"{column_letters(i)}{number}", v, None) for i, v in enumerate(values, start=1)
    )
    return b'<row r="%d">' % number + cells + b"</row>"


def row_spans(xml: bytes) -> dict[int, tuple[int, int]]:
    """Where each row's XML is, by row number."""
    out = {}
    number = 0
    for row in _ROW.finditer(xml, max(xml.find(b"<sheetData"), 0)):
        found = _ROW_NUMBER.search(row[1])
        number = int(found[1]) if found else number + 1
        out[number] = row.span()
    return out


def some_row_spans(xml: bytes, numbers: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Where the rows `numbers` are (a few rows of a long sheet: found without reading the
    others); rows not in the sheet are left out."""
    if len(numbers) > 50:
        return {n: span for n, span in row_spans(xml).items() if n in set(numbers)}
    out = {}
    for number in numbers:
        start = xml.find(b'<row r="%d"' % number)
        if start < 0:
            continue
        row = _ROW.match(xml, start)
        if row is not None:
            out[number] = row.span()
    return out


def edit_row(
    xml: bytes, number: int, changes: dict[int, CellValue], new_style: bytes | None = None
) -> bytes:
    """A row's XML with the cells of `changes` (column -> value) set, every other cell kept
    byte for byte; a cell made new gets `new_style`. A missing row (`xml` empty) is made."""
    if not xml:
        xml = b'<row r="%d"/>' % number
    head_end = xml.find(b">")
    head = xml[:head_end]
    closed = head.endswith(b"/")
    head = re.sub(rb'\sspans="[^"]*"', b"", head[:-1] if closed else head)  # a hint, now wrong
    body = b"" if closed else xml[head_end + 1 : xml.rfind(b"</row>")]
    cells: list[tuple[int, bytes]] = []
    column = 0
    for cell in _CELL.finditer(body):
        ref = _CELL_REF.search(cell[1])
        column = column_index(ref[1]) if ref else column + 1
        cells.append((column, cell[0]))
    by_column = dict(cells)
    for col, value in changes.items():
        old = by_column.get(col)
        style_match = _CELL_STYLE.search(old[: old.find(b">")]) if old else None
        style = style_match[1] if style_match else (None if old else new_style)
        by_column[col] = cell_xml(f"{column_letters(col)}{number}", value, style)
    rendered = b"".join(by_column[c] for c in sorted(by_column))
    return head + b">" + rendered + b"</row>"


def widen_dimension(xml: bytes, last_column: int) -> bytes:
    """The sheet's `<dimension>` reaching at least `last_column` (a hint readers use)."""
    found = re.search(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', xml)
    if found is None:
        return xml
    end_letters = found[3] or found[1]
    end_row = found[4] or found[2]
    if column_index(end_letters) >= last_column:
        return xml
    ref = f"{found[1].decode()}{found[2].decode()}:{column_letters(last_column)}{end_row.decode()}"
    return xml[: found.start()] + b'<dimension ref="' + ref.encode() + b'"' + xml[found.end() :]


def set_widths(xml: bytes, widths: dict[int, float]) -> bytes:
    """The sheet with a width for each column of `widths` that has none of its own (the
    agent's new columns: wide enough for their header)."""
    cols = re.search(rb"<cols>(.*?)</cols>", xml, re.S)
    taken: list[tuple[int, int, int]] = []  # (min, max, position in xml)
    if cols is not None:
        for col in re.finditer(rb"<col\b[^>]*?/>", cols[1]):
            low = re.search(rb'\smin="(\d+)"', col[0])
            high = re.search(rb'\smax="(\d+)"', col[0])
            if low and high:
                taken.append((int(low[1]), int(high[1]), cols.start(1) + col.start()))
    new = {c: w for c, w in sorted(widths.items()) if not any(lo <= c <= hi for lo, hi, _ in taken)}
    if not new:
        return xml
    for column, width in sorted(new.items(), reverse=True):  # from the end: positions hold
        element = b'<col min="%d" max="%d" width="%s" customWidth="1"/>' % (
            column,
            column,
            f"{width:g}".encode(),
        )
        if cols is None:
            at = xml.find(b"<sheetData")
            xml = xml[:at] + b"<cols>" + element + b"</cols>" + xml[at:]
            cols = re.search(rb"<cols>(.*?)</cols>", xml, re.S)
            assert cols is not None
            taken = [(column, column, cols.start(1))]
            continue
        after = [pos for lo, _, pos in taken if lo > column]
        at = min(after) if after else cols.end(1)
        xml = xml[:at] + element + xml[at:]
    return xml


def splice_rows(xml: bytes, spans: dict[int, tuple[int, int]], rows: dict[int, bytes]) -> bytes:
    """`xml` with the rows of `rows` (row number -> new XML) put in place: a row that
    exists is replaced, a new one goes between its neighbours, in row order."""
    if not rows:
        return xml
    return _open_sheet_data(b"".join(splice_pieces(xml, spans, rows)))


Piece = bytes | memoryview


def splice_pieces(
    xml: bytes, spans: dict[int, tuple[int, int]], rows: dict[int, bytes]
) -> list[Piece]:
    """`splice_rows` as the pieces to write one after the other: the untouched stretches
    are views of `xml`, not copies (a history tab is tens of MB). `xml` must have its
    `<sheetData>` open (`needs_opening`)."""
    end = _sheet_data_end(xml)
    view = memoryview(xml)
    pieces: list[Piece] = []
    at = 0
    ordered = sorted(spans.items())
    numbers = [n for n, _ in ordered]
    for number in sorted(rows):
        if number in spans:
            start, stop = spans[number]
        else:
            i = bisect.bisect_left(numbers, number)
            start = stop = ordered[i][1][0] if i < len(ordered) else end
        pieces.append(view[at:start])
        pieces.append(rows[number])
        at = stop
    pieces.append(view[at:])
    return pieces


def needs_opening(xml: bytes) -> bool:
    """Whether the sheet's data is an empty `<sheetData/>` (rows cannot go inside it)."""
    return _EMPTY_SHEET_DATA.search(xml) is not None


_EMPTY_SHEET_DATA = re.compile(rb"<sheetData\s*/>")


def _sheet_data_end(xml: bytes) -> int:
    """Where rows can be added at the end of the sheet data."""
    end = xml.find(b"</sheetData>")
    if end >= 0:
        return end
    empty = re.search(rb"<sheetData\s*/>", xml)
    if empty is None:
        raise ValueError("no sheetData")
    return empty.end()


def _open_sheet_data(xml: bytes) -> bytes:
    """`<sheetData/>` followed by rows made into `<sheetData>rows</sheetData>`."""
    empty = re.search(rb"<sheetData\s*/>", xml)
    if empty is None:
        return xml
    rest = xml[empty.end() :]
    stop = 0
    for row in _ROW.finditer(rest):
        if row.start() != stop:
            break
        stop = row.end()
    return xml[: empty.start()] + b"<sheetData>" + rest[:stop] + b"</sheetData>" + rest[stop:]
