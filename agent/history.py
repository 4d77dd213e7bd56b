"""The weekly history tab: one row per account per ISO week, and the trends read from it.

A week reads "S49 2026" in the tab and is its ISO code, "2026-W49", here (`history_look`).

Pure functions: the tab's cells in, a DataFrame and per-account trends out. The current
week's row is replaced in place on every pass, so re-running never duplicates a row.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from agent.cells import cell_text, each_distinct, key_text_list, parse_number
from agent.history_look import week_code
from agent.labels import STATUS_LABELS, number_text
from agent.model_note import model_version_of
from agent.scoring import Criterion, Model
from agent.stores.base import Tab

HEADERS = {
    "fr": ("Semaine", "Date", "Score", "Statut", "Modèle"),
    "en": ("Week", "Date", "Score", "Status", "Model"),
}
# the CSM's override, kept apart from the computed status: a column after the model's, so
# the rows written before it read as they always did
OVERRIDE_HEADERS = {"fr": "Avis CSM", "en": "CSM call"}
_STATUS_BY_LABEL = {
    label.casefold(): code for labels in STATUS_LABELS.values() for code, label in labels.items()
}
_STATUS_BY_LABEL.update({code: code for code in ("green", "orange", "red")})


def iso_week(day: dt.date) -> str:
    """The ISO week of a day, as "2026-W48" (sorts as text in time order)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> dt.date:
    """The Monday of an ISO week given as "2026-W48"."""
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def shift_week(week: str, weeks: int) -> str:
    return iso_week(week_start(week) + dt.timedelta(weeks=weeks))


def history_header(
    model: Model, key_column: str, language: str, override: bool = False
) -> list[str]:
    """The history tab's header: week, date, key, score, status, points per criterion, model
    (and, with `override`, the CSM's override after it)."""
    week, date, score, status, version = HEADERS.get(language, HEADERS["en"])
    criteria = criteria_headers(model, key_column)
    header = [week, date, key_column, score, status, *criteria, version]
    if override:
        header.append(OVERRIDE_HEADERS.get(language, OVERRIDE_HEADERS["en"]))
    return header


def criteria_headers(model: Model, key_column: str) -> list[str]:
    """Each criterion's column in the history tab, by its label as the team reads it
    ("Adoption", not "adoption"); by its id where the label would be ambiguous (two
    criteria of one label, a label that is another's id or a header of the tab's own, in
    either language)."""
    fixed = {key_column, *OVERRIDE_HEADERS.values()}
    fixed.update(word for words in HEADERS.values() for word in words)
    labels = Counter(c.label for c in model.criteria)
    ids = {c.id for c in model.criteria}
    return [
        c.label
        if c.label and labels[c.label] == 1 and c.label not in fixed
        and (c.label == c.id or c.label not in ids)
        else c.id
        for c in model.criteria
    ]  # fmt: skip


def _criterion_at(header: list[Any], criterion: Criterion, label: str) -> int | None:
    """Where a criterion's points are: under its label, or its id in a tab written before
    the labels (both read, so no past is lost)."""
    for name in (label, criterion.id):
        if name in header:
            return header.index(name)
    return None


