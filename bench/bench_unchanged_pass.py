"""Benchmark: an unchanged pass (`run_pass` with the shipped French playbooks, on a memory
store, no HTTP), its median and fastest run; to compare two trees of the project.

    PYTHONPATH=/path/to/tree python bench/bench_unchanged_pass.py 10000 15

Run it in each tree, alternately, under the same load: the fastest run is the one the
machine's load touches least.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path.cwd()  # the tree measured: its agent, its tests' seed grid, its playbooks
sys.path.insert(0, str(ROOT))

from agent.config import parse_config  # noqa: E402
from agent.playbooks import load_playbooks  # noqa: E402
from agent.stores.memory import MemoryStore  # noqa: E402
from agent.sync import run_pass  # noqa: E402
from tests.test_history import HEADER as SEED_HEADER  # noqa: E402  (the seed grid's columns)
from tests.test_scoring import LOW, MID, TOP  # noqa: E402

HEADER = [*SEED_HEADER, "Date de renouvellement"]


def main(accounts: int, runs: int) -> None:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["sheet"]["workbook"] = "unused.xlsx"
    data["playbooks"]["dir"] = str(ROOT / "playbooks" / "fr")
    config = parse_config(data, ROOT / "config.toml")
    pick = random.Random(3)
    rows = [
        [f"Compte {i}", f"CSM {i % 20}", "PME"]
        + [pick.choice([TOP, MID, LOW])[j] for j in range(4)]
        + ["2027-03-31"]
        for i in range(accounts)
    ]
    store = MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")
    playbooks = load_playbooks(ROOT / "playbooks" / "fr")
    now = dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)
    run_pass(store, config, now=now, next_actions=playbooks)  # the first pass writes
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run_pass(store, config, now=now, next_actions=playbooks)
        seconds.append(time.perf_counter() - started)
        assert not result.plan.cells, "the pass was to change nothing"
    print(
        f"{ROOT.name}: unchanged pass, {accounts:,} accounts: median "
        f"{statistics.median(seconds) * 1000:.1f} ms, fastest {min(seconds) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 40,
    )
