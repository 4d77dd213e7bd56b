"""The write plan: what a pass asks a store to change, and how it is planned.

`plan_writes` compares the sheet as read with what the pass wants and keeps only what
differs; a store applies the plan it is given (`history_merge.merge_history` is how every
store applies its history rows). Pure: frames and plain objects in, a plan out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import pandas as pd

from agent.cells import (
    CellValue,
    key_is_storable,
)
from agent.config import Config
from agent.history_look import history_widths, week_label
from agent.labels import AGENT_NOTE, OWNER_VIEW, STATUS_LABELS, WRAPPED_WIDTH
from agent.model_note import last_model, model_cell

if TYPE_CHECKING:  # a type only: stores/base imports this module
    from agent.stores.base import Snapshot

# --- what a pass asks a store to write -----------------------------------------------


class CellWrite(NamedTuple):
    """One agent cell to set, on every row whose key column holds `key`."""

    key: str
    column: str
    value: CellValue


# per agent column: the keys of the accounts whose cell changes, and their new values
WritesByColumn = dict[str, tuple[list[str], list[CellValue]]]


class CellWrites(Sequence[CellWrite]):
    """The agent cells that differ, as a pass plans them: column by column.

    Reads as a sequence of `CellWrite`; a store that writes many cells takes the columns
    as they are (`cells_by_column`) rather than one object per cell.
    """

    def __init__(self, columns: WritesByColumn | None = None) -> None:
        self.columns: WritesByColumn = columns or {}

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


def cells_by_column(cells: Sequence[CellWrite]) -> WritesByColumn:
    """The cells grouped by column, in their order (a later cell for the same key and
    column wins, as it would written one after the other)."""
    if isinstance(cells, CellWrites):
        return cells.columns
    out: WritesByColumn = {}
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
    """The score column's colours, the status's own: green from `green` up, orange from
    `orange`, red below (the model's thresholds, as `Model.status_codes` reads them); no
    blend between them, and a blank score stays blank. `red` is the lowest score."""

    red: float
    orange: float
    green: float


@dataclass(frozen=True)
class Formatting:
    """The formatting the agent owns: status colours, the score's colours, dropdowns,
    protected agent columns."""

    status_column: str
    status_labels: StatusColours
    score_column: str
    agent_columns: tuple[str, ...]
    dropdowns: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (input column, allowed labels)
    score_scale: ScoreScale | None = None
    key_column: str | None = None  # frozen with the header, so an answer keeps its account
    wrapped: tuple[tuple[str, int], ...] = ()  # (agent column, width in pixels): text wraps
    agent_note: str = ""  # the note on each agent column's header: the agent writes it
    owner_column: str | None = None
    owner_views: str = ""  # a filter view per owner, titled so ("Comptes de {owner}")
    history_widths: tuple[int, ...] = ()  # the history tab's columns, in pixels


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
    # "Scores du 07/12 à 09:41 · prochain passage 09:51": on the score's header, written
    # only with the rest of a plan that is not empty (an unchanged pass writes nothing)
    freshness: str = ""
    owners: tuple[str, ...] = ()  # the owners found on rows with a key: a view each

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
    note: str = ""  # why nothing was written though something changed (a person has the file)

    @property
    def wrote_anything(self) -> bool:
        return bool(
            self.cells_written
            or self.history_rows_written
            or self.formatting_written
            or self.columns_added
        )


# --- planning ------------------------------------------------------------------------


def formatting_for(config: Config) -> Formatting:
    """The formatting the agent wants on the sheet: status colours, the score's colour scale
    (the model's thresholds) and input dropdowns."""
    labels = STATUS_LABELS[config.language]
    out = config.output
    model = config.model
    dropdowns = [(c.column, tuple(c.labels_by_points())) for c in model.criteria if c.points]
    if config.sheet.override_column:  # the CSM's judgement: one of the status labels
        dropdowns.append((config.sheet.override_column, tuple(labels.values())))
    return Formatting(
        status_column=out.status,
        status_labels=StatusColours(labels["green"], labels["orange"], labels["red"]),
        score_column=out.score,
        agent_columns=out.all(),
        dropdowns=tuple(dropdowns),
        score_scale=ScoreScale(0.0, float(model.orange), float(model.green)),
        key_column=config.sheet.key_column,
        wrapped=((out.why, WRAPPED_WIDTH), (out.next_action, WRAPPED_WIDTH)),
        agent_note=AGENT_NOTE.get(config.language, AGENT_NOTE["en"]),
        owner_column=config.sheet.owner_column or None,
        owner_views=OWNER_VIEW.get(config.language, OWNER_VIEW["en"]),
    )


def score_cells(values: Any) -> list[int | float | None]:
    """Score cells for a whole column: whole numbers as int, others as float, NaN as None.

    Each distinct number is converted once: a column of points or rounded scores holds a
    few dozen, whatever its length.
    """
    shown = np.asarray(values, dtype=float)
    codes, distinct = pd.factorize(shown)  # NaN: code -1
    if len(distinct) * 2 > len(shown):  # mostly distinct: each is converted anyway
        return _each_score_cell(shown)
    table = np.empty(len(distinct) + 1, dtype=object)
    table[:-1] = _each_score_cell(distinct)
    table[-1] = None  # where codes say -1
    return list(table[codes].tolist())


def _each_score_cell(shown: np.ndarray) -> list[int | float | None]:
    """score_cells, one number at a time."""
    with np.errstate(invalid="ignore"):
        whole = (np.isfinite(shown) & (shown == np.floor(shown))).tolist()
    blank = np.isnan(shown).tolist()
    return [
        None if b else (int(v) if w else v)
        for v, w, b in zip(shown.tolist(), whole, blank, strict=True)
    ]


_NO_TEXT = np.array(None, dtype=object)  # a blank cell, spread over a column by np.where


def texts_or_none(series: pd.Series) -> np.ndarray:
    """A column's texts, None for an empty one (and for anything not a text)."""
    values = series.to_numpy(dtype=object)
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA:
        # pandas' own text columns (a pass's): texts or NaN, so no test per cell
        return np.where(series.isna().to_numpy() | (values == ""), _NO_TEXT, values)
    return np.array([v if isinstance(v, str) and v else None for v in values], dtype=object)


def _blank(values: np.ndarray) -> np.ndarray:
    """Where a cell is empty: None, NaN or the empty text."""
    return np.asarray(pd.isna(values) | (values == ""), dtype=bool)


def _changed_text(current: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where a text cell differs from the wanted text (a blank equals None)."""
    equal = current == wanted
    return ~(equal | (_blank(current) & _blank(wanted)))


def _changed_number(current: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where a score cell differs from the wanted number (6 == "6" == 6.0)."""
    now = pd.to_numeric(pd.Series(current, dtype=object), errors="coerce").to_numpy(float)
    both_blank = np.isnan(wanted) & _blank(current)
    with np.errstate(invalid="ignore"):
        close = np.isclose(now, wanted, rtol=0, atol=1e-9)
    return ~(close | both_blank)


def plan_writes(
    snapshot: Snapshot,
    accounts: pd.DataFrame,
    config: Config,
    *,
    week: str,
    today: dt.date,
    raw: pd.DataFrame,
    history: pd.DataFrame,
    history_header: list[str],
    oldest_week: str,
) -> WritePlan:
    """Only what differs: missing agent columns, changed agent cells, changed history rows.

    Vectorised: the comparisons run over whole columns, and Python objects are built only
    for the cells and history rows that change. `raw` is the accounts tab as a frame
    (`accounts_frame`), where the agent's cells are read as they are now; `history` the
    history tab as a frame (`history_frame`), `history_header` the header it should have,
    and rows of a week before `oldest_week` are dropped.
    """
    out = config.output
    header = snapshot.accounts.header
    override = bool(config.sheet.override_column)
    formatting = formatting_for(config)
    formatting = replace(formatting, history_widths=history_widths(history_header, override))
    plan = WritePlan(formatting=formatting)
    plan.new_columns = [c for c in out.all() if c not in header]
    keyed = ~accounts["skipped"].to_numpy(dtype=bool)  # the rows with a key
    keys = accounts["key"].to_numpy(dtype=object)
    shown = accounts["shown"].to_numpy(dtype=float)
    wanted = _wanted_cells(accounts, config)
    storable = _flag_unstorable_keys(keys, keyed, wanted[out.why], config.language)
    if "owner" in accounts:
        plan.owners = tuple(sorted({o for o in accounts["owner"][keyed].tolist() if o}))
    plan.cells = CellWrites(_changed_cells(wanted, accounts, raw, header, out.score, keyed))
    plan.desired = DesiredCells(
        keys[keyed].tolist(), {column: values[keyed].tolist() for column, values in wanted.items()}
    )

    # history: this week's row per scored account, replaced only when it differs
    with_score = keyed & ~accounts["duplicate"].to_numpy(dtype=bool) & ~np.isnan(shown)
    with_score &= ~churned_by(accounts, today)  # what the score said before they left stays
    with_score &= storable
    scored = accounts if with_score.all() else accounts[with_score]  # the usual: no copy
    plan.history_rows = _history_rows(scored, history, config, week, today)
    if plan.history_rows or snapshot.history is None or snapshot.history.header != history_header:
        plan.history_header = history_header
    if len(history) and (history["week"] < oldest_week).any():
        plan.history_oldest_week = oldest_week
    return plan


def churned_by(accounts: pd.DataFrame, today: dt.date) -> np.ndarray:
    """Where an account left on or before `today` (its `churned` day, when the pass read
    one): the history keeps its last rows as they were, never rewritten."""
    if "churned" not in accounts:
        return np.zeros(len(accounts), dtype=bool)
    days = accounts["churned"].tolist()
    return np.array([isinstance(d, dt.date) and d <= today for d in days], dtype=bool)


UNSTORABLE_KEY = {
    "fr": "Clé trop longue (plus de 50 000 caractères) ou avec un caractère invalide : "
    "pas d'historique pour ce compte",
    "en": "Key too long (over 50,000 characters) or holding an invalid character: "
    "no history for this account",
}


def _flag_unstorable_keys(
    keys: np.ndarray, keyed: np.ndarray, why: np.ndarray, language: str
) -> np.ndarray:
    """Which rows' keys can go into the history tab; the others get a word in their "why"
    (in place), so one cell never stops the history of every account."""
    storable = np.array([key_is_storable(k) if k else True for k in keys.tolist()], dtype=bool)
    if storable.all():
        return storable
    note = UNSTORABLE_KEY.get(language, UNSTORABLE_KEY["en"])
    for i in np.flatnonzero(~storable & keyed):
        why[i] = f"{note} · {why[i]}" if why[i] else note
    return storable


def _wanted_cells(accounts: pd.DataFrame, config: Config) -> dict[str, np.ndarray]:
    """Every account's agent cells as the pass wants them, column by column."""
    out = config.output
    scores = np.empty(len(accounts), dtype=object)
    scores[:] = score_cells(accounts["shown"].to_numpy(dtype=float))
    why = texts_or_none(accounts["why"])
    next_actions = texts_or_none(accounts["next_action"])
    wanted = {
        out.score: scores,
        out.status: texts_or_none(accounts["status_label"]),
        out.why: why,
        out.next_action: next_actions,
    }
    if out.trend:  # a frame scored without one (a test's) gets a blank column
        trend = accounts["trend"] if "trend" in accounts else pd.Series([""] * len(accounts))
        wanted[out.trend] = texts_or_none(trend)
    return wanted


def _changed_cells(
    wanted: dict[str, np.ndarray],
    accounts: pd.DataFrame,
    raw: pd.DataFrame,
    header: list[str],
    score_column: str,
    keyed: np.ndarray,
) -> WritesByColumn:
    """The wanted cells that differ from the sheet's, by column: keys and new values."""
    keys = accounts["key"].to_numpy(dtype=object)
    shown = accounts["shown"].to_numpy(dtype=float)
    changes: WritesByColumn = {}
    # a key on two rows: its cell is the last row's value (both rows get it); without
    # such keys, the cells go as they are, and columns changing the same rows share keys
    keys_on_two_rows = bool(accounts["duplicate"].to_numpy(dtype=bool).any())
    shared: tuple[np.ndarray, list[str]] = (np.empty(0, dtype=np.intp), [])
    for column, values in wanted.items():
        if column not in header:  # a new column: every cell with something in it
            differs = ~np.isnan(shown) if column == score_column else pd.notna(values)
        elif column == score_column:  # its first column of that name
            differs = _changed_number(raw[column].to_numpy(dtype=object), shown)
        else:
            differs = _changed_text(raw[column].to_numpy(dtype=object), values)
        where = np.flatnonzero(differs & keyed)
        if not len(where):
            continue
        if keys_on_two_rows:
            last = dict(zip(keys[where].tolist(), values[where].tolist(), strict=True))
            changes[column] = (list(last), list(last.values()))
            continue
        if not np.array_equal(where, shared[0]):
            shared = (where, keys[where].tolist())
        changes[column] = (shared[1], values[where].tolist())
    return changes


def _code(value: Any) -> str | None:
    """An override's status code as a frame holds it (None, or NaN where no row was)."""
    return value if isinstance(value, str) else None


def _history_rows(
    scored: pd.DataFrame, history: pd.DataFrame, config: Config, week: str, today: dt.date
) -> HistoryRows:
    """This week's history row of each scored account whose row differs from the tab's:
    its week as the team reads it ("S49 2026"), its model in words."""
    model = config.model
    version = model.version()
    ids = [c.id for c in model.criteria]
    overrides: list[Any] | None = None
    if "computed_status" in scored:  # an override sets the sheet's status, not the history's
        overrides = [  # the override's label, kept in a column of its own
            label if _code(code) else None
            for code, label in zip(
                scored["override"].tolist(), scored["status_label"].tolist(), strict=True
            )
        ]
        scored = scored.assign(
            status=scored["computed_status"], status_label=scored["computed_status_label"]
        )
    this_week = history[history["week"] == week].drop_duplicates("key", keep="last")
    if len(this_week):
        old = this_week.set_index("key").reindex(scored["key"])
        differs = ~np.isclose(
            old["score"].to_numpy(float), scored["shown"].to_numpy(float), rtol=0, atol=1e-9
        )
        differs |= old["status"].to_numpy(dtype=object) != scored["status"].to_numpy(dtype=object)
        differs |= old["model_version"].to_numpy(dtype=object) != version
        for cid in ids:
            before = old[f"points.{cid}"].to_numpy(float)
            after = scored[f"points.{cid}"].to_numpy(float)
            same = np.isclose(before, after, rtol=0, atol=1e-9) | (
                np.isnan(before) & np.isnan(after)
            )
            differs |= ~same
        if overrides is not None:
            was = old["override"].tolist() if "override" in old else [None] * len(scored)
            now = scored["override"].tolist()
            differs |= np.array(
                [_code(a) != _code(b) for a, b in zip(was, now, strict=True)], dtype=bool
            )
        changed = scored if differs.all() else scored[differs]
    else:  # the week's first pass: a row for every scored account
        changed = scored
    day = today.isoformat()
    columns: list[list[Any]] = [
        changed["key"].tolist(),
        score_cells(changed["shown"]),
        changed["status_label"].tolist(),
        *(score_cells(changed[f"points.{cid}"]) for cid in ids),
    ]
    count = len(changed)
    extra: list[list[Any]] = []
    if overrides is not None:  # the override's label, after the model's column
        at = scored.index.get_indexer(changed.index)
        extra.append([overrides[i] for i in at.tolist()])
    shown_week = week_label(week, config.language)
    # the model's words, after what changed since the last week's rows (when any row goes)
    last_week_model = last_model(history, week) if count else ""
    model_words = model_cell(model, config.language, last_week_model)
    return HistoryRows(
        [[shown_week] * count, [day] * count, *columns, [model_words] * count, *extra]
    )
