"""One fixture-friendly adapter per store, so the contract suite runs on every backend.

Each adapter gives the store under test plus the hands of a CSM who edits the same
sheet from outside (reorders rows, inserts one, edits a cell), and a count of writes.
The google adapter joins when the emulator is available (tests/google_fixtures.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from agent.cells import CellValue
from agent.stores.base import Store
from agent.stores.memory import MemoryStore
from agent.stores.workbook import WorkbookStore


@dataclass
class Backend:
    """A store plus a CSM's access to the same sheet."""

    name: str
    store: Store
    reverse_rows: Callable[[], None]
    insert_row: Callable[[int, list[CellValue]], None]  # at a 0-based data row position
    writes: Callable[[], int]
    close: Callable[[], None] = lambda: None


def memory_backend(
    tmp_path: Path, header: list[str], rows: list[list[CellValue]], key_column: str
) -> Backend:
    store = MemoryStore(header, rows, key_column=key_column, history_worksheet="Historique")

    def reverse() -> None:
        store.accounts.rows.reverse()

    def insert(at: int, values: list[CellValue]) -> None:
        store.accounts.rows.insert(at, list(values))

    return Backend("memory", store, reverse, insert, lambda: store.writes)


def workbook_backend(
    tmp_path: Path, header: list[str], rows: list[list[CellValue]], key_column: str
) -> Backend:
    path = tmp_path / "sheet.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Comptes"
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    store = WorkbookStore(
        path, worksheet="Comptes", key_column=key_column, history_worksheet="Historique"
    )

    def edit(change: Callable[[Any], None]) -> None:
        book = load_workbook(path)
        change(book["Comptes"])
        book.save(path)

    def reverse() -> None:
        def change(ws: Any) -> None:
            values = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
            for i, row in enumerate(reversed(values), start=2):
                for j, value in enumerate(row, start=1):
                    ws.cell(row=i, column=j, value=value)

        edit(change)

    def insert(at: int, values: list[CellValue]) -> None:
        def change(ws: Any) -> None:
            ws.insert_rows(at + 2)
            for j, value in enumerate(values, start=1):
                ws.cell(row=at + 2, column=j, value=value)

        edit(change)

    return Backend("workbook", store, reverse, insert, lambda: store.saves)


def google_backend(
    tmp_path: Path, header: list[str], rows: list[list[CellValue]], key_column: str
) -> Backend:
    from tests.google_fixtures import start_emulated_google

    made = start_emulated_google(tmp_path, header, rows, key_column=key_column)
    return Backend(
        "google", made.store, made.reverse_rows, made.insert_row, made.writes, made.close
    )


FACTORIES: dict[str, Callable[..., Backend]] = {
    "memory": memory_backend,
    "workbook": workbook_backend,
    "google": google_backend,
}
