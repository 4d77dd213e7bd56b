"""Each benchmark still runs, at a size that takes seconds: a bench nobody runs rots (after
a merge, bench_sync's floor sent the history tab's widths before the tab existed, and
nothing failed until the figures were wanted). Speed itself is never asserted here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SMALL = {
    "bench_sync.py": ["--sizes", "100", "--repeat", "1"],
    "bench_scoring.py": ["--sizes", "200"],
    "bench_playbooks.py": ["--sizes", "200", "--naive-sample", "20"],
    "bench_unchanged_pass.py": ["200", "2"],
    "bench_workbook.py": ["--sizes", "50"],
}


@pytest.mark.parametrize("bench", sorted(SMALL))
def test_the_benchmark_runs_to_its_end_at_a_small_size(bench: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / bench), *SMALL[bench]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.strip(), "it printed no figures"
