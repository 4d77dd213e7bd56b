"""Benchmark: `calibrate` on a big team's history, beside the plain pandas + scikit-learn way.

    python bench/bench_calibrate.py                          # 5,000 accounts x 104 weeks
    python bench/bench_calibrate.py --accounts 500 --weeks 52   # a quick look

The history is made by tests/churn_history.py (a known weekly churn hazard) as the cells
of a history tab. Both sides start from those cells and the churn dates, in the same
process:
- the agent: `history_frame` (the tab's cells to a frame, as the command reads it),
  then `calibrate` with its 200 bootstrap resamples of accounts;
- the baseline: what a person would write with pandas and scikit-learn: a DataFrame of
  the rows, dates parsed, the outcome by a merge, `roc_auc_score` for the score and each
  criterion, a groupby per band, `LogisticRegression`, and the bootstrap by resampling
  accounts with pandas and calling `roc_auc_score` on each resample.
Prints seconds and peak memory (tracemalloc, which sees NumPy and pandas buffers) for
both, and the AUCs, which must agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generator lives with the tests

from agent.calibrate import BOOTSTRAP, calibrate  # noqa: E402
from agent.history import history_frame  # noqa: E402
from agent.scoring import Criterion, Model  # noqa: E402
from agent.stores.base import Tab  # noqa: E402
from tests.churn_history import CRITERIA, generate  # noqa: E402

AS_OF = dt.date(2027, 6, 1)
HORIZON = 90


def model() -> Model:
    levels = {"High": 2.0, "Mid": 1.0, "Low": 0.0}
    criteria = tuple(
        Criterion(id=c, column=c.title(), label=c.title(), weight=1.0, points=levels)
        for c in CRITERIA
    )
    return Model(scale=8, missing="renormalize", green=6, orange=3, criteria=criteria)


def baseline(tab: Tab, churned: dict[str, dt.date], resamples: int) -> float:
    """The plain way: pandas for the table, scikit-learn for every figure."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rows = pd.DataFrame(tab.rows, columns=tab.header)
    rows["day"] = pd.to_datetime(rows["Date"])
    churn = pd.DataFrame({"Account": list(churned), "left": pd.to_datetime(list(churned.values()))})
    rows = rows.merge(churn, on="Account", how="left")
    horizon = pd.Timedelta(days=HORIZON)
    known = rows["day"] + horizon <= pd.Timestamp(AS_OF)
    before = rows["left"].isna() | (rows["day"] < rows["left"])
    rows = rows[known & before].copy()
    rows["soon"] = (rows["left"] - rows["day"] <= horizon).fillna(False).astype(bool)
    rows["Score"] = pd.to_numeric(rows["Score"])
    auc = float(roc_auc_score(rows["soon"], -rows["Score"]))
    for c in CRITERIA:
        roc_auc_score(rows["soon"], -rows[c].astype(float))
    rows.groupby("Status")["soon"].agg(["size", "sum"])
    rows.groupby("Score")["soon"].agg(["size", "sum"])
    LogisticRegression(max_iter=500).fit(rows[list(CRITERIA)].astype(float), rows["soon"])
    by_account = rows.groupby("Account")
    accounts = np.array(list(by_account.groups))
    rng = np.random.default_rng(20)
    parts = {k: g[["Score", "soon"]] for k, g in by_account}
    for _ in range(resamples):
        sample = pd.concat([parts[k] for k in rng.choice(accounts, len(accounts))])
        roc_auc_score(sample["soon"], -sample["Score"])
    return auc


def measure(func: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument(
        "--baseline-resamples",
        type=int,
        default=BOOTSTRAP,
        help=f"bootstrap resamples on the baseline side (the agent always does {BOOTSTRAP})",
    )
    args = parser.parse_args()
    import scipy.sparse  # noqa: F401  imports (about 1 s) are not what is measured
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401

    made = generate(accounts=args.accounts, weeks=args.weeks, base_logit=-7.5)
    tab = Tab("History", made.history_header, made.history_rows)
    m = model()
    print(
        f"{args.accounts:,} accounts x {args.weeks} weeks: {len(tab.rows):,} history rows, "
        f"{len(made.churn_dates):,} churned accounts"
    )
    frame_s, frame_mb, history = measure(lambda: history_frame(tab, m))
    fit_s, fit_mb, found = measure(
        lambda: calibrate(history, made.churn_dates, m, as_of=AS_OF, horizon_days=HORIZON)
    )
    print(
        f"agent    {frame_s + fit_s:7.2f} s  peak {max(frame_mb, fit_mb):7.0f} MiB  "
        f"AUC {found.auc:.4f}  (history_frame {frame_s:.2f} s, {frame_mb:.0f} MiB; "
        f"calibrate {fit_s:.2f} s, {fit_mb:.0f} MiB)",
        flush=True,
    )
    base_s, base_mb, base_auc = measure(
        lambda: baseline(tab, made.churn_dates, args.baseline_resamples)
    )
    print(
        f"baseline {base_s:7.2f} s  peak {base_mb:7.0f} MiB  AUC {base_auc:.4f}"
        f"  ({args.baseline_resamples} resamples)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB (the generated cells included)")


if __name__ == "__main__":
    main()
