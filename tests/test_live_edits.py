"""CSMs sort, insert, delete and edit while the agent runs: no score on the wrong account.

A hypothesis state machine interleaves CSM changes with agent passes against the Sheets
API emulator; some changes land in the middle of a pass (between the agent's read and
its write, or between its write and its re-read of the key column).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent.stores.google import raw
from agent.sync import run_pass
from tests.conftest import example_config
from tests.google_fixtures import start_emulated_google
from tests.sheets_emulator import Call, SheetsEmulator
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

AGENT = ["Score", "Statut", "Pourquoi", "Prochaine action"]
INPUTS = len(HEADER)
LABELS = [[TOP[j], MID[j], LOW[j]] for j in range(4)]
CHANGES = st.sampled_from(["sort", "reverse", "insert", "delete", "edit"])
MOMENTS = st.sampled_from(["between passes", "before the write", "before the re-read"])


class LiveSheet(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="live-"))
        self.config = example_config(self.folder)
        self.config = dataclasses.replace(
            self.config, sheet=dataclasses.replace(self.config.sheet, backend="google")
        )
        self.names = (f"Compte {i}" for i in itertools.count())
        rows = [
            [next(self.names), "Camille", "PME", *(LABELS[j][i % 3] for j in range(4))]
            for i in range(6)
        ]
        self.google = start_emulated_google(self.folder, HEADER, rows)
        self.emulator, self.store, self.tab = (
            self.google.emulator,
            self.google.store,
            self.google.tab,
        )
        self.expected_inputs = [list(r) for r in rows]  # what the CSMs typed, in order
        self.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
        self.desired: dict[str, dict[str, Any]] = {}
        self.rng_seed = 0

    def teardown(self) -> None:
        self.google.close()

    # a CSM's change, applied to the sheet and to what we expect the CSM cells to be
    def csm(self, change: str, seed: int) -> None:
        while len(self.tab.rows) > 1 and all(v == "" for v in self.tab.rows[-1]):
            self.tab.rows.pop()  # empty cells at the bottom: no row for a person
        data = self.tab.rows[1:]
        n = len(data)
        with self.emulator.lock:
            if change == "sort" and n:
                order = sorted(range(n), key=lambda i: (str(data[i][3]), str(data[i][0])))
                self.tab.rows[1:] = [data[i] for i in order]
                self.expected_inputs = [self.expected_inputs[i] for i in order]
            elif change == "reverse":
                self.tab.rows[1:] = list(reversed(data))
                self.expected_inputs.reverse()
            elif change == "insert":
                at = seed % (n + 1)
                row = [next(self.names), "Hugo", "ETI", *(LABELS[j][seed % 3] for j in range(4))]
                self.tab.insert_row(at + 1, list(row))
                self.expected_inputs.insert(at, list(row))
            elif change == "delete" and n > 1:
                at = seed % n
                self.tab.delete_row(at + 1)
                del self.expected_inputs[at]
            elif change == "edit" and n:
                at, col = seed % n, 3 + seed % 4
                value = LABELS[col - 3][(seed // 4) % 3]
                self.tab.set(at + 1, col, value)
                self.expected_inputs[at][col] = value

    @rule(change=CHANGES, seed=st.integers(0, 1000))
    def csm_edits_between_passes(self, change: str, seed: int) -> None:
        self.csm(change, seed)

    @rule(change=CHANGES, moment=MOMENTS, seed=st.integers(0, 1000))
    def agent_pass(self, change: str, moment: str, seed: int) -> None:
        fired = {"write": False, "done": False}

        def hook(call: Call, emulator: SheetsEmulator) -> None:
            kind = call.kind
            if fired["done"]:
                return
            if moment == "before the write" and kind == "write":
                fired["done"] = True
                self.csm(change, seed)
            elif moment == "before the re-read":
                if kind == "write":
                    fired["write"] = True
                elif kind == "read" and fired["write"]:
                    fired["done"] = True
                    self.csm(change, seed)

        if moment == "between passes":
            self.csm(change, seed)
        else:
            self.emulator.before_call(hook)
        self.now += dt.timedelta(minutes=10)
        try:
            result = run_pass(self.store, self.config, now=self.now)
        finally:
            self.emulator.clear_hooks()
        self.desired = result.plan.desired or {}

    @invariant()
    def no_csm_cell_changed(self) -> None:
        rows = list(self.tab.rows[1:])
        while rows and all(v == "" for v in rows[-1]):
            rows.pop()  # cells set to "" are empty cells: Google shows no row there
        inputs = [list(r[:INPUTS]) + [""] * (INPUTS - len(r[:INPUTS])) for r in rows]
        assert inputs == [list(r) for r in self.expected_inputs]

    @invariant()
    def every_agent_cell_belongs_to_its_rows_key(self) -> None:
        header = self.tab.rows[0]
        if "Score" not in header or not self.desired:
            return
        at = [header.index(c) for c in AGENT]
        for row in self.tab.rows[1:]:
            key = row[0]
            cells = [row[i] if i < len(row) else "" for i in at]
            wanted = self.desired.get(key)
            if wanted is None:
                continue  # a row a CSM added after the last pass: the next pass fills it
            assert cells == [raw(wanted[c]) for c in AGENT], key


LiveSheet.TestCase.settings = settings(max_examples=25, stateful_step_count=8, deadline=None)
test_csm_edits_interleaved_with_agent_passes = LiveSheet.TestCase
