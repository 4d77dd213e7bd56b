"""CSMs insert, delete and move columns and type values (`80 %`, `31/03/2027`, `3,5`,
`1 234 €`) while the agent runs, in a French and in an American sheet (issue 17).

A hypothesis state machine interleaves a CSM's changes with agent passes (`run_pass`, the
whole line from read to write) against the Sheets API emulator; some changes land in the
middle of a pass (before its formatting call, before its values write, between the write
and the re-read of keys). After every step:

- no person's cell changes: each column a person owns, found by its header wherever it
  moved, holds what the person typed, row for row;
- the agent's values are in the agent's columns (found by their headers), on their
  account's row: those of the last pass, or, when a column changed during that pass, of
  the pass before (they land on the next pass: checked when the next pass is calm);
- every pass scores exactly as the same values typed as text would: the same pass on a
  memory store holding the text the CSM typed gives the same four agent cells.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from agent.cells import parse_date, parse_number
from agent.config import Config, parse_config
from agent.stores.base import Tab as StoreTab
from agent.stores.google import raw
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.conftest import ROOT
from tests.google_fixtures import SPREADSHEET_ID, start_emulated_google
from tests.sheets_emulator import Value
from tests.sheets_emulator.grid import entered
from tests.test_scoring import LOW, MID, TOP

QUOTED = re.compile(r"\(([^()]*)\)")  # a value "why" quotes
AGENT = ["Score", "Statut", "Pourquoi", "Prochaine action"]
LABELLED = ["Utilisation hebdomadaire", "Feedback client"]
LABELS = {"Utilisation hebdomadaire": [TOP[0], MID[0], LOW[0]],
          "Feedback client": [TOP[2], MID[2], LOW[2]]}  # fmt: skip
TYPED = ["Adoption", "Date de renouvellement", "NPS", "ARR"]
# what a CSM types into each typed column, in each locale, and the same value as text
# (as the agent reads text: the tests of cells.py say which forms it reads)
TYPINGS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "fr_FR": {
        "Adoption": [("80 %", "80 %"), ("45 %", "45 %"), ("12,5 %", "12,5 %")],
        "Date de renouvellement": [
            ("31/03/2027", "31/03/2027"),
            ("15/01/2027", "15/01/2027"),
            ("01/12/2026", "01/12/2026"),
        ],
        "NPS": [("8,5", "8,5"), ("9", "9"), ("3,5", "3,5")],
        "ARR": [("1 234 €", "1 234 €"), ("500 €", "500 €"), ("12 000 €", "12 000 €")],
    },
    "en_US": {
        "Adoption": [("80%", "80%"), ("45%", "45%"), ("12.5%", "12.5%")],
        "Date de renouvellement": [
            ("3/31/2027", "2027-03-31"),
            ("1/15/2027", "2027-01-15"),
            ("12/1/2026", "2026-12-01"),
        ],
        "NPS": [("8.5", "8.5"), ("9", "9"), ("3.5", "3.5")],
        "ARR": [("$1,234", "$1,234"), ("$500", "$500"), ("$12,000", "$12,000")],
    },
}
INPUTS = ["Client", "CSM", "Segment", *LABELLED, *TYPED, "Notes"]
DELETABLE = "Notes"  # and the columns a CSM inserted: no criterion reads them
ROW_CHANGES = ["sort", "reverse", "insert", "delete", "label", "type"]
COLUMN_CHANGES = ["insert column", "delete column", "move column"]
CHANGES = st.sampled_from(ROW_CHANGES + COLUMN_CHANGES)
DURING = st.sampled_from(ROW_CHANGES + COLUMN_CHANGES * 3)  # columns: the point here
MOMENTS = st.sampled_from([("", "format"), ("", "write"), ("write", "read")])


def typed_config(folder: Path) -> Config:
    """config.example.toml on Google, with two label criteria and four typed ones: a
    percent, a renewal date, a decimal, an amount."""
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["sheet"].update({"backend": "google", "spreadsheet_id": SPREADSHEET_ID})
    data["playbooks"]["dir"] = str(ROOT / "playbooks" / "fr")
    data["digest"]["outbox"] = str(folder / "outbox")
    data["state"]["dir"] = str(folder / "state")
    labelled = [c for c in data["model"]["criteria"] if c["column"] in LABELLED]
    data["model"]["criteria"] = [
        *labelled,
        {"id": "adoption", "column": "Adoption", "label": "Adoption", "weight": 1, "unit": "%",
         "bands": [{"min": 70, "points": 2}, {"min": 40, "points": 1}, {"min": 0, "points": 0}]},
        {"id": "renewal", "column": "Date de renouvellement", "label": "Renouvellement",
         "weight": 1, "days_until": True,
         "bands": [{"min": 90, "points": 2}, {"min": 30, "points": 1},
                   {"min": -100000, "points": 0}]},
        {"id": "nps", "column": "NPS", "label": "NPS", "weight": 1,
         "bands": [{"min": 9, "points": 2}, {"min": 7, "points": 1}, {"min": 0, "points": 0}]},
        {"id": "arr", "column": "ARR", "label": "ARR", "weight": 1,
         "bands": [{"min": 1000, "points": 2}, {"min": 0, "points": 0}]},
    ]  # fmt: skip
    return parse_config(data, folder / "config.toml")


def as_read(desired: dict[str, Any]) -> dict[str, list[Any]]:
    """The agent's four cells per account, a value "why" quotes as the number or date it
    reads as: a typed 3.5 is quoted "3.5" where the text is quoted as typed, "3,5"."""

    def same(quoted: re.Match[str]) -> str:
        text = quoted.group(1)
        found = parse_number(text)
        if found is None:
            found = parse_date(text)
        return f"({text if found is None else found})"

    return {
        key: [raw(cells[c]) for c in AGENT[:2]]
        + [QUOTED.sub(same, str(raw(cells[c]))) for c in AGENT[2:]]
        for key, cells in desired.items()
    }


class CsmColumnsAndTypedValues(RuleBasedStateMachine):
    """A sheet the agent scores while CSMs reshape its columns and type values."""

    @initialize(locale=st.sampled_from(["fr_FR", "en_US"]), seed=st.integers(0, 99))
    def a_sheet_of_accounts(self, locale: str, seed: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="live-columns-"))
        self.config = typed_config(self.folder)
        self.locale = locale
        self.keys = (f"Compte {i:03d}" for i in itertools.count())
        self.google = start_emulated_google(self.folder, INPUTS, [], key_column="Client")
        self.emulator, self.tab = self.google.emulator, self.google.tab
        self.emulator.spreadsheets[SPREADSHEET_ID].locale = locale
        self.tab.rows[1:] = []
        # the CSM cells, row for row in sheet order: column name -> what Google stores
        self.persons: list[str] = list(INPUTS)
        self.accounts: list[dict[str, Value]] = []
        self.as_text: dict[str, dict[str, str]] = {}  # key -> column -> the text typed
        for i in range(5):
            self.add_account(len(self.accounts), seed + i)
        self.twin = MemoryStore(
            INPUTS, [], key_column="Client", history_worksheet="Historique"
        )  # the same accounts, typed as text
        self.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
        self.desired: dict[str, dict[str, Any]] = {}
        # the cells of each pass since the last one no column changed during: a column
        # changed mid-pass, the agent's cells land on the next pass
        self.since_calm: list[dict[str, dict[str, Any]]] = []
        self.lagging = False  # a column changed during the last pass
        self.calm_once = False  # a pass no column changed during: the agent's cells are in
        self.inserted = 0
        self.adding_agent_columns = False  # during a pass that adds the agent's columns
        self.in_pass = False  # a change made between the agent's read and its write

    def teardown(self) -> None:
        if hasattr(self, "google"):
            self.google.close()

    # the sheet, as a person sees it ------------------------------------------------------

    def header(self) -> list[str]:
        return [str(h) for h in self.tab.header()]

    def data_rows(self) -> list[list[Value]]:
        """The rows below the header, without the blank ones at the bottom (no person's)."""
        rows = list(self.tab.rows[1:])
        while rows and all(v == "" for v in rows[-1]):
            rows.pop()
        return rows

    def add_account(self, at: int, seed: int) -> None:
        """A CSM types a new account on data row `at`: labels, typed values, a note."""
        key = next(self.keys)
        texts = {"Client": key, "CSM": "Hugo", "Segment": "PME", "Notes": f"note {key}"}
        for j, column in enumerate(LABELLED):
            texts[column] = LABELS[column][(seed + j) % 3]
        for j, column in enumerate(TYPED):
            texts[column] = TYPINGS[self.locale][column][(seed // 3 + j) % 3][0]
        stored = {c: entered(texts.get(c, ""), "USER_ENTERED", self.locale) for c in self.persons}
        header = self.header()
        line: list[Value] = [""] * len(header)
        for column, value in stored.items():
            line[header.index(column)] = value
        while line and line[-1] == "":
            line.pop()
        self.tab.insert_row(at + 1, line)
        self.accounts.insert(at, stored)
        self.as_text[key] = {c: self.text_of(c, texts[c]) for c in texts}

    def text_of(self, column: str, typed_text: str) -> str:
        """The same value typed as text."""
        for typed_as, text in TYPINGS[self.locale].get(column, []):
            if typed_as == typed_text:
                return text
        return typed_text

    # a CSM's change, on the sheet and on what the person cells should be -----------------

    def csm(self, change: str, seed: int) -> None:
        with self.emulator.lock:
            rows = self.data_rows()
            self.tab.rows[1:] = rows
            n, header = len(rows), self.header()
            if change in ("sort", "reverse") and n:
                at = header.index("Segment" if change == "sort" else "Client")
                order = sorted(range(n), key=lambda i: (str(rows[i][at:at + 1]), i),
                               reverse=change == "reverse")  # fmt: skip
                self.tab.rows[1:] = [rows[i] for i in order]
                self.accounts = [self.accounts[i] for i in order]
            elif change == "insert":
                self.add_account(seed % (n + 1), seed)
            elif change == "delete" and n > 1:
                self.tab.delete_row(seed % n + 1)
                gone = self.accounts.pop(seed % n)
                del self.as_text[str(gone["Client"])]
            elif change in ("label", "type") and n:
                self.edit(seed % n, change, seed)
            elif change in COLUMN_CHANGES:
                self.reshape(change, seed)

    def edit(self, at: int, change: str, seed: int) -> None:
        columns = LABELLED if change == "label" else TYPED
        column = columns[seed % len(columns)]
        if change == "label":
            text = LABELS[column][(seed // 2) % 3]
        else:
            text = TYPINGS[self.locale][column][(seed // 4) % 3][0]
        value = entered(text, "USER_ENTERED", self.locale)
        self.tab.set(at + 1, self.header().index(column), value)
        self.accounts[at][column] = value
        self.as_text[str(self.accounts[at]["Client"])][column] = self.text_of(column, text)

    def reshape(self, change: str, seed: int) -> None:
        header = self.header()
        width = len(header)
        if change == "insert column":  # anywhere: before the key, between the agent's
            name = f"Colonne {self.inserted}"
            self.inserted += 1
            self.tab.insert_column(seed % (width + 1), name)
            self.persons.append(name)
            col = self.header().index(name)
            # a note on one row; not during a pass: typed between the read and the write into
            # a column inserted meanwhile, where the write falls, it would be put back as the
            # read saw it, blank (only writes addressed by developer metadata could keep it)
            noted = seed % max(len(self.accounts), 1) if not self.in_pass else -1
            for i, account in enumerate(self.accounts):
                account[name] = f"{name} {i}" if i == noted else ""
                if account[name]:
                    self.tab.set(i + 1, col, account[name])
        elif change == "delete column":
            deletable = [c for c in self.persons if c == DELETABLE or c.startswith("Colonne")]
            if self.adding_agent_columns:
                # the last column deleted during the pass that adds the agent's columns
                # looks to the store exactly like a blank column inserted left of it (the
                # agent's new header cells cover the difference); it takes it for an insert,
                # which loses nothing but brings the deleted column back: left out here
                deletable = [c for c in deletable if c != header[-1]]
            if deletable:
                name = deletable[seed % len(deletable)]
                self.tab.delete_column(header.index(name))
                self.persons.remove(name)
                for account in self.accounts:
                    del account[name]
        else:  # any column, the key's (often) and the agent's too, anywhere (often an end)
            start = header.index("Client") if seed % 3 == 0 else (seed // 3) % width
            to = [0, width, (seed // 7) % (width + 1)][(seed // 2) % 3]
            self.tab.move_columns(start, start + 1, to)

    # rules -----------------------------------------------------------------------------------

    @rule(change=CHANGES, seed=st.integers(0, 1000))
    def csm_between_passes(self, change: str, seed: int) -> None:
        self.csm(change, seed)

    @rule(change=DURING, moment=MOMENTS, seed=st.integers(0, 1000))
    def agent_pass(self, change: str, moment: tuple[str, str], seed: int) -> None:
        # a value typed first, so that most passes have cells to write
        self.csm("type" if seed % 2 else "label", seed // 2)
        texts = {key: dict(cells) for key, cells in self.as_text.items()}  # as the pass reads
        order = [str(a["Client"]) for a in self.accounts]
        seen: list[list[str]] = []  # the header the CSM saw mid-pass, when a column was gone

        def mid_pass(_: object) -> None:
            self.in_pass = True
            try:
                self.csm(change, seed)
            except ValueError:  # a person's column not in the header: the agent's doing
                seen.append(self.header())
            finally:
                self.in_pass = False

        self.adding_agent_columns = any(name not in self.header() for name in AGENT)
        fired = self.emulator.between(*moment, mid_pass)
        self.now += dt.timedelta(minutes=10)
        try:
            result = run_pass(self.google.store, self.config, now=self.now)
        finally:
            self.emulator.clear_hooks()
        self.adding_agent_columns = False
        assert not seen, ("a person's column was gone mid-pass", self.persons, seen)
        self.lagging = fired() and change in COLUMN_CHANGES
        event(f"{change} during a pass" if fired() else "a calm pass")
        self.desired = result.plan.desired or {}
        self.since_calm = [*self.since_calm, self.desired] if self.lagging else [self.desired]
        self.calm_once = self.calm_once or not self.lagging
        self.scores_as_text(order, texts, self.desired)

    def scores_as_text(
        self, order: list[str], texts: dict[str, dict[str, str]], desired: dict[str, Any]
    ) -> None:
        """The same pass on the same accounts typed as text: the same agent cells."""
        header = [*INPUTS, *AGENT]
        agent = {str(r[0]): r for r in self.twin.accounts.rows}
        rows = []
        for key in order:
            kept = agent.get(key, [])
            rows.append([texts[key].get(c, "") for c in INPUTS] + list(kept[len(INPUTS) :]))
        self.twin.accounts = StoreTab("Comptes", header, rows)
        twin = run_pass(self.twin, self.config, now=self.now).plan.desired or {}
        assert as_read(desired) == as_read(twin)

    # what must always hold ---------------------------------------------------------------------

    @invariant()
    def no_persons_cell_changed(self) -> None:
        header = self.header()
        for name in [*self.persons, *AGENT]:
            assert header.count(name) <= 1, (name, header)
        at = {name: header.index(name) for name in self.persons}
        rows = self.data_rows()
        found = [{name: (row[c] if c < len(row) else "") for name, c in at.items()} for row in rows]
        assert found == self.accounts
        # no column but the persons' and the agent's holds anything
        known = {*self.persons, *AGENT}
        for c, name in enumerate(header):
            if name not in known:
                assert all((row[c] if c < len(row) else "") == "" for row in rows), (name, c)

    @invariant()
    def agent_cells_are_their_accounts(self) -> None:
        header = self.header()
        if not self.desired or any(name not in header for name in AGENT):
            return
        at = [header.index(name) for name in AGENT]
        for row in self.data_rows():
            key = str(row[header.index("Client")])
            cells = [row[c] if c < len(row) else "" for c in at]
            wanted = [raw(self.desired[key][c]) for c in AGENT] if key in self.desired else None
            if wanted is None:  # a CSM's new row: nothing of the agent's on it yet
                assert cells == ["", "", "", ""], (key, cells)
            elif self.lagging and cells != wanted:  # they land on the next pass
                earlier = [[raw(d[key][c]) for c in AGENT] for d in self.since_calm if key in d]
                if not self.calm_once or len(earlier) < len(self.since_calm):
                    earlier.append(["", "", "", ""])  # none landed yet
                assert cells in earlier, (key, cells)
            else:
                assert cells == wanted, (key, cells)


CsmColumnsAndTypedValues.TestCase.settings = settings(
    max_examples=150, stateful_step_count=12, deadline=None, derandomize=True
)
test_csm_columns_and_typed_values_interleaved_with_passes = CsmColumnsAndTypedValues.TestCase
