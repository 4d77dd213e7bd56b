"""Score every account of the sheet: points per criterion, score, status and "why".

Pure and vectorised: a DataFrame of raw cells in, a DataFrame of results out. Each
criterion's column is factorised first, so the text work (trimming, case-folding,
number parsing, the "why" wording) runs once per distinct value or combination, not
once per row: 1M rows with a few labels each cost a few distinct strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agent.cells import (
    MAX_CELL_TEXT,
    Uncomputed,
    cell_text,
    combined_codes,
    distinct_cells,
    is_blank,
    key_texts,
    normalize_label,
    parse_date,
    parse_number,
)
from agent.labels import STATUS_LABELS, STATUSES, WHY, number_text

_VALUE_SHOWN = 30  # characters of a cell quoted in "why": enough to recognise it


@dataclass(frozen=True)
class Band:
    """A numeric range: a value of at least `min` earns `points` (highest `min` first)."""

    min: float
    points: float


@dataclass(frozen=True)
class Criterion:
    """One column of the sheet and how its values turn into points."""

    id: str
    column: str
    label: str
    weight: float
    points: dict[str, float] | None = None
    bands: tuple[Band, ...] | None = None
    days_until: bool = False
    unit: str = ""  # shown after a number in "why": "Adoption 0/2 (20 %)"

    @property
    def max_points(self) -> float:
        values: Iterable[float] = (
            self.points.values()
            if self.points is not None
            else (b.points for b in self.bands or ())
        )
        return max(values, default=0.0)

    def labels_by_points(self) -> list[str]:
        """The labels a CSM may pick, best first (for dropdowns)."""
        if self.points is None:
            return []
        return [k for k, _ in sorted(self.points.items(), key=lambda kv: -kv[1])]


@dataclass(frozen=True)
class Model:
    """The scoring model: criteria, scale, how blanks count, and status thresholds."""

    scale: float
    missing: str  # "renormalize" | "zero"
    green: float
    orange: float
    criteria: tuple[Criterion, ...]

    def version(self) -> str:
        """A short hash of the model, so a score jump caused by a model change is visible."""
        canonical = json.dumps(
            {
                "scale": self.scale,
                "missing": self.missing,
                "green": self.green,
                "orange": self.orange,
                "criteria": [
                    {
                        "id": c.id,
                        "column": c.column,
                        "weight": c.weight,
                        "points": c.points,
                        "bands": [(b.min, b.points) for b in c.bands or ()],
                        "days_until": c.days_until,
                    }
                    for c in self.criteria
                ],
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]

    def status_codes(self, shown: np.ndarray) -> np.ndarray:
        """Each rounded score's status as its place in STATUSES: green from `green` up,
        orange from `orange`, red below (and for NaN: the caller says "no score")."""
        return np.select([shown >= self.green, shown >= self.orange], [0, 1], 2)

    def status_of(self, shown: float) -> str:
        return STATUSES[int(self.status_codes(np.array([shown]))[0])]


# --- a cell quoted in "why" ----------------------------------------------------------


def _quote(value: Any) -> str:
    """A cell's text, one line and short, safe to show inside "why"."""
    text = " ".join(cell_text(value).split())
    return text if len(text) <= _VALUE_SHOWN else text[: _VALUE_SHOWN - 1] + "…"


# --- one criterion over a whole column ------------------------------------------------

BLANK, VALID, UNKNOWN = 0, 1, 2


@dataclass
class _Column:
    codes: np.ndarray  # per row: index into the distinct values, -1 for NA
    points: np.ndarray  # per distinct value
    state: np.ndarray  # per distinct value: BLANK, VALID or UNKNOWN
    parts: list[str]  # per distinct value: its piece of "why" ("" when at max)
    exists: bool = True  # False when the sheet has no such column


def _points_of(
    criterion: Criterion, labels: dict[str, float], value: Any, today: dt.date
) -> tuple[float, int]:
    if isinstance(value, Uncomputed):
        return math.nan, UNKNOWN
    if is_blank(value):
        return math.nan, BLANK
    if criterion.points is not None:
        found = labels.get(normalize_label(cell_text(value)))
        return (math.nan, UNKNOWN) if found is None else (found, VALID)
    if criterion.days_until:
        day = parse_date(value)
        number = None if day is None else float((day - today).days)
    else:
        number = parse_number(value)
    if number is None:
        return math.nan, UNKNOWN
    for band in criterion.bands or ():
        if number >= band.min:
            return band.points, VALID
    return math.nan, UNKNOWN


