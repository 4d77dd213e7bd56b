"""Benchmark: one real pass over a sheet with hostile playbooks, its time and peak memory.

    python bench/bench_hostile_playbooks.py                 # 1,000 accounts
    python bench/bench_hostile_playbooks.py --accounts 10000 --json

The shipped playbooks plus every hostile one of `tests/hostile_playbooks.py` (nested
loops, recursion, each text-size bomb, copies of a list until gigabytes, a structure
whose text is gigabytes, a comparison that runs for hours in one C call, a body with
control characters), each taking one
account. Printed: the pass's seconds, the peak resident memory of this process (/proc's
VmHWM) and of its playbook workers (`getrusage`, so run it in a process of its own), the
playbooks named, and whether every other account kept the action the shipped playbooks
alone give it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import example_config  # noqa: E402
from tests.hostile_playbooks import CONTROL, HOSTILE, hostile_folder, one_pass  # noqa: E402


def own_peak_mb() -> float:
    """This process's peak resident memory. /proc's VmHWM where there is one: getrusage's
    also counts the process this one was started from (Linux keeps it across exec), a
    test runner's hundreds of megabytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="one JSON line, for a test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = example_config(folder)
        shipped = one_pass(config, ROOT / "playbooks" / "fr", args.accounts)
        taken = hostile_folder(folder / "fr")
        started = time.perf_counter()
        hostile = one_pass(config, folder / "fr", args.accounts)
        seconds = time.perf_counter() - started
    control_key = taken[CONTROL[0]]
    expected = dict(zip(shipped.accounts["key"], shipped.accounts["next_action"], strict=True))
    got = dict(zip(hostile.accounts["key"], hostile.accounts["next_action"], strict=True))
    kept = all(got[key] == action for key, action in expected.items() if key != control_key)
    named = sorted(f.split(":")[0] for f in hostile.playbook_failures)
    peak_mb = own_peak_mb()
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {
        "accounts": args.accounts,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb, 1),
        "worker_peak_mb": round(worker_mb, 1),
        "named": named,
        "every_hostile_named_once": named == sorted(HOSTILE),
        "other_accounts_kept": kept,
        "control_action": got[control_key],
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:>26}: {json.dumps(value, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
