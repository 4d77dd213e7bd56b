"""Is the score any good? How well past scores foretold the accounts that left.

Pure: the history tab as a frame (`history_frame`) and each account's churn date in, a
`Calibration` out. Every account-week whose outcome is known counts once: it is "followed
by a churn" when the account left within `horizon_days` after that week's date. Only weeks
before an account's churn date count, and only weeks at least `horizon_days` before
`as_of` (for later ones, whether a churn follows is not known yet).

- AUC of the score (lower score = higher risk): the chance that a week followed by a churn
  scored lower than one that was not (ties count half). 0.5 is chance, 1 is perfect.
  Its confidence interval resamples accounts, not weeks (an account's weeks move
  together), a bounded number of times with a fixed seed: the same history gives the
  same interval.
- Churn rate per status band and per score value; each criterion's own AUC.
- Suggested weights: a regularised logistic regression (scikit-learn's
  `LogisticRegression`, L2) of "followed by a churn" on the criteria's points. A
  well-kept library rather than hand-written maths: its solver, convergence checks and
  regularisation are tested far beyond what this project could test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from agent.accounts import accounts_frame
from agent.cells import each_distinct, is_blank, key_text_list, parse_date
from agent.config import Config
from agent.errors import ConfigError, SheetError
from agent.history import history_frame, week_start
from agent.scoring import Criterion, Model
from agent.stores.base import Snapshot

MIN_CHURNS = 20  # below this many churned accounts, the figures prove nothing yet
BOOTSTRAP = 200  # resamples for the AUC's interval: bounded, whatever the history's size
SEED = 20


@dataclass(frozen=True)
class ChurnRate:
    """Weeks in one group (a status, a score), and how many were followed by a churn."""

    name: str
    weeks: int
    churned: int

    @property
    def rate(self) -> float:
        return self.churned / self.weeks if self.weeks else 0.0


@dataclass(frozen=True)
class CriterionFit:
    """One criterion's own AUC, its weight now and the weight the regression suggests."""

    id: str
    label: str
    auc: float | None
    weight: float
    suggested_weight: float | None


@dataclass(frozen=True)
class Separation:
    """The score at or below which weeks were best flagged: the share of weeks followed by
    a churn it caught, and the share of the others it flagged too."""

    score: float
    caught: float
    false_alarms: float


@dataclass(frozen=True)
class Calibration:
    """What `calibrate` found; `enough` is False below MIN_CHURNS churned accounts."""

    horizon_days: int
    accounts: int
    weeks: int
    churned: int
    auc: float | None
    auc_low: float | None
    auc_high: float | None
    bands: list[ChurnRate] = field(default_factory=list)
    scores: list[ChurnRate] = field(default_factory=list)
    criteria: list[CriterionFit] = field(default_factory=list)  # best own AUC first
    separation: Separation | None = None
    unreadable: tuple[str, ...] = ()  # accounts whose churn cell holds no date

    @property
    def enough(self) -> bool:
        return self.churned >= MIN_CHURNS

    @property
    def suggested_weights(self) -> dict[str, float]:
        return {c.id: c.suggested_weight for c in self.criteria if c.suggested_weight is not None}

    def as_json(self) -> dict[str, Any]:
        def rates(groups: list[ChurnRate]) -> list[dict[str, Any]]:
            return [
                {"name": g.name, "weeks": g.weeks, "churned": g.churned, "rate": _r(g.rate)}
                for g in groups
            ]

        sep = self.separation
        return {
            "horizon_days": self.horizon_days,
            "accounts": self.accounts,
            "weeks": self.weeks,
            "churned": self.churned,
            "enough": self.enough,
            "min_churns": MIN_CHURNS,
            "auc": _r(self.auc),
            "auc_low": _r(self.auc_low),
            "auc_high": _r(self.auc_high),
            "bands": rates(self.bands),
            "scores": rates(self.scores),
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "auc": _r(c.auc),
                    "weight": c.weight,
                    "suggested_weight": c.suggested_weight,
                }
                for c in self.criteria
            ],
            "suggested_weights": self.suggested_weights,
            "unreadable_churn_dates": list(self.unreadable),
            "separation": None
            if sep is None
            else {
                "score": sep.score,
                "caught": _r(sep.caught),
                "false_alarms": _r(sep.false_alarms),
            },
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --- outcomes ------------------------------------------------------------------------


