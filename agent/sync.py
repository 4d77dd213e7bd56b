"""One sync pass: read the sheet, score, choose next actions, plan the writes, write.

    store.read() -> score_accounts() -> choose next actions -> plan_writes() -> store.write()

Everything between the read and the write is pure; the clock comes in as `now`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import gc
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from agent.config import Config
from agent.errors import SheetError
from agent.history import account_trends, history_frame, history_header, iso_week, shift_week
from agent.labels import STATUS_LABELS
from agent.playbooks import ContextColumns
from agent.scoring import (
    Model,
    cell_text,
    each_distinct,
    parse_date,
    score_accounts,
)
from agent.stores.base import (
    CellChanges,
    CellColumns,
    DesiredCells,
    Formatting,
    HistoryRows,
    ScoreScale,
    Snapshot,
    StatusColours,
    Store,
    Tab,
    WritePlan,
    WriteReport,
    key_text,
)

log = logging.getLogger("agent.sync")
CRITERIA_NAMES = ("criteria", "zeros", "ones", "maxed", "missing")


class NextActions(Protocol):
    """What a pass needs from the playbooks: one action per account context."""

    def choose(self, contexts: ContextColumns) -> Any: ...


@dataclass
class PassResult:
    """What one pass saw, decided and did."""

    accounts: pd.DataFrame  # one row per scored account: key, owner, segment, score, ...
    plan: WritePlan
    report: WriteReport
    history: pd.DataFrame
    week: str
    playbook_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    raw: pd.DataFrame | None = None  # the accounts' cells, row for row with `accounts`

    def summary(self) -> dict[str, Any]:
        scored = self.accounts
        counts = Counter(s for s in scored["status"] if isinstance(s, str))
        return {
            "week": self.week,
            "rows": int(len(scored)),
            "green": counts.get("green", 0),
            "orange": counts.get("orange", 0),
            "red": counts.get("red", 0),
            "not_scored": int(scored["status"].isna().sum()),
            "duplicates": int(scored["duplicate"].sum()),
            "cells_changed": len(self.plan.cells),
            "cells_written": self.report.cells_written,
            "history_rows_written": self.report.history_rows_written,
            "columns_added": self.report.columns_added,
            "formatting_written": self.report.formatting_written,
            "playbook_failures": self.playbook_failures,
            "seconds": round(self.seconds, 3),
        }


def accounts_frame(tab: Tab) -> pd.DataFrame:
    """The accounts tab as a DataFrame of raw cells, one column per header, rows padded."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, name in enumerate(tab.header):
        base = name or f"#{i + 1}"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    width = len(names)
    if not tab.rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    lengths = set(map(len, tab.rows))
    if len(lengths) == 1 and (length := lengths.pop()) <= width:
        # rows of one length (Google leaves out blank cells at a row's end; here every row
        # ends the same): no padded copy of each row, blank columns added whole
        frame = pd.DataFrame(tab.rows, columns=names[:length], dtype=object)
        for name in names[length:]:
            frame[name] = None
        return frame
    rows = [
        r if len(r) == width else (r[:width] if len(r) > width else r + [None] * (width - len(r)))
        for r in tab.rows
    ]
    return pd.DataFrame(rows, columns=names, dtype=object)


