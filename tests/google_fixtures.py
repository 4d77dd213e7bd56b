"""Helpers for tests that need a Google Sheet: the local emulator, a service-account key
made at test time, and a GoogleStore pointed at both.

    with emulated_google(tmp_path, HEADER, ROWS) as (emulator, store):
        store.read()

or, for a pytest fixture that must outlive a `with` block (the contract suite):

    google = start_emulated_google(tmp_path, HEADER, ROWS, key_column="Client")
    ... google.store, google.emulator, google.reverse_rows() ...
    google.close()

and the scene most Google tests share: a sheet of accounts (`accounts(n)`, columns
INPUTS), the agent's columns (AGENT) and formatting (FORMAT), and `plan_for(store)`, which
reads the sheet and plans the cells that changed the way the sync core does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from gspread.utils import rowcol_to_a1

from agent.cells import CellValue, key_text
from agent.plan import CellWrite, Formatting, ScoreScale, StatusColours, WritePlan
from agent.stores.google import GoogleStore
from tests.sheets_emulator import SheetsEmulator, Tab, Value, new_service_account_key

EMAIL = "health-agent@health-tests.iam.gserviceaccount.com"
SPREADSHEET_ID = "1EmuLaTeDsHeEtIdFoRtEsTs0123456789abcdefGHIJ"
WORKSHEET = "Comptes"
HISTORY = "Historique"

INPUTS = ["Client", "CSM", "Utilisation"]
AGENT = ["Score", "Statut", "Pourquoi", "Prochaine action"]
LABELS = StatusColours("En bonne santé", "À surveiller", "À risque")
FORMAT = Formatting(
    status_column="Statut",
    status_labels=LABELS,
    score_column="Score",
    agent_columns=tuple(AGENT),
    dropdowns=(("Utilisation", ("Quotidienne", "Hebdomadaire", "Rare")),),
    score_scale=ScoreScale(0, 3, 6),
)
USAGE = ["Quotidienne", "Hebdomadaire", "Rare"]
# the agent's rules: three status fills, and the score's four (blank, green, orange, red)
AGENT_RULES = 7


def accounts(n: int) -> list[list[Any]]:
    """`n` rows of accounts (INPUTS): a key, a CSM, a usage."""
    return [[f"Compte {i:06d}", ["Camille", "Hugo", "Léa"][i % 3], USAGE[i % 3]] for i in range(n)]


def agent_cells(key: str, usage: str) -> dict[str, Any]:
    """What a scoring core would write for an account (stands in for the real one)."""
    score = {"Quotidienne": 9, "Hebdomadaire": 5, "Rare": 2}.get(usage, 0)
    status = LABELS.green if score > 6 else LABELS.orange if score > 3 else LABELS.red
    return {"Score": score, "Statut": status, "Pourquoi": f"{key}: usage {usage.lower()}",
            "Prochaine action": f"Appeler {key}" if score < 4 else ""}  # fmt: skip


def rows_with_wrong_agent_cells(
    tab: Any, rows: Iterable[int], columns: Sequence[str] = AGENT
) -> list[str]:
    """The keys of the sheet's `rows` (1-based under the header) whose agent cells are
    not their own account's; the columns found by their header, wherever they are."""
    header = [str(h) for h in tab.header()]
    key_at, usage_at = header.index("Client"), header.index("Utilisation")
    wrong = []
    for r in rows:
        key, usage = str(tab.cell(r, key_at)), str(tab.cell(r, usage_at))
        wanted = agent_cells(key, usage)
        if any(tab.cell(r, header.index(c)) != wanted[c] for c in columns):
            wrong.append(key)
    return wrong