def churn_dates(
    raw: pd.DataFrame, key_column: str, churned_column: str | None
) -> dict[str, dt.date]:
    """Each account's churn date from the accounts tab's cells (blank: still a customer).

    A cell that is not a date is left out, as a blank one is."""
    if not churned_column or churned_column not in raw or key_column not in raw:
        return {}
    keys = key_text_list(raw[key_column].tolist())
    days = each_distinct(raw[churned_column].tolist(), parse_date, blank=None)
    return {k: d for k, d in zip(keys, days, strict=True) if k and d is not None}


@dataclass(frozen=True)
class AccountWeeks:
    """The account-weeks that count, as arrays of one length."""

    account: np.ndarray  # an account's number, 0..accounts-1
    score: np.ndarray
    status: np.ndarray  # objects: "green", "orange", "red" or None
    points: np.ndarray  # weeks x criteria, NaN where blank
    churn_soon: np.ndarray  # bool: the account left within the horizon
    accounts: int


def account_weeks(
    history: pd.DataFrame,
    churned: Mapping[str, dt.date],
    ids: Sequence[str],
    *,
    horizon_days: int,
    as_of: dt.date,
    since: dt.date | None = None,
) -> AccountWeeks:
    """The history rows whose outcome is known, with that outcome (and from `since` on)."""
    frame = history[history["score"].notna()] if len(history) else history
    days = _row_days(frame)
    keys = frame["key"].to_numpy(dtype=object)
    churn_day = (
        pd.Series(keys)
        .map({k: np.datetime64(d, "D") for k, d in churned.items()})
        .to_numpy(dtype="datetime64[D]")
    )
    horizon = np.timedelta64(horizon_days, "D")
    with np.errstate(invalid="ignore"):
        counted = (days + horizon <= np.datetime64(as_of, "D")) & ~np.isnat(days)
        counted &= np.isnat(churn_day) | (days < churn_day)
        if since is not None:
            counted &= days >= np.datetime64(since, "D")
        soon = ~np.isnat(churn_day) & (churn_day - days <= horizon)
    codes, distinct = pd.factorize(keys[counted])
    points = frame[[f"points.{i}" for i in ids]].to_numpy(dtype=float)[counted]
    return AccountWeeks(
        account=codes,
        score=frame["score"].to_numpy(dtype=float)[counted],
        status=frame["status"].to_numpy(dtype=object)[counted],
        points=points.reshape(len(codes), len(ids)),
        churn_soon=soon[counted],
        accounts=len(distinct),
    )


def _row_days(frame: pd.DataFrame) -> np.ndarray:
    """Each history row's date: its date cell, else the Monday of its week."""
    texts = frame["date"].astype(str).str.slice(0, 10)
    days = pd.to_datetime(texts, format="%Y-%m-%d", errors="coerce").to_numpy("datetime64[D]")
    blank = np.isnat(days)
    if blank.any():
        mondays = each_distinct(frame["week"].to_numpy(dtype=object)[blank].tolist(), _monday)
        days[blank] = np.array(mondays, dtype="datetime64[D]")
    return days


def _monday(week: str) -> np.datetime64:
    try:
        return np.datetime64(week_start(week), "D")
    except ValueError:
        return np.datetime64("NaT", "D")


# --- the figures ---------------------------------------------------------------------