def check_columns(tab: Tab, config: Config) -> None:
    """Fail with a sentence naming every input column the model needs but the sheet lacks."""
    header = set(tab.header)
    wanted = [("sheet.key_column", config.sheet.key_column)]
    wanted += [(f"criterion {c.id}", c.column) for c in config.model.criteria]
    if config.sheet.owner_column:
        wanted.append(("sheet.owner_column", config.sheet.owner_column))
    missing = []
    for where, column in wanted:
        if column not in header:
            close = difflib.get_close_matches(column, list(header), n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            missing.append(f'"{column}" ({where}){hint}')
    if missing:
        raise SheetError(
            f'Tab "{tab.title}" lacks the column(s) {", ".join(missing)}. Add them to the '
            f"header row, or fix the names in the config. Header found: {', '.join(tab.header)}."
        )


def formatting_for(config: Config) -> Formatting:
    """The formatting the agent wants on the sheet: status colours, the score's colour scale
    (the model's thresholds) and input dropdowns."""
    labels = STATUS_LABELS[config.language]
    out = config.output
    model = config.model
    return Formatting(
        status_column=out.status,
        status_labels=StatusColours(labels["green"], labels["orange"], labels["red"]),
        score_column=out.score,
        agent_columns=out.all(),
        dropdowns=tuple(
            (c.column, tuple(c.labels_by_points())) for c in config.model.criteria if c.points
        ),
        score_scale=ScoreScale(0.0, float(model.orange), float(model.green)),
    )


def _score_cells(values: Any) -> list[int | float | None]:
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
    """_score_cells, one number at a time."""
    with np.errstate(invalid="ignore"):
        whole = (np.isfinite(shown) & (shown == np.floor(shown))).tolist()
    blank = np.isnan(shown).tolist()
    return [
        None if b else (int(v) if w else v)
        for v, w, b in zip(shown.tolist(), whole, blank, strict=True)
    ]


def account_contexts(
    accounts: pd.DataFrame,
    raw: pd.DataFrame,
    model: Model,
    config: Config,
    trends: dict[str, Any],
    today: dt.date,
    names: frozenset[str] | None = None,
) -> ContextColumns:
    """The names a playbook sees for each account (SPEC §7), built column by column.

    With `names` (the names the playbooks read), only those are built; without, all.
    """
    n = len(accounts)
    keys = accounts["key"].tolist()

    def read(*wanted: str) -> bool:
        return names is None or any(name in names for name in wanted)

    columns: dict[str, Sequence[Any]] = {"key": keys}  # the key always: `choose` reads it
    if read("owner"):
        columns["owner"] = accounts["owner"].tolist()
    if read("segment"):
        columns["segment"] = accounts["segment"].tolist()
    if read("score"):
        columns["score"] = [None if s != s else float(s) for s in accounts["shown"].tolist()]
    if read("scale"):
        columns["scale"] = [model.scale] * n
    if read("status", "status_label"):
        statuses = [s if isinstance(s, str) else None for s in accounts["status"].tolist()]
        columns["status"] = statuses
        if read("status_label"):
            labels = STATUS_LABELS[config.language]
            columns["status_label"] = [labels.get(code or "", "") for code in statuses]
    if read("language"):
        columns["language"] = [config.language] * n
    if read("row"):
        columns["row"] = raw.to_dict("records")
    stand_ins: dict[str, Sequence[int]] = {}
    criteria_names = [name for name in CRITERIA_NAMES if read(name)]
    if criteria_names:
        lists, profiles = _criteria_columns(accounts, raw, model, criteria_names)
        columns.update(lists)
        stand_ins = dict.fromkeys(criteria_names, profiles)
    if read("delta_4w", "weeks_at_max", "weeks"):
        found = [trends.get(key) for key in keys]
        if read("delta_4w"):
            columns["delta_4w"] = [t.delta_4w if t else None for t in found]
        if read("weeks_at_max"):
            columns["weeks_at_max"] = [t.weeks_at_max if t else 0 for t in found]
        if read("weeks"):
            columns["weeks"] = [t.weeks if t else [] for t in found]
    if read("days_to_renewal"):
        renewal = config.sheet.renewal_column

        def days_to(value: Any) -> int | None:
            day = parse_date(value)
            return None if day is None else (day - today).days

        columns["days_to_renewal"] = (
            each_distinct(raw[renewal].tolist(), days_to, blank=None)
            if renewal and renewal in raw
            else [None] * n
        )
    return ContextColumns(columns, n, stand_ins=stand_ins)


def _criteria_columns(
    accounts: pd.DataFrame,
    raw: pd.DataFrame,
    model: Model,
    wanted: Sequence[str] = CRITERIA_NAMES,
) -> tuple[dict[str, list[Any]], list[int]]:
    """`criteria`, `zeros`, `ones`, `maxed` and `missing` (those `wanted`) for each
    account, and each account's profile: a number shared by the accounts with the same
    points and values.

    Those accounts share the same lists: built once per profile (scoring's, found from
    integer codes, not row by row), and a playbook's result for one holds for the others.
    """
    n = len(accounts)
    points = [accounts[f"points.{c.id}"].to_numpy(dtype=float) for c in model.criteria]
    cells = [raw.get(c.column) for c in model.criteria]  # a Series, or None: no column
    # scoring's profiles (cells that read alike, so the same points), numbered from 0 for
    # these accounts
    profiles = np.asarray(pd.factorize(accounts["profile"].to_numpy())[0], dtype=np.int64)
    count = int(profiles.max()) + 1 if n else 0
    first_row = np.full(count, -1, dtype=np.int64)
    first_row[profiles[::-1]] = np.arange(n)[::-1]
    made: list[tuple[list[dict[str, Any]], ...]] = []
    for row in first_row.tolist():  # each distinct profile once
        criteria: list[dict[str, Any]] = []
        for j, c in enumerate(model.criteria):
            value = cells[j]
            shown = points[j][row]
            criteria.append(
                {
                    "id": c.id,
                    "label": c.label,
                    "max": c.max_points,
                    "points": None if shown != shown else float(shown),
                    "value": cell_text(value.iat[row]) if value is not None else "",
                }
            )
        made.append(
            (
                criteria,
                [c for c in criteria if c["points"] == 0],
                [c for c in criteria if c["points"] == 1],
                [c for c in criteria if c["points"] is not None and c["points"] >= c["max"]],
                [c for c in criteria if c["points"] is None],
            )
        )
    out = {}
    for k, name in enumerate(CRITERIA_NAMES):
        if name not in wanted:
            continue
        lists = np.empty(count, dtype=object)
        for at, profile in enumerate(made):
            lists[at] = profile[k]
        out[name] = lists[profiles].tolist()
    return out, profiles.tolist()


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
    history: pd.DataFrame | None = None,
) -> WritePlan:
    """Only what differs: missing agent columns, changed agent cells, changed history rows.

    Vectorised: the comparisons run over whole columns, and Python objects are built only
    for the cells and history rows that change. `raw` is the accounts tab as a frame
    (`accounts_frame`), where the agent's cells are read as they are now.
    """
    out = config.output
    header = snapshot.accounts.header
    plan = WritePlan(formatting=formatting_for(config))
    plan.new_columns = [c for c in out.all() if c not in header]
    n = len(accounts)
    live = ~accounts["skipped"].to_numpy(dtype=bool)
    keys = accounts["key"].to_numpy(dtype=object)
    shown = accounts["shown"].to_numpy(dtype=float)
    score_cells = np.empty(n, dtype=object)
    score_cells[:] = _score_cells(shown)

    wanted = {
        out.score: score_cells,
        out.status: texts_or_none(accounts["status_label"]),
        out.why: texts_or_none(accounts["why"]),
        out.next_action: texts_or_none(accounts["next_action"]),
    }
    changes: CellColumns = {}
    # a key on two rows: its cell is the last row's value (both rows get it); without
    # such keys, the cells go as they are, and columns changing the same rows share keys
    keys_on_two_rows = bool(accounts["duplicate"].to_numpy(dtype=bool).any())
    shared: tuple[np.ndarray, list[str]] = (np.empty(0, dtype=np.intp), [])
    for column, values in wanted.items():
        if column not in header:  # a new column: every cell with something in it
            differs = ~np.isnan(shown) if column == out.score else pd.notna(values)
        elif column == out.score:  # its first column of that name
            differs = _changed_number(raw[column].to_numpy(dtype=object), shown)
        else:
            differs = _changed_text(raw[column].to_numpy(dtype=object), values)
        where = np.flatnonzero(differs & live)
        if not len(where):
            continue
        if keys_on_two_rows:
            last = dict(zip(keys[where].tolist(), values[where].tolist(), strict=True))
            changes[column] = (list(last), list(last.values()))
            continue
        if not np.array_equal(where, shared[0]):
            shared = (where, keys[where].tolist())
        changes[column] = (shared[1], values[where].tolist())
    plan.cells = CellChanges(changes)
    plan.desired = DesiredCells(
        keys[live].tolist(), {column: values[live].tolist() for column, values in wanted.items()}
    )

    # history: this week's row per scored account, replaced only when it differs
    model = config.model
    h_header = history_header(model, config.sheet.key_column, config.language)
    version = model.version()
    ids = [c.id for c in model.criteria]
    with_score = live & ~accounts["duplicate"].to_numpy(dtype=bool) & ~np.isnan(shown)
    scored = accounts if with_score.all() else accounts[with_score]  # the usual: no copy
    if history is None:
        history = history_frame(snapshot.history, model)
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
        changed = scored if differs.all() else scored[differs]
    else:  # the week's first pass: a row for every scored account
        changed = scored
    day = today.isoformat()
    columns: list[list[Any]] = [
        changed["key"].tolist(),
        _score_cells(changed["shown"]),
        changed["status_label"].tolist(),
        *(_score_cells(changed[f"points.{cid}"]) for cid in ids),
    ]
    count = len(changed)
    plan.history_rows = HistoryRows([[week] * count, [day] * count, *columns, [version] * count])
    if plan.history_rows or snapshot.history is None or snapshot.history.header != h_header:
        plan.history_header = h_header
    oldest = shift_week(week, -config.sheet.history_keep_weeks)
    if len(history) and (history["week"] < oldest).any():
        plan.history_oldest_week = oldest
    return plan


