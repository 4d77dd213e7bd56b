"""Benchmark: sync passes against the local Sheets API emulator, each beside its I/O floor.

    python bench/bench_sync.py                    # 1k, 10k and 100k rows
    python bench/bench_sync.py --sizes 1000 --repeat 5
    python bench/bench_sync.py --sizes 2000 --history-weeks 52   # a team a year in
    python bench/bench_sync.py --sizes 1000 10000 --repeat 1 --network 250ms+20Mbit

For each size, in one run, on the same emulated sheet (real gspread + google-auth over
HTTP on 127.0.0.1), three real agent passes (`run_pass` with the shipped playbooks, as
`health-agent run` does them), each followed by its I/O floor:
- first pass on a fresh sheet (every agent cell, a history row per account, the
  formatting); floor: a bare gspread metadata read, batch read of the accounts tab, the
  call that makes the history tab (as the agent's own call makes it: the cells cannot land
  in a tab that does not exist) and batch write of exactly the cells the agent wrote (its
  own request bodies, encoded in the timing with the standard library's json, as gspread
  encodes, to the very bytes the agent sent, and posted through gspread's HTTP client);
  and the same floor with what the issue requires of a pass that writes: the formatting
  (the agent's own call, which makes the tab too) and the key column read again after
  the write; no pass that does both can come nearer its floor than this line;
- unchanged pass; floor: the metadata read and the batch read of the same two tabs;
- a pass after one CSM edit; floor: the same reads and the agent's one write, replayed.
Baselines for the first pass:
- naive: a gspread script that updates cell by cell (`update_cell`), measured on 200
  rows and extrapolated;
- whole-range rewrite, in the style of gspread-dataframe: read the whole tab, write the
  whole tab back (split in 2 MB bodies so the emulator accepts it).
The floors run with Python's cycle collector paused, as the agent's passes do, so the
agent gets no credit for it, and are timed to the end of the pause, as a pass is: the
collector, back on, first walks every container made meanwhile that is still alive, and a
pass pays that walk before it returns. Calls and bytes are the emulator's counters. Every
agent pass and floor is measured `--repeat` times (each time on a fresh sheet) and its
median time printed: a single run of a sub-second pass moves by a fifth from one run to
the next. Each floor runs right after its pass, and "vs floor" is the median of the runs'
own ratios (a pass over the floor measured seconds later), so that a stretch of slower
machine, which slows a pass and its floor alike, does not move the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gspread  # noqa: E402
from gspread.urls import SPREADSHEET_VALUES_BATCH_UPDATE_URL  # noqa: E402

from agent.config import load_config  # noqa: E402
from agent.from_config import load_next_actions  # noqa: E402
from agent.stores.base import Tab  # noqa: E402
from agent.stores.google.client import http_client_class, load_credentials  # noqa: E402
from agent.stores.google.ranges import MAX_BODY_BYTES, bodies  # noqa: E402
from agent.stores.memory import MemoryStore  # noqa: E402
from agent.sync import collection_paused, run_pass  # noqa: E402
from tests.google_fixtures import (  # noqa: E402
    SPREADSHEET_ID,
    cell_updates_of,
    start_emulated_google,
)
from tests.sheets_emulator import SheetsEmulator  # noqa: E402
from tests.test_history import HEADER  # noqa: E402  (the seed grid's columns)

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
# network models (issue 17): a per-call latency, and a bandwidth for the bodies both ways
NETWORKS = {
    "none": (0.0, 0.0),  # the emulator on loopback: local CPU only
    "250ms": (0.25, 0.0),  # 250 ms per call, unlimited bandwidth
    "250ms+20Mbit": (0.25, 20e6 / 8),  # 250 ms per call and 20 Mbit/s
}
network = NETWORKS["none"]


def new_emulator() -> SheetsEmulator:
    """An emulator with the chosen network model (token calls pay it too, but every token
    is fetched before the timing starts)."""
    made = SheetsEmulator()
    made.latency_s, made.bandwidth_bytes_s = network
    return made


def rows(n: int, seed: int = 1) -> list[list[Any]]:
    config = load_config(ROOT / "config.example.toml")
    labels = [list(c.points or {}) for c in config.model.criteria]
    rng = random.Random(seed)
    return [
        [
            f"Compte {i:06d}",
            rng.choice(["Camille", "Hugo", "Léa"]),
            "PME",
            *(rng.choice(options) for options in labels),
        ]
        for i in range(n)
    ]


def counters(emulator: SheetsEmulator) -> tuple[int, int, int]:
    """Calls, bytes sent to the API and bytes it answered."""
    return emulator.api_calls(), sum(emulator.sizes()), emulator.answered_bytes


def gspread_client(store: Any, emulator: SheetsEmulator) -> gspread.Client:
    http = http_client_class(emulator.url, 30, time.sleep, 5, random.Random(), None)
    return gspread.Client(load_credentials(store.credentials_path), http_client=http)


def past_weeks(n: int, weeks: int) -> list[list[Any]] | None:
    """The history tab (header first) a team has after `weeks` weekly agent passes, made
    by the agent itself on an in-memory sheet; each week a tenth of the accounts read
    otherwise than the week before. None for no week."""
    if not weeks:
        return None
    config = load_config(ROOT / "config.example.toml")
    base, rng = rows(n), random.Random(7)
    store = MemoryStore(HEADER, base, key_column="Client", history_worksheet="Historique")
    for week in range(weeks):
        other = rows(n, seed=100 + week)
        week_rows = [other[i] if rng.random() < 0.1 else r for i, r in enumerate(base)]
        store.accounts = Tab("Comptes", list(HEADER), week_rows)
        run_pass(store, config, now=NOW - dt.timedelta(weeks=weeks - week))
    assert store.history is not None
    return [store.history.header, *store.history.rows]


def measure_agent(
    n: int, folder: Path, with_playbooks: bool, history: list[list[Any]] | None = None
) -> dict[str, Any]:
    """Three agent passes (the week's first, unchanged, one CSM edit), each beside its I/O
    floor; on a fresh sheet, or one with `history` (the week's first pass then appends)."""
    config = load_config(ROOT / "config.example.toml")
    config = dataclasses.replace(config, sheet=dataclasses.replace(config.sheet, backend="google"))
    playbooks = load_next_actions(config) if with_playbooks else None
    out: dict[str, Any] = {}

    def agent_pass(name: str, emulator: SheetsEmulator, store: Any, minutes: int) -> list[Any]:
        emulator.reset_counters()
        started = time.perf_counter()
        run_pass(store, config, now=NOW + dt.timedelta(minutes=minutes), next_actions=playbooks)
        out[name] = (time.perf_counter() - started, *counters(emulator))
        return emulator.bodies("write")

    def floor(
        name: str,
        emulator: SheetsEmulator,
        client: Any,
        tabs: list[str],
        writes: list[Any],
        batch_updates: list[Any] | None = None,
        key_reread: bool = False,
    ) -> None:
        emulator.reset_counters()
        started = time.perf_counter()
        with collection_paused():  # timed to its end, as run_pass is: see the docstring
            client.fetch_sheet_metadata(SPREADSHEET_ID)
            client.values_batch_get(
                SPREADSHEET_ID, tabs, params={"valueRenderOption": "UNFORMATTED_VALUE"}
            )
            for body in batch_updates or []:  # the history tab made, or the agent's whole call
                client.batch_update(SPREADSHEET_ID, body)
            for body in writes:  # the agent's bodies, the agent's bytes, posted bare
                client.request(
                    "post",
                    SPREADSHEET_VALUES_BATCH_UPDATE_URL % SPREADSHEET_ID,
                    data=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            if key_reread:  # the key column, read again once written, as the issue asks
                client.values_get(
                    SPREADSHEET_ID,
                    "'Comptes'!A2:A",
                    params={"valueRenderOption": "UNFORMATTED_VALUE", "majorDimension": "COLUMNS"},
                )
        out[name] = (time.perf_counter() - started, *counters(emulator))

    def fresh_client(emulator: SheetsEmulator) -> Any:
        """A gspread HTTP client on a fresh copy of the sheet the first pass found."""
        store = start_emulated_google(
            folder, HEADER, rows(n), emulator=emulator, history=history
        ).store
        store.read()  # the token, outside the measure
        return gspread_client(store, emulator).http_client

    with new_emulator() as emulator:
        made = start_emulated_google(folder, HEADER, rows(n), emulator=emulator, history=history)
        store = made.store
        store.read()  # the token, outside the measure
        first_tabs = ["'Comptes'", "'Historique'"] if history else ["'Comptes'"]
        first_bodies = agent_pass("first", emulator, store, 0) + emulator.bodies("format")
        first_writes = values_bodies(emulator, first_bodies)
        structure, looks = split_structure(first_bodies)
        formats = [{"requests": [r for body in structure + looks for r in body["requests"]]}]
        with new_emulator() as other:  # its floor, right after: same sheet, same cells
            client = fresh_client(other)
            for body in looks:  # the agent's rules and protections, outside the measure
                client.batch_update(SPREADSHEET_ID, body)
            floor("first floor", other, client, first_tabs, first_writes, structure)
        with new_emulator() as other:  # the floor with the two calls the issue requires
            client = fresh_client(other)
            floor("first required", other, client, first_tabs, first_writes, formats, True)
        del first_bodies, first_writes, formats  # parsed: not kept alive through the next passes
        agent_pass("unchanged", emulator, store, 10)
        client = gspread_client(store, emulator).http_client
        both = ["'Comptes'", "'Historique'"]
        floor("unchanged floor", emulator, client, both, [])
        criterion = config.model.criteria[0]
        labels = [label for label in (criterion.points or {}) if label != rows(n)[42][3]]
        made.edit("Compte 000042", criterion.column, labels[0])  # a CSM changes one cell
        edit_writes = values_bodies(emulator, agent_pass("edit", emulator, store, 20))
        floor("edit floor", emulator, client, both, edit_writes)
    return out


STRUCTURE = ("addSheet", "appendDimension")  # requests without which cells cannot land


def values_bodies(emulator: SheetsEmulator, agent_bodies: list[Any]) -> list[Any]:
    """The cells the agent wrote (updateCells in its spreadsheets.batchUpdate) as a bare
    script writes them: values:batchUpdate bodies, RAW, split under 2 MB."""
    data = [
        d
        for body in agent_bodies
        for d in (
            cell_updates_of(emulator, body)
            if "requests" in body
            else [d for d in body.get("data", []) if d.get("values") != [[None]]]  # not reads
        )
    ]
    return [json.loads(b) for b in bodies(data, MAX_BODY_BYTES)]


def _sheet_of(request: dict[str, Any]) -> Any:
    """The sheet id a formatting request's range names, if it names one."""
    body = next(iter(request.values()))
    where = body.get("range") if isinstance(body, dict) else None
    return where.get("sheetId") if isinstance(where, dict) else None


def split_structure(agent_bodies: list[Any]) -> tuple[list[Any], list[Any]]:
    """The agent's formatting call split in two: what makes room for the cells it writes
    (the history tab, more columns), which any script writing them must send too, and the
    rest (rules, protections, dropdowns, frozen header)."""
    made, rest = [], []
    for body in agent_bodies:
        requests = [r for r in body.get("requests", []) if "updateCells" not in r]
        made += [r for r in requests if next(iter(r)) in STRUCTURE]
        rest += [r for r in requests if next(iter(r)) not in STRUCTURE]
    # the look of a tab made in the same call (the history tab's widths) goes with it
    new_tabs = {r["addSheet"]["properties"].get("sheetId") for r in made if "addSheet" in r} - {
        None
    }
    on_new = [r for r in rest if _sheet_of(r) in new_tabs]
    made += on_new
    rest = [r for r in rest if r not in on_new]
    return ([{"requests": made}] if made else []), ([{"requests": rest}] if rest else [])


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each measure's median time over the runs, with its calls and bytes (the same every
    run) and every run's time (for the paired ratios)."""
    return {
        name: (
            statistics.median(run[name][0] for run in runs),
            *runs[0][name][1:4],
            [run[name][0] for run in runs],
        )
        for name in runs[0]
    }


def paired_ratio(agent: tuple[Any, ...], floor: tuple[Any, ...]) -> float:
    """The median, over the runs, of each run's agent time over the same run's floor: a
    pass and its floor are measured seconds apart, so a machine slower for a while slows
    both and the ratio holds, where the ratio of two medians would mix moments."""
    return statistics.median(a / f for a, f in zip(agent[4], floor[4], strict=True))


def measure_baselines(n: int, folder: Path) -> dict[str, Any]:
    """The naive cell-by-cell script and the whole-range rewrite, on a fresh sheet."""
    out: dict[str, Any] = {}
    sample = min(n, 200)
    with SheetsEmulator() as emulator:  # naive: one call per cell
        store = start_emulated_google(folder, HEADER, rows(sample), emulator=emulator).store
        ws = gspread_client(store, emulator).open_by_key(SPREADSHEET_ID).worksheet("Comptes")
        ws.add_cols(4)
        emulator.reset_counters()
        started = time.perf_counter()
        for r in range(2, sample + 2):
            for c, value in enumerate((6, "En bonne santé", "Adoption 1/2", "Relancer"), 8):
                ws.update_cell(r, c, value)
        seconds = (time.perf_counter() - started) * n / sample
        calls, sent, got = counters(emulator)
        out["naive"] = (seconds, calls * n // sample, sent * n // sample, got * n // sample)

    with SheetsEmulator() as emulator:  # whole-range rewrite, gspread-dataframe style
        store = start_emulated_google(folder, HEADER, rows(n), emulator=emulator).store
        client = gspread_client(store, emulator).http_client
        store.read()
        client.batch_update(
            SPREADSHEET_ID,
            {
                "requests": [
                    {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 4}}
                ]
            },
        )
        emulator.reset_counters()
        started = time.perf_counter()
        values = client.values_get(SPREADSHEET_ID, "'Comptes'")["values"]
        grid = [r + [""] * (11 - len(r)) for r in values]
        for line in grid[1:]:
            line[7:11] = [6, "En bonne santé", "Adoption 1/2", "Relancer"]
        step = max(1, 1_800_000 // max(1, len(str(grid[1])) * 2))
        for start in range(0, len(grid), step):
            client.values_update(
                SPREADSHEET_ID,
                f"'Comptes'!A{start + 1}",
                params={"valueInputOption": "RAW"},
                body={"values": grid[start : start + step]},
            )
        out["rewrite"] = (time.perf_counter() - started, *counters(emulator))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (median)")
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=0,
        help="weeks of history each sheet starts with (a team some time in: the first "
        "pass is then the week's first, appending to it)",
    )
    parser.add_argument(
        "--network",
        choices=sorted(NETWORKS),
        default="none",
        help="a network model for every call, agent and floor alike: none (loopback), "
        "250ms (per call), 250ms+20Mbit (per call, and 20 Mbit/s for the bodies); the "
        "baselines run only without one (the naive script alone is 800 calls)",
    )
    args = parser.parse_args()
    global network
    network = NETWORKS[args.network]
    print(f"Network model: {args.network}")
    repeat = max(1, args.repeat)
    weeks = max(0, args.history_weeks)
    if weeks:
        print(f"Each sheet starts with {weeks} weeks of history (a row per account per week).")
    print(
        f"{'rows':>8} | {'what':<36} {'seconds':>8} {'calls':>7} {'MB sent':>8} {'MB got':>7} "
        "| vs floor"
    )

    def line(n: int, label: str, figures: tuple[Any, ...], ratio: float) -> None:
        seconds, calls, sent, got = figures[:4]
        print(
            f"{n:>8,} | {label:<36} {seconds:>8.2f} {calls:>7,} {sent / 1e6:>8.2f} "
            f"{got / 1e6:>7.2f} | {ratio:>6.2f}x",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            history = past_weeks(n, weeks)
            variants = [
                (
                    name,
                    median_of([measure_agent(n, Path(tmp), flag, history) for _ in range(repeat)]),
                )
                for name, flag in (("store + scoring", False), ("with playbooks", True))
            ]
            baselines = None if weeks or args.network != "none" else measure_baselines(n, Path(tmp))
            for kind, floor_label in (
                ("first", "I/O floor: read, write" if weeks else "I/O floor: read, add tab, write"),
                ("unchanged", "I/O floor: read the same tabs"),
                ("edit", "I/O floor: read, write same cells"),
            ):
                title = {
                    "first": "first pass",
                    "unchanged": "unchanged pass",
                    "edit": "one CSM edit",
                }
                for variant, result in variants:
                    floor = result[f"{kind} floor"]
                    line(n, f"agent {title[kind]}, {variant}", result[kind],
                         paired_ratio(result[kind], floor))  # fmt: skip
                    line(n, f"  {floor_label}", floor, 1.0)
                    if kind == "first":
                        required = result["first required"]
                        line(n, "  floor + format call, key re-read", required,
                             paired_ratio(required, floor))  # fmt: skip
                if kind == "first" and baselines is not None:
                    first_floor = variants[0][1]["first floor"][0]
                    for name, label in (("naive", "naive cell by cell*"),
                                        ("rewrite", "whole-range rewrite")):  # fmt: skip
                        line(n, f"  {label}", baselines[name], baselines[name][0] / first_floor)
    if not weeks and args.network == "none":
        print("* measured on 200 rows, extrapolated; compared with the floor of the pass")
        print("  without playbooks (it writes no next actions either)")


if __name__ == "__main__":
    main()
