"""Benchmark: choose next actions for N accounts with the shipped playbooks.

    python bench/bench_playbooks.py                # 10k and 100k accounts
    python bench/bench_playbooks.py --sizes 1000

Side by side in one run: the project's `PlaybookSet.choose` (conditions compiled once per
pass, a condition's verdict reused for accounts whose names it reads are equal, bodies
rendered only for the winner), and the naive way (a fresh sandboxed Template built from
the file's text for every account and every condition). The naive side runs on a sample
and is extrapolated, so the run stays short.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent.playbooks import load_playbooks

ROOT = Path(__file__).resolve().parent.parent
LABELS = [
    ("usage", "Utilisation"),
    ("responsiveness", "Réactivité"),
    ("feedback", "Feedback"),
    ("adoption", "Adoption"),
]


def contexts(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pts = [rng.choice([0, 1, 2, 2, 2]) for _ in LABELS]
        criteria = [
            {"id": c, "label": label, "points": float(p), "max": 2.0, "value": "x"}
            for (c, label), p in zip(LABELS, pts, strict=True)
        ]
        score = float(sum(pts))
        status = "green" if score >= 6 else "orange" if score >= 3 else "red"
        out.append(
            {
                "key": f"Compte {i}",
                "owner": rng.choice(["Camille", "Hugo", "Léa"]),
                "segment": "PME",
                "score": score,
                "scale": 8.0,
                "status": status,
                "status_label": status,
                "language": "fr",
                "row": {},
                "criteria": criteria,
                "zeros": [c for c in criteria if c["points"] == 0],
                "ones": [c for c in criteria if c["points"] == 1],
                "maxed": [c for c in criteria if c["points"] == 2],
                "missing": [],
                "delta_4w": rng.choice([None, -3.0, -1.0, 0.0, 1.0, 2.0]),
                "weeks_at_max": rng.choice([0, 1, 5, 13, 20]) if score == 8 else 0,
                "weeks": [],
                "days_to_renewal": rng.choice([None, 30, 200]),
            }
        )
    return out


def naive(playbooks: Any, batch: list[dict[str, Any]]) -> list[str]:
    """What a first version would do: build templates from source for every account."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    env.filters["num"] = lambda v: "" if v is None else f"{v:g}"
    out = []
    for context in batch:
        action = ""
        for p in playbooks.playbooks:
            if env.compile_expression(p.when_source)(**context):
                action = env.from_string(p.body_source).render(**context)
                break
        out.append(action)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--naive-sample", type=int, default=2_000)
    args = parser.parse_args()
    playbooks = load_playbooks(ROOT / "playbooks" / "fr")
    print(
        f"{'accounts':>10} | {'agent s':>8} {'rows/s':>10} | {'naive s (extrap.)':>18} "
        f"{'rows/s':>10} | {'speed-up':>8}"
    )
    for n in args.sizes:
        batch = contexts(n)
        started = time.perf_counter()
        choice = playbooks.choose(batch)
        agent_s = time.perf_counter() - started
        assert not choice.failures, choice.failures
        sample = batch[: min(n, args.naive_sample)]
        started = time.perf_counter()
        naive(playbooks, sample)
        naive_s = (time.perf_counter() - started) * n / len(sample)
        print(
            f"{n:>10,} | {agent_s:>8.2f} {n / agent_s:>10,.0f} | {naive_s:>18.2f} "
            f"{n / naive_s:>10,.0f} | {naive_s / agent_s:>7.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