def _why_part(criterion: Criterion, value: Any, points: float, state: int, lang: str) -> str:
    words = WHY[lang]
    if isinstance(value, Uncomputed):
        return words["uncomputed"].format(column=criterion.column)
    if state == UNKNOWN:
        return words["unknown"].format(column=criterion.column, value=_quote(value))
    if state == BLANK or points >= criterion.max_points:
        return ""
    best = number_text(criterion.max_points, lang)
    shown = f"{criterion.label} {number_text(points, lang)}/{best}"
    if points == 0:
        shown += f" ({_value_shown(criterion, value, lang)})"
    return shown


def _value_shown(criterion: Criterion, value: Any, lang: str) -> str:
    """A cell's value as "why" shows it: a label in lower case, a number with its unit,
    a typed number or date the way the sheet's language writes it (3,5 and 01/12/2026 in
    French: what a CSM typed, where Google or a workbook hands out 3.5 and a date)."""
    if criterion.points is not None:
        return _quote(value).lower()
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return day.strftime("%d/%m/%Y") if lang == "fr" else day.isoformat()
    number = None if criterion.days_until else parse_number(value)
    if number is None or not criterion.unit:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            text = f"{value:,.10g}".replace(",", "\u00a0" if lang == "fr" else ",")
            return text.replace(".", ",") if lang == "fr" else text
        return _quote(value)
    # "20 %" in French, "20%" in English; any other unit after a space
    space = "" if criterion.unit == "%" and lang == "en" else "\u00a0"
    return f"{number_text(number, lang)}{space}{criterion.unit}"


def _score_column(criterion: Criterion, column: pd.Series, today: dt.date, lang: str) -> _Column:
    codes, uniques = distinct_cells(column)
    count = len(uniques)
    points = np.full(count, np.nan)
    state = np.zeros(count, dtype=np.int8)
    parts: list[str] = []
    labels = {normalize_label(k): v for k, v in (criterion.points or {}).items()}
    for i, value in enumerate(uniques):
        pts, st = _points_of(criterion, labels, value, today)
        points[i], state[i] = pts, st
        parts.append(_why_part(criterion, value, pts, st, lang))
    return _Column(codes, points, state, parts)


def round_shown(score: np.ndarray) -> np.ndarray:
    """Round to one decimal, halves up, as the sheet shows it (6.25 -> 6.3)."""
    return np.floor(score * 10 + 0.5 + 1e-9) / 10


