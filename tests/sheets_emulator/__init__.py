"""A local Google Sheets API v4 emulator for the tests (127.0.0.1 only, never Google).

    with SheetsEmulator() as emulator:
        info, key = new_service_account_key(email, emulator.token_uri)
        emulator.add_service_account(email, key.public_key())
        emulator.add_spreadsheet("sheet-id", {"Comptes": rows}, shared_with={email})

`tests/google_fixtures.py` wraps this into one call that also builds a GoogleStore.
"""

from __future__ import annotations

from tests.sheets_emulator.grid import Formula, GridRange, Spreadsheet, Tab, Value
from tests.sheets_emulator.server import (
    GOOGLE_TOKEN_AUD,
    MAX_BODY,
    SPREADSHEETS_SCOPE,
    Call,
    Fault,
    SheetsEmulator,
    new_service_account_key,
)

__all__ = [
    "GOOGLE_TOKEN_AUD",
    "MAX_BODY",
    "SPREADSHEETS_SCOPE",
    "Call",
    "Fault",
    "Formula",
    "GridRange",
    "SheetsEmulator",
    "Spreadsheet",
    "Tab",
    "Value",
    "new_service_account_key",
]
