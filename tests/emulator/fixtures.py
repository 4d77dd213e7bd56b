"""Helpers for tests: an emulated Google Sheet and a GoogleStore pointed at it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.stores.google import GoogleStore
from tests.emulator.server import SheetsEmulator, Value, new_service_account_key

EMAIL = "health-agent@health-tests.iam.gserviceaccount.com"
SPREADSHEET_ID = "1EmuLaTeDsHeEtIdFoRtEsTs0123456789abcdefGHIJ"


class NoSleep:
    """Records the waits between retries instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def service_account_file(folder: Path, emulator: SheetsEmulator, email: str = EMAIL) -> Path:
    """A service-account key file whose token_uri is the emulator's token endpoint."""
    info, key = new_service_account_key(email, f"{emulator.url}/token")
    emulator.add_service_account(email, key.public_key())
    path = folder / f"key-{email.split('@')[0]}.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def emulated_sheet(
    emulator: SheetsEmulator,
    folder: Path,
    header: list[str],
    rows: list[list[Value]],
    *,
    shared: bool = True,
    extra_tabs: dict[str, list[list[Value]]] | None = None,
    **store_options: Any,
) -> GoogleStore:
    """A spreadsheet with an accounts tab "Comptes", and a store that reads it."""
    key_path = service_account_file(folder, emulator)
    tabs = {"Comptes": [list(header), *[list(r) for r in rows]], **(extra_tabs or {})}
    emulator.add_spreadsheet(
        SPREADSHEET_ID, tabs, shared_with={EMAIL} if shared else set(), row_count=len(rows) + 10
    )
    options: dict[str, Any] = {
        "worksheet": "Comptes",
        "key_column": header[0],
        "history_worksheet": "Historique",
        "sleep": NoSleep(),
        "timeout_s": 10,
    }
    options.update(store_options)
    return GoogleStore(
        spreadsheet_id=SPREADSHEET_ID, credentials=key_path, endpoint=emulator.url, **options
    )
