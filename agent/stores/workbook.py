"""A local .xlsx workbook: the embedded default, no Google account needed.

The store edits the workbook's zip package itself, so a team's charts, images, comments,
tables, formulas and their computed values all stay as their program wrote them:

- read: the accounts and history tabs' XML, parsed as text (`xlsx_cells`): a formula
  cell reads as its computed value, a percentage as "80%", a date as a date;
- write: only the accounts tab (the agent's cells, its rules, dropdowns and frozen
  header, its columns' shade and wrapping: `workbook_look`), its header notes (a comments
  part and drawing of the agent's own: `workbook_notes`), the history tab (rows added or
  replaced by week and key) and, when a style it needs is missing, the styles change;
  every other part is copied byte for byte (`xlsx_package`). A pass that writes nothing
  leaves the file untouched.

Around a write (`workbook_file`): no write while a person has the file open (a lock file
of LibreOffice or Excel), never over a save made by someone else since the read (the
file is read again and the plan applied to it, a few times at most), and the file keeps
its mode, owner, symlink and hard links.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.cells import CellValue, cell_text, rows_by_key
from agent.errors import SheetError, TransientError
from agent.history_look import width_in_characters
from agent.history_merge import merge_history
from agent.plan import WritePlan, WriteReport
from agent.stores.base import Snapshot, Tab, tab_named
from agent.stores.workbook_file import (
    Identity,
    lock_note,
    real_path,
    remove_leftovers,
    replace_file,
)
from agent.stores.workbook_look import fit_rows, lines_of, wrapped_widths
from agent.stores.workbook_notes import header_notes, header_refs, notes_are_comments
from agent.stores.workbook_sheets import add_sheet, history_sheet_xml, replace_sheet_data
from agent.stores.xlsx_cells import (
    NotAddressed,
    RowNotFound,
    SheetCells,
    clean_text,
    column_index,
    column_letters,
    edit_row,
    needs_opening,
    read_cells,
    read_cells_streamed,
    row_spans,
    row_xml,
    set_widths,
    some_row_spans,
    splice_pieces,
    splice_rows,
    stream_rows,
    widen_dimension,
)
from agent.stores.xlsx_format import apply_formatting
from agent.stores.xlsx_package import Body, Package, write_package

TRIES = 3  # reads and redos when someone else saves during the write
_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _open_error(path: Path, exc: Exception) -> SheetError:
    if isinstance(exc, FileNotFoundError):
        return SheetError(
            f"{path}: workbook not found. Create one with `health-agent init`, "
            "or fix `sheet.workbook` in the config."
        )
    return SheetError(f"{path}: cannot be opened as an .xlsx workbook ({exc}).")


def _header(cells: SheetCells) -> list[str]:
    header = [cell_text(v).strip() for v in cells.rows.get(1, [])]
    while header and not header[-1]:
        header.pop()
    return header


@dataclass
class _Tab:
    title: str
    part: str
    cells: SheetCells
    xml: bytes | None  # kept for the accounts tab; the history tab's is read when needed
    streamed: bool = False  # read a slice at a time: can be written so too


@dataclass
class _Loaded:
    """One version of the file, read."""

    identity: Identity
    package: Package
    accounts: _Tab
    history: _Tab | None

    def body(self, tab: _Tab) -> list[list[CellValue]]:
        return tab.cells.values(2, tab.cells.last_filled())


class WorkbookStore:
    """Accounts and history as two tabs of a local .xlsx file."""

    def __init__(
        self,
        path: Path,
        *,
        worksheet: str,
        key_column: str,
        history_worksheet: str | None = None,
        language: str = "en",
    ) -> None:
        self.path = Path(path)
        self.language = language  # of the sentence saying a person has the file open
        self.worksheet = worksheet
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        self.saves = 0
        self.redos = 0  # writes done again on a version saved by someone else
        self._seen: _Loaded | None = None
        self._started = False

    def location(self) -> str:
        return str(self.path.resolve())

    def read(self) -> Snapshot:
        loaded = self._load()
        self._seen = loaded
        accounts = loaded.accounts
        history = None
        if loaded.history is not None:
            h = loaded.history
            history = Tab(h.title, _header(h.cells), loaded.body(h))
        return Snapshot(
            Tab(accounts.title, _header(accounts.cells), loaded.body(accounts)), history
        )

    def _load(self) -> _Loaded:
        if not self._started:
            self._started = True
            remove_leftovers(self.path)
        try:
            with open(real_path(self.path), "rb") as f:
                data = f.read()
                st = os.fstat(f.fileno())
            package = Package(data)
        except Exception as exc:  # zipfile and XML raise many kinds for a bad file
            raise _open_error(self.path, exc) from None
        identity = Identity(st.st_ino, st.st_size, st.st_mtime_ns)
        title = tab_named(package.sheets, self.worksheet)
        if title is None:
            raise SheetError(
                f'{self.path}: no tab named "{self.worksheet}" (tabs: '
                f"{', '.join(package.sheets)}). Fix `sheet.worksheet` in the config."
            )
        strings, kinds = package.strings(), package.kinds()
        xml = package.read(package.sheets[title])
        accounts = _Tab(title, package.sheets[title], read_cells(xml, strings, kinds), xml)
        history = None
        history_title = tab_named(package.sheets, self.history_worksheet)
        if history_title is not None and history_title != title:
            part = package.sheets[history_title]
            try:
                with package.open(part) as stream:
                    cells = read_cells_streamed(stream, strings, kinds)
                streamed = True
            except NotAddressed:
                cells = read_cells(package.read(part), strings, kinds, spans=False)
                streamed = False
            history = _Tab(history_title, part, cells, None, streamed)
        return _Loaded(identity, package, accounts, history)

    def write(self, plan: WritePlan) -> WriteReport:
        if plan.is_empty() and plan.formatting is None:
            return WriteReport()
        for attempt in range(TRIES):
            loaded = self._seen
            try:
                if loaded is None or Identity.of(real_path(self.path)) != loaded.identity:
                    loaded = self._load()  # saved by someone else since the read: redo
                    self.redos += attempt > 0 or self._seen is not None
            except FileNotFoundError as exc:
                raise _open_error(self.path, exc) from None
            self._seen = None
            report, body = _Edit(self, loaded, plan).run()
            if body is None:
                self._seen = loaded
                return report
            # a person has it open: theirs to save, not ours
            note = lock_note(self.path, language=self.language)
            if note is not None:
                self._seen = loaded
                return WriteReport(note=note)
            if replace_file(self.path, body, loaded.identity):
                self.saves += 1
                return report
        raise TransientError(
            f"{self.path.name} was saved by someone else during each of {TRIES} writes: "
            "nothing written this pass, the next pass will try again."
        )


class _Edit:
    """One plan applied to one version of the file."""

    def __init__(self, store: WorkbookStore, loaded: _Loaded, plan: WritePlan) -> None:
        self.store = store
        self.loaded = loaded
        self.plan = plan
        self.report = WriteReport()
        self.parts: dict[str, Body] = {}
        self.row_edits: dict[int, dict[int, CellValue]] = {}
        self.new_widths: dict[int, float] = {}  # column -> width, for the columns added
        self.line = ""  # the freshness line this write puts on the score's header

    def run(self) -> tuple[WriteReport, bytes | None]:
        accounts = self.loaded.accounts
        columns = self._columns()
        self._cells(columns)
        if self.plan.history_rows or self.plan.history_oldest_week:
            self._history()
        xml = accounts.xml or b""
        if self.row_edits:
            rows = {
                n: edit_row(_row_at(xml, accounts.cells, n), n, changes, self._header_style)
                if n == 1
                else edit_row(_row_at(xml, accounts.cells, n), n, changes)
                for n, changes in self.row_edits.items()
            }
            xml = splice_rows(xml, accounts.cells.spans, rows)
            if self.report.columns_added:
                xml = widen_dimension(xml, max(columns.values()))
                xml = set_widths(xml, self.new_widths)
        plan = self.plan
        # the freshness line, only when the file is written anyway
        self.line = plan.freshness if not plan.is_empty() and (self.parts or self.row_edits) else ""
        if plan.formatting is not None:
            package = self.loaded.package
            styles_part = package.styles_part()
            styles = package.read(styles_part) if styles_part and package.has(styles_part) else None
            headers = header_refs(columns, plan.formatting)
            as_comments = notes_are_comments(package, self._current, accounts.part, xml, headers)
            line = None if as_comments else self.line  # else in the score's input message
            made = apply_formatting(xml, styles, columns, plan.formatting, line)
            if made.changed:
                xml = made.xml
                self.report.formatting_written = True
                if made.styles is not None and styles_part is not None:
                    self.parts[styles_part] = made.styles
            xml = self._fit_rows(xml, columns)
        xml = self._notes(xml, columns)
        if xml != accounts.xml:
            self.parts[accounts.part] = xml
        if not self.parts:
            return self.report, None
        out = io.BytesIO()
        try:
            write_package(self.loaded.package, self.parts, out)
        except RowNotFound:  # a history row without its address: the tab handled whole
            self._history(streaming=False)
            out = io.BytesIO()
            write_package(self.loaded.package, self.parts, out)
        return self.report, out.getvalue()

    # --- the accounts tab ------------------------------------------------------------

    def _fit_rows(self, xml: bytes, columns: dict[str, int]) -> bytes:
        """Each account's row as tall as its wrapped "why" and next action."""
        assert self.plan.formatting is not None
        widths = wrapped_widths(xml, columns, self.plan.formatting)
        if not widths:
            return xml
        rows = self.loaded.accounts.cells.rows
        lines: dict[int, int] = {}
        for number in set(rows) | set(self.row_edits):
            if number == 1:
                continue
            row, edits = rows.get(number, []), self.row_edits.get(number, {})
            count = 1
            for column, width in widths.items():
                value = (
                    edits[column]
                    if column in edits
                    else (row[column - 1] if column - 1 < len(row) else None)
                )
                if isinstance(value, str):
                    count = max(count, lines_of(value, width))
            lines[number] = count
        return fit_rows(xml, lines)

    def _current(self, part: str) -> bytes | None:
        """A part as this write leaves it so far (None when there is none)."""
        body = self.parts.get(part)
        if isinstance(body, bytes):
            return body
        package = self.loaded.package
        return package.read(part) if package.has(part) else None

    def _notes(self, xml: bytes, columns: dict[str, int]) -> bytes:
        """The header notes brought up to date; the freshness line only when the file is
        written anyway (an unchanged pass leaves the file as it is)."""
        plan, package = self.plan, self.loaded.package
        if plan.formatting is None:
            return xml
        notes = header_notes(
            package,
            self._current,
            self.loaded.accounts.part,
            xml,
            columns,
            plan.formatting,
            self.line,
        )
        if notes is None:
            return xml
        self.parts.update(notes.parts)
        self.report.formatting_written = True
        return notes.xml

    def _columns(self) -> dict[str, int]:
        cells = self.loaded.accounts.cells
        header_row = cells.rows.get(1, [])
        columns: dict[str, int] = {}
        last = 0
        for i, value in enumerate(header_row, start=1):
            text = cell_text(value).strip()
            if text:
                columns.setdefault(text, i)
                last = i
        store = self.store
        if store.key_column not in columns:
            raise SheetError(
                f'{store.path}: the key column "{store.key_column}" is not in the header of '
                f'"{store.worksheet}". Fix `sheet.key_column` in the config.'
            )
        self._header_style = _style_of(self.loaded.accounts.xml or b"", cells, 1, last)
        new = [name for name in dict.fromkeys(self.plan.new_columns) if name not in columns]
        if new:  # right of every cell: a CSM's column with no name keeps its cells
            last = max([last, *(len(r) for r in cells.rows.values())])
        for name in new:
            last += 1
            columns[name] = last
            self.row_edits.setdefault(1, {})[last] = name
            self.new_widths[last] = max(12, min(60, len(name) + 4))
            self.report.columns_added += 1
        return columns

    def _cells(self, columns: dict[str, int]) -> None:
        if not self.plan.cells:
            return
        cells = self.loaded.accounts.cells
        key_col = columns[self.store.key_column] - 1
        last = cells.last_filled()
        body = cells.values(2, last)
        keys = [row[key_col] if key_col < len(row) else None for row in body]
        where = rows_by_key(keys)
        hidden = _merged_away(self.loaded.accounts.xml or b"")
        for change in self.plan.cells:
            col = columns.get(change.column)
            if col is None:
                raise SheetError(f'{self.store.path}: column "{change.column}" is missing.')
            value = change.value
            if isinstance(value, str):
                value, _ = clean_text(value)
            for i in where.get(change.key, []):
                number = i + 2
                if (number, col) in hidden:
                    continue  # inside a merge: only its first cell shows
                row = body[i]
                current = row[col - 1] if col - 1 < len(row) else None
                pending = self.row_edits.get(number, {})
                if col in pending:
                    current = pending[col]
                if _same(current, value):
                    continue
                self.row_edits.setdefault(number, {})[col] = value
                self.report.cells_written += 1

    # --- the history tab -------------------------------------------------------------

    def _history(self, *, streaming: bool = True) -> None:
        plan = self.plan
        loaded = self.loaded
        tab = loaded.history
        header = _header(tab.cells) if tab else []
        rows = loaded.body(tab) if tab else []
        merge = merge_history(header, rows, plan)
        if not merge.written and merge.header == header:
            return
        self.report.history_rows_written = merge.written or 1
        formatting = plan.formatting
        widths = {
            col: width_in_characters(pixels)
            for col, pixels in enumerate(formatting.history_widths if formatting else (), 1)
        }
        if tab is None:
            title = self.store.history_worksheet or "History"
            every = [row_xml(1, merge.header)]
            every += [row_xml(n, row) for n, row in enumerate(merge.rows, start=2)]
            sheet = set_widths(history_sheet_xml(every), widths)
            self.parts.update(add_sheet(loaded.package, title, sheet))
            return
        unchanged_rows = merge.first_dropped is None and merge.header == header
        if unchanged_rows and streaming and tab.streamed:
            replaced = {
                p + 2: row_xml(p + 2, merge.rows[p]) for p in merge.touched if p < len(rows)
            }
            appended = [
                row_xml(p + 2, merge.rows[p]) for p in sorted(merge.touched) if p >= len(rows)
            ]
            streamed = stream_rows(loaded.package.open(tab.part), replaced, appended)
            self.parts[tab.part] = _widths_at_head(streamed, widths)
            return
        xml = set_widths(loaded.package.read(tab.part), widths)
        if not unchanged_rows:
            every = [row_xml(1, merge.header)]
            every += [row_xml(n, row) for n, row in enumerate(merge.rows, start=2)]
            self.parts[tab.part] = replace_sheet_data(xml, every)
            return
        rows_out = {p + 2: row_xml(p + 2, merge.rows[p]) for p in merge.touched}
        old = [n for n in rows_out if n - 2 < len(rows)]  # replaced; the others go at the end
        spans = some_row_spans(xml, old) if old else {}
        if len(spans) != len(old):  # rows without an address: find every row
            spans = row_spans(xml)
        if needs_opening(xml):
            self.parts[tab.part] = splice_rows(xml, spans, rows_out)
        else:
            self.parts[tab.part] = splice_pieces(xml, spans, rows_out)


