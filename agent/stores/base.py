"""The store interface: read a sheet's tabs, write back the agent's cells.

A store knows nothing about scoring. It hands out what the sheet shows (`Snapshot`)
and applies a `WritePlan` made by the pure core. Agent cells are addressed by the
account key, never by the row position seen at read time, so a CSM who sorts or
inserts rows during a pass never gets a score on the wrong account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import NamedTuple, Protocol, overload

from agent.cells import CellValue, each_distinct, key_text, key_text_list
from agent.cells import rows_by_key as rows_by_key  # re-exported for the google store


@dataclass
class Tab:
    """One tab as the sheet shows it: its header row, then its data rows (ragged allowed)."""

    title: str
    header: list[str]
    rows: list[list[CellValue]]


@dataclass
class Snapshot:
    """What one read of the sheet returns: the accounts tab and the history tab if any."""

    accounts: Tab
    history: Tab | None = None


class CellWrite(NamedTuple):
    """One agent cell to set, on every row whose key column holds `key`."""

    key: str
    column: str
    value: CellValue


# per agent column: the keys of the accounts whose cell changes, and their new values
CellColumns = dict[str, tuple[list[str], list[CellValue]]]


class CellChanges(Sequence[CellWrite]):
    """The agent cells that differ, as a pass plans them: column by column.

    Reads as a sequence of `CellWrite`; a store that writes many cells takes the columns
    as they are (`cells_by_column`) rather than one object per cell.
    """

    def __init__(self, columns: CellColumns | None = None) -> None:
        self.columns: CellColumns = columns or {}

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.columns.values())

    def __iter__(self) -> Iterator[CellWrite]:
        for column, (keys, values) in self.columns.items():
            for key, value in zip(keys, values, strict=True):
                yield CellWrite(key, column, value)

    @overload
    def __getitem__(self, index: int) -> CellWrite: ...
    @overload
    def __getitem__(self, index: slice) -> list[CellWrite]: ...
    def __getitem__(self, index: int | slice) -> CellWrite | list[CellWrite]:
        return list(self)[index]


class HistoryRows(Sequence[list[CellValue]]):
    """History rows as a pass plans them: column by column (week, date, key, score,
    status, points, model version), all of one length.

    Reads as a sequence of rows, made the first time one is asked for; a store that
    appends a week's first rows can write the columns as they are (`columns`).
    """

    def __init__(self, columns: list[list[CellValue]]) -> None:
        self.columns = columns
        self._rows: list[list[CellValue]] | None = None

    def rows(self) -> list[list[CellValue]]:
        if self._rows is None:
            self._rows = [list(row) for row in zip(*self.columns, strict=True)]
        return self._rows

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self) -> Iterator[list[CellValue]]:
        return iter(self.rows())

    @overload
    def __getitem__(self, index: int) -> list[CellValue]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[CellValue]]: ...
    def __getitem__(self, index: int | slice) -> list[CellValue] | list[list[CellValue]]:
        return self.rows()[index]


class DesiredCells(Mapping[str, dict[str, CellValue]]):
    """Every account's agent cells as a pass wants them, by key, kept column by column:
    the mapping by key is made only when a store asks for it (rows moved during a write)."""

    def __init__(self, keys: list[str], columns: dict[str, list[CellValue]]) -> None:
        self.keys_in_order = keys
        self.columns = columns
        self._at: dict[str, int] | None = None

    def _index(self) -> dict[str, int]:
        if self._at is None:  # a key on two rows: the last one's cells
            self._at = dict(zip(self.keys_in_order, range(len(self.keys_in_order)), strict=True))
        return self._at

    def __getitem__(self, key: str) -> dict[str, CellValue]:
        at = self._index()[key]
        return {column: values[at] for column, values in self.columns.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())


def cells_by_column(cells: Sequence[CellWrite]) -> CellColumns:
    """The cells grouped by column, in their order (a later cell for the same key and
    column wins, as it would written one after the other)."""
    if isinstance(cells, CellChanges):
        return cells.columns
    out: CellColumns = {}
    for key, column, value in cells:
        keys, values = out.setdefault(column, ([], []))
        keys.append(key)
        values.append(value)
    return out


@dataclass(frozen=True)
class StatusColours:
    """Status labels as written in the status column, one fill per colour."""

    green: str
    orange: str
    red: str


@dataclass(frozen=True)
class ScoreScale:
    """The score column's colour scale: red at `red`, orange at `orange`, green at `green`
    and above (the model's thresholds), shaded in between; a blank score stays blank."""

    red: float
    orange: float
    green: float


@dataclass(frozen=True)
class Formatting:
    """The formatting the agent owns: status colours, the score's colour scale, dropdowns,
    protected agent columns."""

    status_column: str
    status_labels: StatusColours
    score_column: str
    agent_columns: tuple[str, ...]
    dropdowns: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (input column, allowed labels)
    score_scale: ScoreScale | None = None


@dataclass
class WritePlan:
    """Everything one pass wants to change; empty means the store must not write at all.

    - `new_columns`: agent columns missing from the header, appended to its right.
    - `cells`: only the agent cells whose value differs from the snapshot.
    - `history_header`/`history_rows`: rows of the history tab to insert or replace,
      identified by (week, key): a row's first and third values. Rows whose week is
      older than `history_oldest_week` (an ISO week string like "2024-W07") are dropped.
    - `formatting`: what the agent's formatting should be; a store rewrites it only when
      the sheet's differs.
    """

    new_columns: list[str] = field(default_factory=list)
    cells: Sequence[CellWrite] = field(default_factory=list)
    history_header: list[str] = field(default_factory=list)
    history_rows: Sequence[list[CellValue]] = field(default_factory=list)
    history_oldest_week: str | None = None
    formatting: Formatting | None = None
    # every account's wanted agent cells, by key: lets a store put right the rows a CSM
    # moved during the pass, including accounts whose cells did not change
    desired: Mapping[str, Mapping[str, CellValue]] | None = None

    def is_empty(self) -> bool:
        return not (self.new_columns or self.cells or self.history_rows or self.history_oldest_week)


@dataclass
class WriteReport:
    """What a store did: how many cells and history rows it wrote, and if it touched formats."""

    cells_written: int = 0
    history_rows_written: int = 0
    formatting_written: bool = False
    columns_added: int = 0
    rewrites: int = 0  # cells rewritten because rows moved during the pass

    @property
    def wrote_anything(self) -> bool:
        return bool(
            self.cells_written
            or self.history_rows_written
            or self.formatting_written
            or self.columns_added
        )


class Store(Protocol):
    """A place where the accounts sheet lives."""

    def read(self) -> Snapshot:
        """Return the accounts tab and the history tab (None when it does not exist yet).

        The rows may be the ones the store keeps for its next write: read them, do not
        change them."""
        ...

    def write(self, plan: WritePlan) -> WriteReport:
        """Apply the plan; write nothing when the plan is empty and formatting is current."""
        ...

    def location(self) -> str:
        """A link or path a person can open to see the sheet."""
        ...


# --- pure helpers shared by the local stores -------------------------------------------


def tab_named(titles: Iterable[str], wanted: str | None) -> str | None:
    """The tab a configured name means: the tab of that exact title, else the one whose
    title differs only in case. Google Sheets and Excel hold tab names unique ignoring case
    (a second "historique" beside "Historique" is refused), so there is at most one."""
    if wanted is None:
        return None
    titles = list(titles)
    if wanted in titles:
        return wanted
    return next((t for t in titles if t.casefold() == wanted.casefold()), None)


@dataclass
class HistoryMerge:
    """The history tab after a plan, and where it changed."""

    header: list[str]
    rows: list[list[CellValue]]
    written: int  # rows inserted, replaced or dropped
    touched: set[int]  # positions in `rows` of the rows inserted or replaced
    first_dropped: int | None  # position of the first dropped row: rows from there moved up


def merge_history(header: list[str], rows: list[list[CellValue]], plan: WritePlan) -> HistoryMerge:
    """The history tab after the plan: rows upserted by (week, key), old weeks dropped.

    Keeps the order: existing rows stay where they were (moving up past dropped ones),
    new ones go at the end.
    """
    new_header = plan.history_header or header
    weeks = each_distinct([row[0] if row else "" for row in rows], key_text)  # a few weeks
    keys = key_text_list([row[2] if len(row) >= 3 else "" for row in rows])
    oldest = plan.history_oldest_week
    kept = rows
    first_dropped: int | None = None
    written = 0
    if oldest and any(week and week < oldest for week in weeks):
        keep = [not (week and week < oldest) for week in weeks]
        first_dropped = keep.index(False)
        written = keep.count(False)  # a dropped row is a change too
        kept, weeks, keys = (list(compress(c, keep)) for c in (rows, weeks, keys))
    kept = list(kept)  # old rows are never changed: a replaced row gets a new list
    new_rows = plan.history_rows
    new_weeks = each_distinct([row[0] for row in new_rows], key_text)
    new_keys = key_text_list([row[2] for row in new_rows])
    # (week, key) -> position, for the keys the plan writes (the last row wins); rows too
    # short to hold a key are kept but never matched
    wanted = set(new_keys)
    index = {
        (week, key): i
        for i, (week, key, row) in enumerate(zip(weeks, keys, kept, strict=True))
        if key in wanted and len(row) >= 3
    }
    touched: set[int] = set()
    if not index and len(set(zip(new_weeks, new_keys, strict=True))) == len(new_rows):
        # every row is new, once (a week's first pass): all appended at once
        touched.update(range(len(kept), len(kept) + len(new_rows)))
        kept.extend(list(row) for row in new_rows)
        return HistoryMerge(new_header, kept, written + len(new_rows), touched, first_dropped)
    for week, key, row in zip(new_weeks, new_keys, new_rows, strict=True):
        ident = (week, key)
        position = index.get(ident)
        if position is None:
            index[ident] = position = len(kept)
            kept.append(list(row))
        elif kept[position] != list(row):
            kept[position] = list(row)
        else:
            continue
        touched.add(position)
        written += 1
    return HistoryMerge(new_header, kept, written, touched, first_dropped)
