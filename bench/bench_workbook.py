"""Benchmark: the workbook store after a year of history, beside its floor and the old store.

    .venv/bin/python bench/bench_workbook.py                  # 1,000 and 5,000 accounts
    .venv/bin/python bench/bench_workbook.py --sizes 1000 --skip-old

For each size, a workbook made by the startup template, filled with that many accounts
and 52 weeks of history (built directly: the history rows of the 52 weeks before the
benchmark's week, written in one go), then in one run, side by side:
- floor: openpyxl's read-only parse of the same file (both tabs, every value), the least
  any reader of the file pays;
- first: the week's first pass (a history row per account added to the 52 weeks; the
  retention, 104 weeks by default, drops none);
- unchanged: a pass over a file the same pass just wrote (nothing to write);
- edit 3: a pass after a CSM changed 3 criterion cells (3 accounts rescored: their agent
  cells and this week's history rows change);
for the new store and for the old one (bench/baseline_workbook_store.py: main's store,
which loads the whole file with openpyxl and saves it back). A pass is `run_pass` with
the template's playbooks, as `health-agent run` does it. Each measure runs in its own
process, on its own copy of the file: its peak memory is that process's peak resident
size (VmHWM; Python, pandas and openpyxl imported included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=10)
WEEKS = 52
SCENARIOS = ("first", "unchanged", "edit3")


def _config(folder: Path):  # noqa: ANN202 - a Config
    from agent.config import load_config

    return load_config(folder / "config.toml")


def _accounts(n: int) -> list[list[object]]:
    usage = ["Active 5 jours sur 7", "Usage sporadique", "Inactif"]
    reply = ["Rapide et engagé", "Réponses occasionnelles", "Silence prolongé"]
    feedback = ["Positif ou neutre", "Quelques tensions", "Plainte ou friction claire"]
    adoption = ["Test actif", "Stagnation", "Régression"]
    rows = []
    for i in range(n):
        rows.append(
            [
                f"Compte {i:05d}",
                ["Camille", "Hugo", "Inès", "Marc"][i % 4],
                ["Commerce", "Services", "Industrie"][i % 3],
                usage[i % 3],
                reply[(i // 3) % 3],
                feedback[(i // 9) % 3],
                adoption[(i // 27) % 3],
                dt.date(2027, 1, 1) + dt.timedelta(days=i % 365),
                "",
            ]
        )
    return rows


def prepare(folder: Path, n: int) -> None:
    """folder/first.xlsx, unchanged.xlsx, edit3.xlsx and config.toml, for n accounts."""
    from openpyxl import Workbook

    from agent.from_config import load_next_actions
    from agent.history_look import week_label
    from agent.plan import CellWrite, HistoryRows, WritePlan
    from agent.sheet_templates import init
    from agent.stores.workbook import WorkbookStore
    from agent.sync import run_pass

    work = folder / "comptes.xlsx"
    init("startup", "fr", work, folder / "config.toml")
    config = _config(folder)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(config.sheet.worksheet)
    from agent.sheet_templates import load_template

    header = load_template("startup", "fr").columns
    ws.append(header)
    for row in _accounts(n):
        ws.append(row)
    wb.save(work)

    def store() -> WorkbookStore:
        return WorkbookStore(
            work,
            worksheet=config.sheet.worksheet,
            key_column=config.sheet.key_column,
            history_worksheet=config.sheet.history_worksheet,
        )

    playbooks = load_next_actions(config)
    last_week = run_pass(store(), config, now=NOW - dt.timedelta(days=7), next_actions=playbooks)
    hist = store().read().history
    assert hist is not None
    rows = hist.rows
    columns: list[list[object]] = [[] for _ in hist.header]
    for back in range(2, WEEKS + 1):  # weeks before the one just written: 52 in all
        day = (NOW - dt.timedelta(days=7 * back)).date()
        iso = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
        week = week_label(iso, config.language)  # as the agent writes it: "S47 2026"
        for row in rows:
            for j, value in enumerate([week, day.isoformat(), *row[2:]]):
                columns[j].append(value)
    store().write(WritePlan(history_header=hist.header, history_rows=HistoryRows(columns)))
    del last_week
    shutil.copyfile(work, folder / "first.xlsx")
    run_pass(store(), config, now=NOW, next_actions=playbooks)
    shutil.copyfile(work, folder / "unchanged.xlsx")
    column = config.model.criteria[0].column
    edits = [CellWrite(f"Compte {i:05d}", column, "Inactif") for i in (0, 3, 6)]
    store().write(WritePlan(cells=edits))
    shutil.copyfile(work, folder / "edit3.xlsx")


def one(folder: Path, impl: str, scenario: str) -> dict[str, float]:
    """Run one measure in this process; seconds and peak MB."""
    work = folder / f"run-{impl}-{scenario}.xlsx"
    shutil.copyfile(
        folder / ("unchanged.xlsx" if scenario == "floor" else f"{scenario}.xlsx"), work
    )
    config = _config(folder)
    if scenario == "floor":
        from openpyxl import load_workbook

        started = time.perf_counter()
        wb = load_workbook(work, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for _ in ws.iter_rows(values_only=True):
                pass
        wb.close()
        seconds = time.perf_counter() - started
    else:
        from agent.from_config import load_next_actions
        from agent.sync import run_pass

        if impl == "new":
            from agent.stores.workbook import WorkbookStore
        else:
            from baseline_workbook_store import WorkbookStore  # type: ignore[no-redef]
        store = WorkbookStore(
            work,
            worksheet=config.sheet.worksheet,
            key_column=config.sheet.key_column,
            history_worksheet=config.sheet.history_worksheet,
        )
        playbooks = load_next_actions(config)
        started = time.perf_counter()
        result = run_pass(
            store, config, now=NOW if scenario == "first" else LATER, next_actions=playbooks
        )
        seconds = time.perf_counter() - started
        # the old store cannot compare the look it never knew (wrap, notes, the frozen
        # key): given today's plans it rewrites its formatting on every pass, so its
        # unchanged pass now includes a save; the new store's writes nothing
        unchanged = scenario == "unchanged"
        assert not (unchanged and impl == "new" and result.report.wrote_anything), result.report
    peak = _peak_mb()
    work.unlink()
    return {"seconds": seconds, "peak_mb": peak}


def _peak_mb() -> float:
    """This process's peak resident size (VmHWM: unlike ru_maxrss, not inherited from the
    parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(folder: Path, impl: str, scenario: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(folder), impl, scenario],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:  # say why, not only that it failed
        raise SystemExit(f"{impl} {scenario} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--skip-old", action="store_true", help="leave out the old store")
    parser.add_argument("--one", nargs=3, metavar=("FOLDER", "IMPL", "SCENARIO"))
    args = parser.parse_args()
    if args.one:
        folder, impl, scenario = args.one
        print(json.dumps(one(Path(folder), impl, scenario)))
        return 0
    impls = ["new"] if args.skip_old else ["new", "old"]
    print(
        f"{'accounts':>8} {'measure':<10} {'store':<5} {'seconds':>8} {'x floor':>8} {'peak MB':>8}"
    )
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            prepare(folder, n)
            size = (folder / "unchanged.xlsx").stat().st_size / 1e6
            floor = measure(folder, "openpyxl", "floor")
            print(
                f"{n:>8} {'floor':<10} {'-':<5} {floor['seconds']:>8.2f} {1:>8.2f} "
                f"{floor['peak_mb']:>8.0f}   (file {size:.1f} MB, {WEEKS} weeks of history)"
            )
            for scenario in SCENARIOS:
                for impl in impls:
                    got = measure(folder, impl, scenario)
                    ratio = got["seconds"] / floor["seconds"]
                    print(
                        f"{n:>8} {scenario:<10} {impl:<5} {got['seconds']:>8.2f} "
                        f"{ratio:>8.2f} {got['peak_mb']:>8.0f}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