def plan_for(store: GoogleStore, week: str = "2026-W48") -> WritePlan:
    """Read the sheet and plan what changed, the way the sync core does."""
    tab = store.read().accounts
    header = tab.header
    plan = WritePlan(formatting=FORMAT, new_columns=[c for c in AGENT if c not in header])
    plan.desired = {}
    plan.history_header = ["Semaine", "Date", "Client", "Score", "Statut"]
    # the key and the usage found by their headers: a CSM may insert columns
    key_at = header.index(store.key_column) if store.key_column in header else 0
    usage_at = header.index("Utilisation") if "Utilisation" in header else 2
    for row in tab.rows:
        key = str(row[key_at]) if key_at < len(row) else ""
        usage = str(row[usage_at]) if usage_at < len(row) else ""
        wanted = agent_cells(key, usage)
        plan.desired[key] = wanted
        for column, value in wanted.items():
            at = header.index(column) if column in header else None
            now = row[at] if at is not None and at < len(row) else ""
            if now != value:
                plan.cells.append(CellWrite(key, column, value))
        if any(c.key == key for c in plan.cells[-4:]):
            plan.history_rows.append([week, "2026-11-24", key, wanted["Score"], wanted["Statut"]])
    return plan


def score_conditions(rules: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The agent's score rules among `rules` (numbers and blanks, not a status label), as
    (condition, threshold) in their order."""
    out = []
    for rule in rules:
        condition = rule.get("booleanRule", {}).get("condition", {})
        if condition.get("type") in {"BLANK", "NUMBER_GREATER_THAN_EQ", "NUMBER_LESS"}:
            values = condition.get("values", [])
            out.append((condition["type"], values[0]["userEnteredValue"] if values else None))
    return out


def counts(emulator: SheetsEmulator) -> dict[str, int]:
    """The calls the emulator answered, by kind, kinds never called left out."""
    return {kind: n for kind, n in emulator.calls.items() if n}


class RecordedSleep:
    """A `sleep` for the store that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@cache
def service_account_rsa_key() -> rsa.RSAPrivateKey:
    """The RSA key of the test service account, made once per test process (never committed)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_file(
    folder: Path, emulator: SheetsEmulator, email: str = EMAIL, *, register: bool = True
) -> Path:
    """A service-account JSON key whose token_uri is the emulator's token endpoint.

    The test account (EMAIL) uses `service_account_rsa_key()`; other emails get a fresh key. With
    `register` the emulator learns the public key, so the JWTs signed with it verify.
    """
    info, key = new_service_account_key(
        email, emulator.token_uri, service_account_rsa_key() if email == EMAIL else None
    )
    if register:
        emulator.add_service_account(email, key.public_key())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"key-{email.split('@')[0]}-{emulator.url.rsplit(':', 1)[-1]}.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def google_store(
    emulator: SheetsEmulator,
    key_file: Path,
    *,
    spreadsheet_id: str = SPREADSHEET_ID,
    worksheet: str = WORKSHEET,
    key_column: str,
    history_worksheet: str | None = HISTORY,
    **options: Any,
) -> GoogleStore:
    """A GoogleStore on the emulator; retries never wait (a RecordedSleep) unless given."""
    settings: dict[str, Any] = {"sleep": RecordedSleep(), "timeout_s": 10}
    settings.update(options)
    return GoogleStore(
        spreadsheet_id=spreadsheet_id,
        worksheet=worksheet,
        key_column=key_column,
        history_worksheet=history_worksheet,
        credentials=key_file,
        endpoint=emulator.url,
        **settings,
    )


@dataclass
class EmulatedGoogle:
    """An emulated Google Sheet, the store that uses it, and a CSM's hands on the sheet."""

    emulator: SheetsEmulator
    store: GoogleStore
    key_file: Path
    spreadsheet_id: str = SPREADSHEET_ID
    worksheet: str = WORKSHEET
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def tab(self) -> Tab:
        """The accounts tab as the emulator holds it (row 0 is the header)."""
        return self.emulator.tab(self.spreadsheet_id, self.worksheet)

    @property
    def sleep(self) -> RecordedSleep:
        return self.store.client_class.sleep  # type: ignore[return-value]

    def writes(self) -> int:
        """Calls that change the sheet (values and formatting)."""
        return self.emulator.calls["write"] + self.emulator.calls["format"]

    # what a CSM does in the browser, between or during the agent's calls -----------------

    def reverse_rows(self) -> None:
        with self.emulator.lock:
            self.tab.rows[1:] = list(reversed(self.tab.rows[1:]))

    def sort_rows(self, column: int, reverse: bool = False) -> None:
        with self.emulator.lock:
            self.tab.sort_rows(lambda r: str(r[column]) if column < len(r) else "", reverse)

    def insert_row(self, at: int, values: list[CellValue]) -> None:
        """Insert a row at 0-based data position `at` (0: just below the header)."""
        with self.emulator.lock:
            self.tab.insert_row(at + 1, ["" if v is None else v for v in values])

    def delete_row(self, at: int) -> None:
        """Delete the row at 0-based data position `at`."""
        with self.emulator.lock:
            self.tab.delete_row(at + 1)

    def edit(self, key: str, column: str, value: Value) -> None:
        """Type `value` into `column` on the row whose key column holds `key`."""
        with self.emulator.lock:
            header = [str(h) for h in self.tab.header()]
            key_at = header.index(self.store.key_column)
            row = next(
                i
                for i, r in enumerate(self.tab.rows)
                if i and key_text(self.tab.cell(i, key_at)) == key
            )
            self.tab.set(row, header.index(column), value)

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.emulator.stop()


def start_emulated_google(
    tmp_path: Path,
    header: list[str],
    rows: list[list[CellValue]],
    *,
    key_column: str | None = None,
    worksheet: str = WORKSHEET,
    history_worksheet: str | None = HISTORY,
    history: list[list[Value]] | None = None,
    extra_tabs: dict[str, list[list[Value]]] | None = None,
    shared: bool = True,
    row_count: int = 1000,
    emulator: SheetsEmulator | None = None,
    **store_options: Any,
) -> EmulatedGoogle:
    """Start an emulator (or use `emulator`) holding one spreadsheet, and a store on it.

    The accounts tab is `worksheet` (header, then rows); `history` (header first) creates
    the history tab; `shared=False` leaves the sheet unshared (403). Call `close()`.
    """
    running = emulator or SheetsEmulator().start()
    grid: list[list[Value]] = [list(header)]
    grid += [["" if v is None else v for v in r] for r in rows]
    tabs: dict[str, list[list[Value]]] = {worksheet: grid}
    if history is not None and history_worksheet is not None:
        tabs[history_worksheet] = [list(r) for r in history]
    tabs.update(extra_tabs or {})
    running.add_spreadsheet(
        SPREADSHEET_ID,
        tabs,
        shared_with={EMAIL} if shared else set(),
        row_count=max(row_count, len(rows) + 1),
    )
    key_file = service_account_file(tmp_path, running)
    store = google_store(
        running,
        key_file,
        worksheet=worksheet,
        key_column=key_column or header[0],
        history_worksheet=history_worksheet,
        **store_options,
    )
    made = EmulatedGoogle(running, store, key_file, worksheet=worksheet)
    if emulator is not None:
        made.emulator = emulator
        made.close = lambda: None  # type: ignore[method-assign]  # the caller owns it
    return made


@contextmanager
def emulated_google(
    tmp_path: Path,
    header: list[str],
    rows: list[list[CellValue]],
    **options: Any,
) -> Iterator[tuple[SheetsEmulator, GoogleStore]]:
    """`start_emulated_google` as a context manager yielding (emulator, store)."""
    made = start_emulated_google(tmp_path, header, rows, **options)
    try:
        yield made.emulator, made.store
    finally:
        made.close()


def cell_updates_of(emulator: SheetsEmulator, body: Any) -> list[dict[str, Any]]:
    """The updateCells requests of a spreadsheets.batchUpdate body as ranges a person
    reads ("'Comptes'!D44:G44") and their values, row by row (a cleared cell as "")."""
    titles = {t.sheet_id: t.title for t in emulator.spreadsheets[SPREADSHEET_ID].tabs}
    found = []
    for request in (body or {}).get("requests", []):
        update = request.get("updateCells")
        if update is None:
            continue
        start = update["start"]
        rows = [
            [
                next(iter((c.get("userEnteredValue") or {"": ""}).values()))
                for c in r.get("values", [])
            ]
            for r in update["rows"]
        ]
        row0, col0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
        width = max((len(r) for r in rows), default=1)
        first = rowcol_to_a1(row0 + 1, col0 + 1)
        last = rowcol_to_a1(row0 + max(len(rows), 1), col0 + width)
        title = titles[start.get("sheetId", 0)]
        found.append({"range": f"'{title}'!{first}:{last}", "values": rows})
    return found