@dataclass
class Scored:
    """A read sheet, scored: what next actions are chosen from and writes planned from."""

    snapshot: Snapshot
    raw: pd.DataFrame
    scored: pd.DataFrame
    history: pd.DataFrame
    trends: dict[str, Any]
    week: str
    today: dt.date

    @functools.cached_property
    def live(self) -> pd.DataFrame:
        """The accounts that get a next action: a key, no duplicate, a status (worked out
        once: the pass and the contexts both ask)."""
        s = self.scored
        live = ~s["skipped"] & ~s["duplicate"] & s["status"].notna()
        return s if live.all() else s[live]  # every row (the usual sheet): no copy

    def contexts(self, config: Config, names: frozenset[str] | None = None) -> ContextColumns:
        live = self.live
        raw = self.raw if len(live) == len(self.raw) else self.raw.loc[live.index]  # no copy
        return account_contexts(live, raw, config.model, config, self.trends, self.today, names)


def score_sheet(snapshot: Snapshot, config: Config, now: dt.datetime) -> Scored:
    """Score a read sheet and read its history: everything a pass decides from."""
    check_columns(snapshot.accounts, config)
    today = now.date()
    week = iso_week(today)
    raw = accounts_frame(snapshot.accounts)
    model = config.model
    scored = score_accounts(
        raw, model, key_column=config.sheet.key_column, language=config.language, today=today
    )

    def column_text(name: str | None) -> Sequence[str]:
        if not name or name not in raw:
            return [""] * len(raw)
        return each_distinct(raw[name].tolist(), key_text)  # a team has few owners, segments

    scored["owner"] = column_text(config.sheet.owner_column)
    scored["segment"] = column_text(config.sheet.segment_column)
    history = history_frame(snapshot.history, model)
    trends = account_trends(history, scored, week=week, scale=model.scale)
    scored["next_action"] = ""
    return Scored(snapshot, raw, scored, history, trends, week, today)


