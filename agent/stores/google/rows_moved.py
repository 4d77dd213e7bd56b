"""After a write, the keys read again: cells that went to rows a CSM moved are put right.

A CSM may sort, insert or delete rows while a pass runs. The rows written are checked by
their keys (only theirs when they are few, else the whole key column), read back in the
write's own answer (`ReadBack`; read in a call of their own only when it has none, or
when plain values there disagree with the read); when rows moved,
every agent cell is rewritten by key, a bounded number of times: a row whose key moved
gets its own account's cells again, a row with no known account (a CSM's new row) loses
what the agent wrote there by mistake.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gspread.urls import SPREADSHEET_URL

from agent.cells import CellValue, cell_text, key_text, key_text_list
from agent.plan import WritePlan, cells_by_column
from agent.stores.google import typed
from agent.stores.google.client import Params
from agent.stores.google.columns_moved import moved_after_the_write, now_at
from agent.stores.google.ranges import (
    ColumnCells,
    Json,
    by_column,
    by_row,
    column_index,
    column_letter,
    column_ranges,
    quote,
    row_blocks,
    without_blank_tail,
)

log = logging.getLogger("agent.google")

KEY_CHECK_RANGES = 50  # runs of written rows whose keys are checked alone, in one short URL
KEY_CHECK_URL_CHARS = 4_000  # what those ranges may take in the URL, once percent-encoded

Call = Callable[[Callable[[Any], Any]], Any]  # one API call, Google's refusals explained


@dataclass
class AccountsAsRead:
    """The accounts tab as the pass read it: the rows, and the keys writes address them by."""

    title: str
    key_column: str
    rows: list[list[CellValue]]
    key_cells: list[Any]  # as Google gives them (a blank one as "")
    keys: list[str]  # as they are matched


def wanted_by_key(
    read: AccountsAsRead, plan: WritePlan, columns: list[str]
) -> dict[str, dict[int, Any]]:
    """Every account's agent cells as they should be: as read, then the plan's changes,
    then the plan's full picture when it gives one."""
    changed = cells_by_column(plan.cells)
    touched = sorted(
        column_index(columns, column, key_column=read.key_column, title=read.title)
        for column in changed
    )
    wanted: dict[str, dict[int, Any]] = {}
    for key, row in zip(read.keys, read.rows, strict=False):
        if key:
            wanted[key] = {c: (row[c] if c < len(row) else "") for c in touched}
    for column, (keys, values) in changed.items():
        at = columns.index(column)
        for key, value in zip(key_text_list(keys), values, strict=True):
            wanted.setdefault(key, {})[at] = value
    for key, cells in (plan.desired or {}).items():
        for column, value in cells.items():
            if column in columns and column != read.key_column:
                wanted.setdefault(key_text(key), {})[columns.index(column)] = value
    return wanted


@dataclass
class ReadBack:
    """The ranges read back with the write, each as rows: with their number formats
    (`typed.py`, as the pass read the tab) or as plain values (a values write's answer:
    a date key then reads otherwise, so only agreement with the read is trusted)."""

    rows: list[list[list[CellValue]]]
    typed: bool