def calibrate(
    history: pd.DataFrame,
    churned: Mapping[str, dt.date],
    model: Model | None,
    *,
    as_of: dt.date,
    horizon_days: int = 90,
    since: dt.date | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = SEED,
) -> Calibration:
    """How well the history's scores foretold the churns (see the module's docstring).

    Without a model, only the score's figures (no criteria, no suggested weights)."""
    criteria = model.criteria if model is not None else ()
    weeks = account_weeks(
        history,
        churned,
        [c.id for c in criteria],
        horizon_days=horizon_days,
        as_of=as_of,
        since=since,
    )
    soon = weeks.churn_soon
    churned_accounts = len(np.unique(weeks.account[soon]))
    auc, low, high = _auc_with_interval(weeks, bootstrap, seed)
    suggested = _suggested_weights(weeks.points, soon, criteria) if criteria else {}
    fits = [
        CriterionFit(
            id=c.id,
            label=c.label,
            auc=_auc(weeks.points[:, j], soon),
            weight=c.weight,
            suggested_weight=suggested.get(c.id),
        )
        for j, c in enumerate(criteria)
    ]
    fits.sort(key=lambda f: -1.0 if f.auc is None else f.auc, reverse=True)
    return Calibration(
        horizon_days=horizon_days,
        accounts=weeks.accounts,
        weeks=len(soon),
        churned=churned_accounts,
        auc=auc,
        auc_low=low,
        auc_high=high,
        bands=_rates_by(weeks.status, soon, order=("green", "orange", "red")),
        scores=_rates_by(weeks.score, soon),
        criteria=fits,
        separation=_separation(weeks.score, soon),
    )


def _rates_by(
    groups: np.ndarray, soon: np.ndarray, order: tuple[str, ...] | None = None
) -> list[ChurnRate]:
    """Weeks and churns per distinct value of `groups` (blanks left out)."""
    frame = pd.DataFrame({"group": groups, "soon": soon}).dropna()
    counts = frame.groupby("group", sort=True)["soon"].agg(["size", "sum"])
    if order:
        counts = counts.reindex([n for n in order if n in counts.index])
    return [
        ChurnRate(_name(n), int(size), int(total))
        for n, size, total in zip(
            counts.index.tolist(), counts["size"].tolist(), counts["sum"].tolist(), strict=True
        )
    ]


