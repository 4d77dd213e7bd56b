"""A synthetic team's past with a known truth: criteria points that drift week by week, and
a weekly churn hazard set by known weights on those points.

Independent of the code under test: NumPy and the standard library only, so a mistake in
`agent` cannot hide in both the history and the figures. It gives the history tab's cells
(as the agent writes them), the accounts tab's churn dates, and its own arrays: every
account-week's score, points and whether the account left within the horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

FIRST_MONDAY = dt.date(2025, 1, 6)
CRITERIA = ("usage", "replies", "feedback", "adoption", "training")
# the truth: how much each point of a criterion lowers the weekly churn hazard's logit,
# in decreasing order (the order `calibrate` must find)
TRUE_WEIGHTS = (2.4, 1.6, 1.0, 0.5, 0.1)
LABELS_EN = {"green": "Healthy", "orange": "Watch", "red": "At risk"}


@dataclass
class ChurnHistory:
    """The generated past: the cells to put in the sheet and the generator's own arrays."""

    history_header: list[str]
    history_rows: list[list[object]]
    churn_dates: dict[str, dt.date]  # account -> the day it left
    keys: list[str]
    # one entry per account-week written, in row order
    row_days: np.ndarray  # datetime64[D]
    row_scores: np.ndarray
    row_points: np.ndarray  # rows x criteria
    row_keys: np.ndarray

    def labels(self, horizon_days: int, as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Which rows count (outcome known by `as_of`), and whether each was followed by a
        churn within the horizon."""
        horizon = np.timedelta64(horizon_days, "D")
        churn = np.array(
            [self.churn_dates.get(k, np.datetime64("NaT")) for k in self.row_keys],
            dtype="datetime64[D]",
        )
        counts = self.row_days + horizon <= np.datetime64(as_of, "D")
        has_churn = ~np.isnat(churn)
        counts &= ~has_churn | (self.row_days < churn)
        soon = has_churn & (churn - self.row_days <= horizon)
        return counts, soon


def generate(
    accounts: int = 2000,
    weeks: int = 52,
    *,
    seed: int = 7,
    base_logit: float = -7.0,
    drift: float = 0.05,
    weights: tuple[float, ...] = TRUE_WEIGHTS,
    scale: float = 8.0,
) -> ChurnHistory:
    """Simulate `accounts` accounts over `weeks` weeks.

    Each week every criterion is re-drawn (0, 1 or 2 points) with probability `drift`;
    then the account leaves that week with probability
    sigmoid(base_logit - sum(weight * (points - 1))), on a day within the week. The score
    written is the plain sum of points out of `scale` (every criterion weight 1, as the
    model in the test's config), rounded to one decimal.
    """
    rng = np.random.default_rng(seed)
    k = len(weights)
    w = np.asarray(weights)
    points = rng.integers(0, 3, size=(accounts, k)).astype(float)
    alive = np.ones(accounts, dtype=bool)
    keys = [f"ACC-{i:05d}" for i in range(accounts)]
    churn_dates: dict[str, dt.date] = {}
    header = ["Week", "Date", "Account", "Score", "Status", *CRITERIA[:k], "Model"]
    rows: list[list[object]] = []
    days, scores, all_points, row_keys = [], [], [], []
    for week in range(weeks):
        monday = FIRST_MONDAY + dt.timedelta(weeks=week)
        redraw = rng.random((accounts, k)) < drift
        points = np.where(redraw, rng.integers(0, 3, size=(accounts, k)), points)
        hazard = 1 / (1 + np.exp(-(base_logit - (points - 1) @ w)))
        leaves = alive & (rng.random(accounts) < hazard)
        leave_day = rng.integers(1, 7, size=accounts)
        year, number, _ = monday.isocalendar()
        week_text = f"{year}-W{number:02d}"
        shown = np.round(scale * points.sum(axis=1) / (2 * k), 1)
        for i in np.flatnonzero(alive):
            score = float(shown[i])
            status = "green" if score >= 6 else "orange" if score >= 3 else "red"
            rows.append(
                [
                    week_text,
                    monday.isoformat(),
                    keys[i],
                    int(score) if score.is_integer() else score,
                    LABELS_EN[status],
                    *(int(p) for p in points[i]),
                    "abc123",
                ]
            )
            days.append(monday)
            scores.append(score)
            all_points.append(points[i].copy())
            row_keys.append(keys[i])
        for i in np.flatnonzero(leaves):
            churn_dates[keys[i]] = monday + dt.timedelta(days=int(leave_day[i]))
        alive &= ~leaves
    return ChurnHistory(
        history_header=header,
        history_rows=rows,
        churn_dates=churn_dates,
        keys=keys,
        row_days=np.array(days, dtype="datetime64[D]"),
        row_scores=np.array(scores),
        row_points=np.array(all_points),
        row_keys=np.array(row_keys, dtype=object),
    )