@dataclass
class MovedRows:
    """The re-read of keys after a values write, and the rewrite of misplaced cells."""

    call: Call
    send_values: Callable[[list[Json]], None]
    spreadsheet_id: str
    read: AccountsAsRead
    tries: int  # rounds of re-read and rewrite
    header_now: list[str] | None = None  # the header as the key re-read saw it
    read_width: int | None = None  # columns of the header as read (the agent's new ones after)
    runs: list[tuple[int, int]] | None = None  # the runs of rows whose keys are read back

    def read_back_ranges(
        self, columns: list[str], written_cells: dict[int, ColumnCells]
    ) -> list[str]:
        """The ranges to read again in the write's own reply: the key cells of the rows
        written when they make few runs (a pass that changed a few accounts), else the whole
        key column; then the header row."""
        read = self.read
        letter = column_letter(columns.index(read.key_column))
        title = quote(read.title)
        written_rows = set().union(*(rows for rows, _ in written_cells.values()))
        self.runs = self.written_runs(written_rows)
        if self.runs is None:
            keys = [f"{title}!{letter}2:{letter}"]
        else:
            keys = [f"{title}!{letter}{first + 2}:{letter}{last + 2}" for first, last in self.runs]
        return [*keys, f"{title}!1:1"]

    def written_runs(self, rows: set[int]) -> list[tuple[int, int]] | None:
        """The runs of consecutive rows written, when checking their keys alone is cheaper
        than reading the whole key column (None otherwise)."""
        if not rows or len(rows) * 2 > len(self.read.key_cells):
            return None
        ordered = sorted(rows)
        blocks = row_blocks(ordered, len(ordered))  # runs of consecutive rows, uncut
        runs = [(ordered[start], ordered[end - 1]) for start, end in blocks]
        return runs if len(runs) <= KEY_CHECK_RANGES else None

    def first_look(self, read_back: ReadBack | None) -> tuple[bool, list[CellValue] | None]:
        """From what the write read back: whether the rows written still hold the keys the
        read saw there (or, the whole column read back, whether it is as read), or the whole
        key column as it is now; the header goes to `header_now`. (False, None) when
        nothing was read back."""
        asked = (len(self.runs) if self.runs is not None else 1) + 1
        if read_back is None or len(read_back.rows) != asked:
            return False, None
        *found, header = read_back.rows
        self.header_now = [cell_text(v).strip() for v in (header[0] if header else [])]
        cells = [typed.first_column(rows) for rows in found]
        seen = self.read.key_cells
        if self.runs is None:
            if read_back.typed:
                return False, cells[0]
            return cells[0] == without_blank_tail(seen), None
        held = all(
            now == without_blank_tail(seen[first : last + 1])
            for (first, last), now in zip(self.runs, cells, strict=True)
        )
        return held, None

    def put_right(
        self,
        plan: WritePlan,
        columns: list[str],
        written_cells: dict[int, ColumnCells],
        header_from: int | None = None,
        read_back: ReadBack | None = None,
    ) -> int:
        """Check the keys read back with the write (or read them now, when its reply has
        none); when rows moved meanwhile, rewrite the agent cells by key. How many cells
        were rewritten."""
        read = self.read
        letter = column_letter(columns.index(read.key_column))
        key_range = f"{quote(read.title)}!{letter}2:{letter}"
        expected = list(read.keys)
        # the key cells the read saw; Google leaves blank rows at the bottom out of a column
        seen = read.key_cells
        self.header_now = None
        held, column = self.first_look(read_back)
        plain = read_back is not None and not read_back.typed
        if plain and (not held or self.columns_moved(columns, written_cells)):
            # plain values disagree with the read (a date there comes back a number): not
            # trusted; the keys and the header are read again the way the pass read them
            self.header_now, held, column = None, False, None
        if self.header_now is None:  # nothing read back: read the keys now
            written_rows = set().union(*(rows for rows, _ in written_cells.values()))
            held = self.written_rows_hold_their_keys(letter, written_rows)
        if self.columns_moved(columns, written_cells):
            return self.restore_persons_cells(columns, written_cells, header_from, held)
        if held:
            return 0
        as_read = without_blank_tail(seen)
        wanted: dict[str, dict[int, Any]] | None = None
        written: dict[int, dict[int, CellValue]] | None = None  # row -> column -> value
        rewrites = 0
        for attempt in range(self.tries):
            if attempt == 0 and column is not None:
                cells = column  # read back with the write
            else:
                [cells] = self.key_cells([key_range]) or [[]]
                if attempt == 0 and self.columns_moved(columns, written_cells):
                    return self.restore_persons_cells(
                        columns, written_cells, header_from, rows_held=cells == as_read
                    )
            if attempt == 0 and cells == as_read:  # the very cells the read saw: none moved
                break
            now = key_text_list(cells)
            if without_blank_tail(now) == without_blank_tail(expected):
                break
            if wanted is None or written is None:
                wanted = wanted_by_key(read, plan, columns)
                written = by_row(written_cells)
            fix: dict[int, dict[int, CellValue]] = {}
            for i in range(max(len(now), len(expected))):
                key = now[i] if i < len(now) else ""
                if key == (expected[i] if i < len(expected) else ""):
                    continue
                if key in wanted:
                    fix[i] = dict(wanted[key])
                elif i in written:  # no account of ours here now: undo what landed on it
                    fix[i] = dict.fromkeys(written[i], "")
            fix = {i: row for i, row in fix.items() if row}
            if fix:
                log.info("Rows moved during the pass; rewriting %d rows by key", len(fix))
                self.send_values(column_ranges(read.title, by_column(fix)))
                rewrites += sum(len(cells) for cells in fix.values())
            expected, written = now, fix
        return rewrites

    def key_cells(self, ranges: list[str]) -> list[list[CellValue]]:
        """The key cells of these one-column ranges, read as the pass read the tab (with
        their number formats, `typed.py`: a date key is the same date both times); the
        header row comes in the same call (`header_now`)."""
        url = SPREADSHEET_URL % self.spreadsheet_id
        asked = [*ranges, f"{quote(self.read.title)}!1:1"]
        params: Params = {"ranges": asked, "fields": typed.KEY_FIELDS}
        answer = self.call(lambda c: typed.loads(c.request("get", url, params=params).content))
        found = typed.range_rows(answer, self.read.title)
        if len(found) == len(asked):
            header = found.pop()
            self.header_now = [cell_text(v).strip() for v in (header[0] if header else [])]
        return [typed.first_column(rows) for rows in found]

    def columns_moved(self, columns: list[str], written: dict[int, ColumnCells]) -> bool:
        """Whether a column was inserted, deleted or moved since the read, so that a column
        the agent wrote by letter may not be the one it meant (the header read with the
        keys: the read's part of it, and the letters written)."""
        header = self.header_now
        if header is None:
            return False
        width = self.read_width if self.read_width is not None else len(columns)
        letters = [*range(width), *written]
        return any((header[c] if c < len(header) else "") != columns[c] for c in letters)

    def restore_persons_cells(
        self,
        columns: list[str],
        written: dict[int, ColumnCells],
        header_from: int | None,
        rows_held: bool = False,
    ) -> int:
        """Undo the write: what the letters written held (the column now at each, as the
        read saw it; blank for a column inserted since, or an agent column new this pass),
        the agent's own columns wherever they are now, and the header cells the agent wrote
        (`header_from` on); in the same call. The agent's columns get the cells the write
        meant for them when that is sure (its columns all stood, the key column where it
        was and the rows written holding their keys: `rows_held`), else their cells as
        read, and the agent's cells land on the next pass. How many cells landed."""
        read = self.read
        width = self.read_width if self.read_width is not None else len(columns)
        header_now = self.header_now or []
        if header_from is not None and moved_after_the_write(header_now, columns, header_from):
            log.info("Columns moved after the write, its cells with them: nothing to put back")
            return 0
        trusted = header_from if header_from is not None else len(columns)
        where = now_at(header_now, columns, trusted)

        def as_read(at: int | None, rows: list[int]) -> list[CellValue]:
            return [
                typed.as_google_holds(read.rows[r][at])
                if at is not None and at < width and r < len(read.rows) and at < len(read.rows[r])
                else ""
                for r in rows
            ]

        # every letter written gets back what the column now there held; then the agent's
        # columns, wherever they are now, the cells meant for them, or as read (the shift
        # may have come after the write, the cells moving with their columns): rows whole
        cells: dict[int, dict[int, CellValue]] = {}  # letter -> row -> value
        for col, (rows, _) in written.items():
            at = where[col] if col < len(where) else None
            cells.setdefault(col, {}).update(zip(rows, as_read(at, rows), strict=True))
        now_of = {there: c for c, there in enumerate(where) if there is not None}
        key_at = columns.index(read.key_column)
        land = (
            rows_held
            and header_from is None
            and now_of.get(key_at) == key_at
            and all(col in now_of for col in written)
        )
        for col, (rows, values) in written.items():
            if col in now_of:
                meant = list(values) if land else as_read(col, rows)
                cells.setdefault(now_of[col], {}).update(zip(rows, meant, strict=True))
        back: dict[int, ColumnCells] = {
            letter: (sorted(by_row), [by_row[r] for r in sorted(by_row)])
            for letter, by_row in cells.items()
        }
        data = column_ranges(read.title, back)
        if header_from is not None:  # a read column's name the agent's header write hid
            for c in range(header_from, len(columns)):
                at = where[c]
                if at is not None and at < width:
                    a1 = f"{quote(read.title)}!{column_letter(c)}1"
                    data.append({"range": a1, "values": [[columns[at]]]})
        landed = sum(len(rows) for rows, _ in written.values()) if land else 0
        log.warning(
            "A column was inserted, deleted or moved during the pass: %d cells put back; %s",
            sum(len(rows) for rows, _ in back.values()) - landed,
            "the agent's cells written in its columns"
            if land
            else "the agent's cells go to its columns on the next pass",
        )
        if data:
            self.send_values(data)
        return landed

    def written_rows_hold_their_keys(self, letter: str, rows: set[int]) -> bool:
        """Whether the rows just written still hold the keys the read saw there: one read of
        those key cells only, when they make few runs of rows (a pass that changed a few
        accounts). Rows move whole, cells and all: only a cell written onto a row that
        another account took meanwhile can be wrong, so when these keys stand, none is.
        False also when the check would not be cheaper than reading the whole column."""
        seen = self.read.key_cells
        if not rows or len(rows) * 2 > len(seen):
            return False
        ordered = sorted(rows)
        blocks = row_blocks(ordered, len(ordered))  # runs of consecutive rows, uncut
        runs = [(ordered[start], ordered[end - 1]) for start, end in blocks]
        if len(runs) > KEY_CHECK_RANGES:
            return False
        title = quote(self.read.title)
        ranges = [f"{title}!{letter}{first + 2}:{letter}{last + 2}" for first, last in runs]
        if len(urllib.parse.quote(title)) * len(ranges) > KEY_CHECK_URL_CHARS:
            return False  # a long title, many times over: the column is the shorter ask
        found = self.key_cells(ranges)
        if len(found) != len(runs):
            return False
        for (first, last), cells in zip(runs, found, strict=True):
            if cells != without_blank_tail(seen[first : last + 1]):
                return False
        return True