def _name(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_counts(
    values: np.ndarray, soon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values (ascending, blanks left out), and per value: weeks followed by a
    churn, weeks not."""
    known = ~np.isnan(values)
    distinct, codes = np.unique(values[known], return_inverse=True)
    size = len(distinct)
    positive = np.bincount(codes[soon[known]], minlength=size)
    negative = np.bincount(codes[~soon[known]], minlength=size)
    return distinct, positive, negative


def _auc_of_counts(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """AUC, lower value = churn, from counts per ascending value (last axis): the share
    of (churn, other) pairs where the churn week scored lower, ties counting half.
    NaN where a side is empty."""
    positives = positive.sum(axis=-1)
    negatives = negative.sum(axis=-1)
    above = negatives[..., None] - np.cumsum(negative, axis=-1)  # others scored higher
    wins = (positive * (above + 0.5 * negative)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(wins / (positives * negatives), dtype=float)


def _auc(values: np.ndarray, soon: np.ndarray) -> float | None:
    _, positive, negative = _value_counts(values, soon)
    auc = float(_auc_of_counts(positive.astype(float), negative.astype(float)))
    return None if auc != auc else auc


def _auc_with_interval(
    weeks: AccountWeeks, bootstrap: int, seed: int
) -> tuple[float | None, float | None, float | None]:
    """The score's AUC and its 95 % interval over `bootstrap` resamples of accounts.

    Each account's weeks are counted per score value once (a sparse accounts x values
    table); a resample is then a weighted sum of those rows, not a copy of the weeks."""
    from scipy import sparse

    score, soon = weeks.score, weeks.churn_soon
    distinct, codes = np.unique(score, return_inverse=True)
    size = len(distinct)
    table = sparse.csr_matrix(
        (np.ones(len(codes)), (weeks.account, codes + np.where(soon, 0, size))),
        shape=(weeks.accounts, 2 * size),
    )
    totals = np.asarray(table.sum(axis=0), dtype=float)
    auc = float(_auc_of_counts(totals[:, :size], totals[:, size:])[0]) if size else float("nan")
    if auc != auc:
        return None, None, None
    if bootstrap <= 0:
        return auc, None, None
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, weeks.accounts, size=(bootstrap, weeks.accounts))
    chosen = np.zeros((bootstrap, weeks.accounts))
    np.add.at(chosen, (np.arange(bootstrap)[:, None], draws), 1.0)
    sums = np.asarray((table.T @ chosen.T).T)
    resampled = _auc_of_counts(sums[:, :size], sums[:, size:])
    resampled = resampled[~np.isnan(resampled)]
    if not len(resampled):
        return auc, None, None
    low, high = np.percentile(resampled, [2.5, 97.5])
    return auc, float(low), float(high)


def _suggested_weights(
    points: np.ndarray, soon: np.ndarray, criteria: Sequence[Criterion]
) -> dict[str, float]:
    """Weights from a regularised logistic regression of churn on the criteria's points.

    More points should mean less churn: a criterion whose points went the other way gets
    0. The weights are scaled to the current weights' total, so they read side by side."""
    if len(soon) == 0 or soon.all() or not soon.any():
        return {}
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    filled = ~np.isnan(points).all(axis=0)
    usable = points[:, filled]
    means = np.nanmean(usable, axis=0)
    usable = np.where(np.isnan(usable), means, usable)  # a blank counts as the average
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = LogisticRegression(C=1.0, max_iter=500).fit(usable, soon)
    protective = np.clip(-fit.coef_[0], 0.0, None)
    ids = [c.id for c, f in zip(criteria, filled, strict=True) if f]
    total = sum(c.weight for c, f in zip(criteria, filled, strict=True) if f)
    scale = total / protective.sum() if protective.sum() > 0 else 0.0
    return {i: round(float(w * scale), 2) for i, w in zip(ids, protective, strict=True)}


def _separation(score: np.ndarray, soon: np.ndarray) -> Separation | None:
    """The score at or below which flagging weeks caught the most churns for the fewest
    false alarms (the largest gap between the two shares, Youden's J)."""
    distinct, positive, negative = _value_counts(score, soon)
    if not positive.sum() or not negative.sum():
        return None
    caught = np.cumsum(positive) / positive.sum()
    alarms = np.cumsum(negative) / negative.sum()
    best = int(np.argmax(caught - alarms))
    return Separation(float(distinct[best]), float(caught[best]), float(alarms[best]))


def calibrate_snapshot(
    snapshot: Snapshot, config: Config, *, as_of: dt.date, horizon_days: int = 90
) -> Calibration:
    """`calibrate` on a read sheet: the history tab, and the churn dates of the accounts
    tab's `sheet.churned_column`."""
    churned_column = config.sheet.churned_column
    if not churned_column:
        raise ConfigError(
            f"{config.path}: `calibrate` needs `churned_column` in [sheet]: the column where "
            "CSMs type the date an account left (blank while it is a customer)."
        )
    if churned_column not in snapshot.accounts.header:
        raise SheetError(
            f'Tab "{snapshot.accounts.title}" has no column "{churned_column}" '
            "(sheet.churned_column): add it to the header row, with the date each account "
            "left, or fix the name in the config."
        )
    raw = accounts_frame(snapshot.accounts)
    key_column = config.sheet.key_column
    churned = churn_dates(raw, key_column, churned_column)
    history = history_frame(snapshot.history, config.model)
    found = calibrate(history, churned, config.model, as_of=as_of, horizon_days=horizon_days)
    typed = [
        (key, cell)
        for key, cell in zip(
            key_text_list(raw[key_column].tolist()), raw[churned_column].tolist(), strict=True
        )
        if key and not is_blank(cell) and key not in churned
    ]
    return dataclasses.replace(found, unreadable=tuple(k for k, _ in typed))
