"""Benchmark: score N generated accounts with the project's code and with a per-row loop.

    python bench/bench_scoring.py                 # 10k, 100k, 1M accounts
    python bench/bench_scoring.py --sizes 10000   # a quick look

Both sides run in the same process on the same generated sheet: the project's
vectorised `score_accounts`, and the obvious per-row Python loop a person would write
(normalise each label, look it up, add, build the "why"). Prints rows per second and
peak memory (tracemalloc, which sees NumPy and pandas buffers) for both.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agent.config import load_config
from agent.scoring import Model, score_accounts

ROOT = Path(__file__).resolve().parent.parent


def generate(model: Model, n: int, seed: int = 7) -> pd.DataFrame:
    """A sheet of n accounts: mostly valid labels, some typos in case, blanks, unknowns."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {"Client": np.array([f"Compte {i}" for i in range(n)], dtype=object)}
    columns["CSM"] = rng.choice(np.array(["Camille", "Hugo", "Léa", "Malik"], dtype=object), n)
    for c in model.criteria:
        labels = list(c.points or {})
        choices = labels + [labels[0].upper(), f"  {labels[1].lower()} ", None, "Je ne sais pas"]
        weights = np.array([0.3] * len(labels) + [0.03, 0.03, 0.02, 0.02])
        columns[c.column] = rng.choice(
            np.array(choices, dtype=object), n, p=weights / weights.sum()
        )
    return pd.DataFrame(columns, dtype=object)


def per_row_loop(sheet: pd.DataFrame, model: Model) -> list[tuple[str, float | None, str, str]]:
    """The obvious reference: one account at a time, plain Python."""

    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    tables = [{norm(k): v for k, v in (c.points or {}).items()} for c in model.criteria]
    out = []
    for record in sheet.to_dict("records"):
        earned = possible = 0.0
        parts = []
        blanks = 0
        for c, table in zip(model.criteria, tables, strict=True):
            value = record.get(c.column)
            if value is None or not str(value).strip():
                blanks += 1
                continue
            pts = table.get(norm(str(value)))
            if pts is None:
                parts.append(f"{c.label} : « {value} » non reconnu")
                continue
            earned += c.weight * pts
            possible += c.weight * c.max_points
            if pts < c.max_points:
                parts.append(f"{c.label} {pts:g}/{c.max_points:g}")
        if blanks:
            parts.append(f"{blanks} critère(s) vide(s)")
        score = round(model.scale * earned / possible, 1) if possible else None
        status = "" if score is None else model.status_of(score)
        out.append((record["Client"], score, status, " · ".join(parts)))
    return out


def measure(func: Callable[[], object]) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    func()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    model = load_config(ROOT / "config.example.toml").model
    print(
        f"{'accounts':>10} | {'agent s':>8} {'rows/s':>11} {'peak MiB':>9} | "
        f"{'loop s':>8} {'rows/s':>11} {'peak MiB':>9} | {'speed-up':>8}"
    )
    for n in args.sizes:
        sheet = generate(model, n)
        agent_s, agent_mb = measure(
            lambda sheet=sheet: score_accounts(sheet, model, key_column="Client", language="fr")
        )
        loop_s, loop_mb = measure(lambda sheet=sheet: per_row_loop(sheet, model))
        print(
            f"{n:>10,} | {agent_s:>8.2f} {n / agent_s:>11,.0f} {agent_mb:>9.0f} | "
            f"{loop_s:>8.2f} {n / loop_s:>11,.0f} {loop_mb:>9.0f} | {loop_s / agent_s:>7.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