def score_accounts(
    accounts: pd.DataFrame,
    model: Model,
    *,
    key_column: str,
    language: str = "fr",
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Score each row of `accounts` (raw cells, headers as column names).

    Returns one row per input row, same index, with: key, skipped (blank key),
    duplicate, score (unrounded, NaN when none), shown (rounded), status
    ("green"/"orange"/"red"/None), status_label, why, `points.<criterion id>`, and
    profile: a number shared by the rows whose criterion cells read alike (so whose
    points are the same too).
    """
    today = today or dt.date(2000, 1, 1)
    lang = language if language in WHY else "en"
    n = len(accounts)
    keys = key_texts(accounts[key_column] if key_column in accounts else pd.Series([None] * n))
    skipped = keys == ""
    key_codes, _ = pd.factorize(keys)
    counts = np.bincount(key_codes, minlength=1)[key_codes] if n else np.zeros(0, dtype=np.int64)
    duplicate = (counts > 1) & ~skipped
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    # keys that cannot name an account: longer than a cell holds (never one history row),
    # or a formula the file holds no value of
    bad_key = (lengths > MAX_CELL_TEXT) | _uncomputed(accounts, key_column, n)

    columns = [_criterion_column(c, accounts, n, today, lang) for c in model.criteria]
    points, states = _points_and_states(columns, n)
    score, any_filled = _scores(points, model)
    score[duplicate | skipped | bad_key] = np.nan
    shown = round_shown(score)
    status_code = np.where(np.isnan(shown), _NO_STATUS, model.status_codes(shown))
    status = np.array([*STATUSES, None], dtype=object)[status_code]
    labels = STATUS_LABELS[lang]
    status_label = np.array([*(labels[s] for s in STATUSES), ""], dtype=object)[status_code]

    combo, why = _why(model, columns, states, any_filled, WHY[lang])
    if duplicate.any():
        for i in np.flatnonzero(duplicate):
            at = int(i)
            why[at] = WHY[lang]["duplicate"].format(key=_quote(keys[at]), n=int(counts[at]))
    for i in np.flatnonzero(bad_key):
        at = int(i)
        if lengths[at] > MAX_CELL_TEXT:
            why[at] = WHY[lang]["key_too_long"].format(n=int(lengths[at]))
        else:
            why[at] = WHY[lang]["uncomputed"].format(column=key_column)
    why[skipped] = ""

    result = pd.DataFrame(
        {
            "key": keys,
            "skipped": skipped,
            "duplicate": duplicate,
            "score": score,
            "shown": shown,
            "status": status,
            "status_label": status_label,
            "why": why,
        },
        index=accounts.index,
    )
    for j, criterion in enumerate(model.criteria):
        result[f"points.{criterion.id}"] = points[:, j]
    result["profile"] = combo
    return result


_NO_STATUS = len(STATUSES)  # the status code of a row with no score


def _uncomputed(accounts: pd.DataFrame, column: str, n: int) -> np.ndarray:
    """Where a column holds a formula without a computed value (`Uncomputed`)."""
    if column not in accounts:
        return np.zeros(n, dtype=bool)
    return np.fromiter((isinstance(v, Uncomputed) for v in accounts[column]), bool, count=n)


def _criterion_column(
    criterion: Criterion, accounts: pd.DataFrame, n: int, today: dt.date, lang: str
) -> _Column:
    """One criterion scored over its column; a column the sheet lacks scores nothing."""
    if criterion.column in accounts:
        return _score_column(criterion, accounts[criterion.column], today, lang)
    return _Column(
        np.full(n, -1, dtype=np.int64),
        np.array([]),
        np.array([], dtype=np.int8),
        [],
        exists=False,
    )


def _points_and_states(columns: list[_Column], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row and criterion: the points (NaN when none) and the cell's state."""
    points = np.full((n, len(columns)), np.nan)
    states = np.zeros((n, len(columns)), dtype=np.int8)
    for j, col in enumerate(columns):
        present = col.codes >= 0
        if len(col.points):
            points[present, j] = col.points[col.codes[present]]
            states[present, j] = col.state[col.codes[present]]
    return points, states


def _scores(points: np.ndarray, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Each row's score on the model's scale (NaN when none), and whether any criterion
    of the row is filled."""
    n = len(points)
    weights = np.array([c.weight for c in model.criteria])
    maxima = np.array([c.max_points for c in model.criteria])
    filled = ~np.isnan(points)
    earned = np.where(filled, points, 0.0) @ weights
    if model.missing == "zero":
        possible = np.full(n, float(weights @ maxima))
    else:
        possible = filled.astype(float) @ (weights * maxima)
    any_filled = filled.any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(any_filled & (possible > 0), model.scale * earned / possible, np.nan)
    return score, any_filled


def _why(
    model: Model,
    columns: list[_Column],
    states: np.ndarray,
    any_filled: np.ndarray,
    words: dict[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's combination of cell values (its profile) and its "why", built once per
    distinct combination."""
    n = len(states)
    combo = combined_codes(
        [c.codes for c in columns] + [np.where(any_filled, 1, 0)],
        [len(c.parts) for c in columns] + [2],
    )
    first_row = np.full(combo.max() + 1 if n else 0, -1, dtype=np.int64)
    first_row[combo[::-1]] = np.arange(n)[::-1]
    texts: list[str] = []
    for row in first_row:
        parts = [col.parts[col.codes[row]] for col in columns if col.codes[row] >= 0]
        parts = [p for p in parts if p]
        if not any_filled[row]:
            texts.append(
                words["separator"].join([*parts, words["no_score"]]) if parts else words["nothing"]
            )
            continue
        missing_columns = [
            words["no_column"].format(column=c.column)
            for c, col in zip(model.criteria, columns, strict=True)
            if not col.exists
        ]
        blanks = [
            c.column
            for c, col, state in zip(model.criteria, columns, states[row], strict=True)
            if col.exists and state == BLANK
        ]
        if blanks:  # each by its column, so the CSM knows which cell to fill
            parts.append(words["blank"].format(columns=", ".join(blanks)))
        parts.extend(missing_columns)
        texts.append(words["separator"].join(parts) if parts else words["all_max"])
    why = np.asarray(texts, dtype=object)[combo] if n else np.array([], dtype=object)
    return combo, why