def _widths_at_head(pieces: Iterator[bytes], widths: dict[int, float]) -> Iterator[bytes]:
    """A streamed sheet with `set_widths` applied to its head (the first slice holds
    everything before the first row: `<cols>` comes before `<sheetData>`)."""
    first = next(pieces, None)
    if first is None:
        return
    yield set_widths(first, widths) if b"<sheetData" in first else first
    yield from pieces


def _same(current: CellValue, wanted: CellValue) -> bool:
    """Whether a cell already holds what the plan wants (6 == 6.0, a blank is None)."""
    if current is None or current == "":
        return wanted is None or wanted == ""
    if isinstance(current, bool) or isinstance(wanted, bool):
        return current is wanted
    if isinstance(current, int | float) and isinstance(wanted, int | float):
        return abs(current - wanted) < 1e-9
    return current == wanted


def _row_at(xml: bytes, cells: SheetCells, number: int) -> bytes:
    span = cells.spans.get(number)
    return xml[span[0] : span[1]] if span else b""


def _style_of(xml: bytes, cells: SheetCells, row: int, column: int) -> bytes | None:
    """The style index of a cell, to give the agent's new header cells the same look."""
    if not column:
        return None
    ref = f' r="{column_letters(column)}{row}"'.encode()
    for cell in re.finditer(rb"<c\b([^>]*)>", _row_at(xml, cells, row)):
        if ref in cell[1]:
            style = re.search(rb'\ss="(\d+)"', cell[1])
            return style[1] if style else None
    return None


def _merged_away(xml: bytes) -> set[tuple[int, int]]:
    """The cells a merge hides: every cell of a merged range but its first."""
    hidden: set[tuple[int, int]] = set()
    for m in _MERGE.finditer(xml):
        c1, r1, c2, r2 = column_index(m[1]), int(m[2]), column_index(m[3]), int(m[4])
        if (r2 - r1 + 1) * (c2 - c1 + 1) > 1_000_000:
            continue
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1):
                    hidden.add((r, c))
    return hidden