def pass_contexts(store: Store, config: Config, *, now: dt.datetime) -> list[dict[str, Any]]:
    """The playbook contexts of the sheet as it is now (for `playbooks check`)."""
    return score_sheet(store.read(), config, now).contexts(config).records()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cycle collector off for the length of a pass.

    A pass over a big sheet makes millions of short-lived lists and dicts; each burst
    of them makes the collector walk every object alive (the whole sheet) again and
    again, for nothing: they are freed by reference counting, not by the collector. It
    runs again as usual once the pass is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_pass(
    store: Store,
    config: Config,
    *,
    now: dt.datetime,
    next_actions: NextActions | None = None,
    dry_run: bool = False,
) -> PassResult:
    """One pass over the sheet; with `dry_run`, everything but the write."""
    with collection_paused():
        # the pass's own frame is gone, and what it read freed, before the collector is
        # back on: it then walks only what outlives the pass, not the whole sheet
        return _one_pass(store, config, now=now, next_actions=next_actions, dry_run=dry_run)


def _one_pass(
    store: Store,
    config: Config,
    *,
    now: dt.datetime,
    next_actions: NextActions | None,
    dry_run: bool,
) -> PassResult:
    """run_pass's work, with the collector off."""
    started = time.perf_counter()
    sheet = score_sheet(store.read(), config, now)
    scored = sheet.scored
    failures: list[str] = []
    if next_actions is not None:
        live = sheet.live
        names = getattr(next_actions, "names_read", None)
        choice = next_actions.choose(sheet.contexts(config, names))
        if len(live) == len(scored):
            scored["next_action"] = list(choice.actions)
        else:
            scored.loc[live.index, "next_action"] = list(choice.actions)
        failures = [str(f) for f in choice.failures]
        for failure in failures:
            log.warning("playbook failed: %s", failure)
    plan = plan_writes(
        sheet.snapshot,
        scored,
        config,
        week=sheet.week,
        today=sheet.today,
        history=sheet.history,
        raw=sheet.raw,
    )
    report = WriteReport() if dry_run else store.write(plan)
    skipped = scored["skipped"].to_numpy(dtype=bool)
    # every row with a key (the usual sheet): the scored frame as it is, not a copy
    accounts = scored[~skipped].reset_index(drop=True) if skipped.any() else scored
    return PassResult(
        accounts=accounts,
        plan=plan,
        report=report,
        history=sheet.history,
        week=sheet.week,
        playbook_failures=failures,
        seconds=time.perf_counter() - started,
        raw=sheet.raw[~skipped].reset_index(drop=True) if skipped.any() else sheet.raw,
    )