def history_frame(tab: Tab | None, model: Model) -> pd.DataFrame:
    """The history tab as a DataFrame: week, date, key, score, status, model_version,
    model_text, points.*.

    A week is its ISO code however the cell says it ("S49 2026", "W49 2026", "2026-W49");
    `model_version` the model's reference in its cell, `model_text` the cell as it reads.

    Columns are found by position (week, date, key, score, status first; model last), so
    a renamed header or a language switch does not lose the past.
    """
    ids = [c.id for c in model.criteria]
    columns = [
        "week",
        "date",
        "key",
        "score",
        "status",
        "model_version",
        "model_text",
        *(f"points.{i}" for i in ids),
    ]
    if tab is None or not tab.rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    header = tab.header
    rows = tab.rows
    shortest = min(map(len, rows))

    def cells(at: int) -> Sequence[Any]:
        """One column's cells; None past a row's end (one list per column read: four
        times faster than transposing the rows with zip)."""
        if at < shortest:
            return [r[at] for r in rows]
        return [r[at] if at < len(r) else None for r in rows]

    last = len(header) - 1
    has_override = last >= 6 and header[last] in OVERRIDE_HEADERS.values()
    if has_override:  # the model's column is the one before
        last -= 1
    data: dict[str, Any] = {
        "week": each_distinct(cells(0), week_code),  # "S49 2026" and "2026-W49" alike
        "date": each_distinct(cells(1), _text),
        "key": key_text_list(cells(2)),
        "score": _numbers(pd.Series(cells(3), dtype=object)),
        "status": each_distinct(cells(4), _status, blank=None),
        "model_version": each_distinct(cells(last), _version) if last >= 5 else "",
        "model_text": each_distinct(cells(last), _text) if last >= 5 else "",
    }
    key_column = _text(header[2]) if len(header) > 2 else ""
    for criterion, label in zip(model.criteria, criteria_headers(model, key_column), strict=True):
        at = _criterion_at(header, criterion, label)
        points = cells(at) if at is not None else [None] * len(rows)
        data[f"points.{criterion.id}"] = _numbers(pd.Series(points, dtype=object))
    if has_override:  # a status code, None where no override held
        data["override"] = each_distinct(cells(last + 1), _status, blank=None)
    frame = pd.DataFrame(data)  # in the order of `columns`, then the override if kept
    usable = (frame["week"] != "") & (frame["key"] != "")
    if not usable.all():  # rows without a week or a key: left out
        frame = frame[usable].reset_index(drop=True)
    return frame


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else cell_text(value).strip()


def _version(value: Any) -> str:
    return model_version_of(_text(value))


def _status(value: Any) -> str | None:
    return _STATUS_BY_LABEL.get(_text(value).casefold())


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers as the sheet holds them; text such as "6,5" parsed like scores are."""
    numeric = pd.to_numeric(column, errors="coerce")
    text = numeric.isna() & column.notna()
    if text.any():
        numeric[text] = [np.nan if (v := parse_number(x)) is None else v for x in column[text]]
    return numeric.astype(float)


@dataclass(frozen=True)
class Trend:
    """What the past says about one account, as playbooks and the digest see it."""

    delta_4w: float | None = None
    weeks_at_max: int = 0
    status_week_ago: str | None = None
    # the account's past rows in week order: weeks, scores, statuses (made into `weeks`
    # only for a playbook that reads them)
    past: tuple[Iterable[Any], Iterable[Any], Iterable[Any]] = field(
        default=((), (), ()), compare=False, repr=False
    )

    @property
    def weeks(self) -> list[dict[str, Any]]:
        """Each past week: {"week", "score" (None when blank), "status"}, oldest first."""
        weeks, scores, statuses = (list(column) for column in self.past)
        return [
            {"week": w, "score": None if s != s else float(s), "status": st}
            for w, s, st in zip(weeks, scores, statuses, strict=True)
        ]


def trend_text(delta: float | None, language: str) -> str:
    """The 4-week change as a CSM reads it in the trend column: "▲ +2", "▼ −3" (a true
    minus), "=" when the score held; blank without four weeks of history. Text, never a
    formula."""
    if delta is None or delta != delta:
        return ""
    if delta == 0:
        return "="
    size = number_text(abs(delta), language)
    return f"▲ +{size}" if delta > 0 else f"▼ \u2212{size}"


def trend_texts(keys: Iterable[Any], trends: Mapping[str, Trend], language: str) -> list[str]:
    """`trend_text` for each key (blank for a key with no trend: a row without a key)."""
    empty = Trend()
    return [trend_text(trends.get(k, empty).delta_4w, language) for k in keys]


def account_trends(
    history: pd.DataFrame, current: pd.DataFrame, *, week: str, scale: float
) -> dict[str, Trend]:
    """Per key: score change over 4 weeks, weeks in a row at the full score, last week.

    `current` holds this pass's key and shown score; the current week's history rows are
    ignored in favour of it, since this pass is about to replace them. The past rows are
    grouped by account in NumPy (a year of a team's history is a hundred thousand rows).
    """
    keys = current["key"].tolist()
    shown_scores = current["shown"].to_numpy(dtype=float)
    # no past: one shared Trend for every such key, set for all keys at once
    new, new_at_max = Trend(), Trend(weeks_at_max=1)
    at_max = (shown_scores >= scale).tolist()  # NaN >= scale is false
    trends: dict[str, Trend] = dict(
        zip(keys, [new_at_max if m else new for m in at_max], strict=True)
    )
    past = history[(history["week"] < week) & history["key"].notna()] if len(history) else history
    if not len(past):
        return trends
    # each account's rows together, in week order; rows of one week keep the tab's order
    key_codes, past_keys = pd.factorize(past["key"].to_numpy(dtype=object))
    week_codes, week_names = pd.factorize(past["week"].to_numpy(dtype=object), sort=True)
    order = np.lexsort((week_codes, key_codes))  # a stable sort
    codes, wk = key_codes[order], week_codes[order]
    scores = past["score"].to_numpy(dtype=float)[order]
    statuses = past["status"].to_numpy(dtype=object)[order]
    weeks = np.asarray(week_names, dtype=object)[wk]
    count = len(codes)
    at = np.arange(count)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], count] - 1  # each account's last row
    # the last row with a score, four weeks ago or before; the last row below the top
    four_ago = np.searchsorted(week_names, shift_week(week, -4), side="right") - 1
    scored_then = (wk <= four_ago) & ~np.isnan(scores)
    base_at = np.maximum.accumulate(np.where(scored_then, at, -1))[ends]
    below_top = ~(scores >= scale)  # a blank score too
    last_below = np.maximum.accumulate(np.where(below_top, at, -1))[ends]
    streaks = (ends - np.maximum(last_below, starts - 1)).tolist()  # weeks in a row at the top
    bases = [scores[b] if b >= s else None for b, s in zip(base_at, starts, strict=True)]
    one_ago = shift_week(week, -1)
    ago = [st if w == one_ago else None for w, st in zip(weeks[ends], statuses[ends], strict=True)]
    group = {key: g for g, key in enumerate(past_keys[codes[starts]].tolist())}
    for key, shown in zip(keys, shown_scores.tolist(), strict=True):
        g = group.get(key)
        if g is None:
            continue
        delta, streak = None, 0
        if shown == shown:  # not NaN
            base = bases[g]
            if base is not None:
                delta = round(float(shown) - float(base), 1)
            if shown >= scale:
                streak = 1 + streaks[g]
        rows = slice(starts[g], ends[g] + 1)
        trends[key] = Trend(
            delta_4w=delta,
            weeks_at_max=streak,
            status_week_ago=ago[g],
            past=(weeks[rows], scores[rows], statuses[rows]),
        )
    return trends


_SINCE = {
    "fr": "{label} {before}→{now} depuis S{week}",
    "en": "{label} {before}→{now} since W{week}",
}


def changes_since_last_week(
    history: pd.DataFrame, current: pd.DataFrame, model: Model, *, week: str, language: str
) -> list[str]:
    """Per row of `current`: each criterion whose points moved since last week's history
    row ("Adoption 2→0 depuis S48"), or "" (no row last week, or nothing moved)."""
    changes = [""] * len(current)
    last_week = shift_week(week, -1)
    if not len(history) or not len(current):
        return changes
    before = history[history["week"] == last_week].drop_duplicates("key", keep="last")
    if not len(before):
        return changes
    rows = before.set_index("key").reindex(current["key"].to_numpy(dtype=object))
    moved_any = np.zeros(len(current), dtype=bool)
    moved: list[tuple[Criterion, np.ndarray, np.ndarray, np.ndarray]] = []
    for criterion in model.criteria:
        column = f"points.{criterion.id}"
        if column not in rows or column not in current:
            continue
        then = rows[column].to_numpy(dtype=float)
        now = current[column].to_numpy(dtype=float)
        differs = ~np.isnan(then) & ~np.isnan(now) & (then != now)
        moved.append((criterion, differs, then, now))
        moved_any |= differs
    template, number = _SINCE.get(language, _SINCE["en"]), last_week.split("-W")[1]
    for i in np.flatnonzero(moved_any).tolist():  # a few accounts move in a week
        changes[i] = " · ".join(
            template.format(
                label=c.label,
                before=number_text(then[i], language),
                now=number_text(now[i], language),
                week=number.lstrip("0") or "0",
            )
            for c, differs, then, now in moved
            if differs[i]
        )
    return changes
