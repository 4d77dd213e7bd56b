"""A sheet held in memory: the store tests and benchmarks use when no file is needed."""

from __future__ import annotations

import copy

from agent.cells import CellValue, filled_width, rows_by_key
from agent.errors import SheetError
from agent.history_merge import merge_history
from agent.plan import Formatting, WritePlan, WriteReport
from agent.stores.base import Snapshot, Tab


class MemoryStore:
    """Tabs as lists of rows; applies write plans by key, like every other store."""

    def __init__(
        self,
        header: list[str],
        rows: list[list[CellValue]],
        *,
        worksheet: str = "Comptes",
        key_column: str,
        history_worksheet: str | None = None,
        history: Tab | None = None,
        formatting: Formatting | None = None,
    ) -> None:
        self.accounts = Tab(worksheet, list(header), [list(r) for r in rows])
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        self.history = copy.deepcopy(history)
        self.formatting = formatting
        self.writes = 0  # how many times write() changed something
        self.freshness = ""  # the line on the score's header, as the last writing pass left it

    def read(self) -> Snapshot:
        return Snapshot(copy.deepcopy(self.accounts), copy.deepcopy(self.history))

    def location(self) -> str:
        return f"memory:{self.accounts.title}"

    def write(self, plan: WritePlan) -> WriteReport:
        report = WriteReport()
        header = self.accounts.header
        if self.key_column not in header:
            raise SheetError(f'The key column "{self.key_column}" is not in the header.')
        new = [name for name in dict.fromkeys(plan.new_columns) if name not in header]
        if new:  # right of every cell: a CSM's column with no name keeps its cells
            used = max((filled_width(r) for r in self.accounts.rows), default=0)
            header += [""] * (used - len(header))
        header += new
        report.columns_added += len(new)
        key_at = header.index(self.key_column)
        where = rows_by_key([r[key_at] if key_at < len(r) else None for r in self.accounts.rows])
        for cell in plan.cells:
            col = header.index(cell.column)
            for i in where.get(cell.key, []):
                row = self.accounts.rows[i]
                row.extend([None] * (col + 1 - len(row)))
                if row[col] != cell.value:
                    row[col] = cell.value
                    report.cells_written += 1
        if plan.history_rows or plan.history_oldest_week:
            old = self.history or Tab(self.history_worksheet or "History", [], [])
            merge = merge_history(old.header, old.rows, plan)
            h_header, h_rows, written = merge.header, merge.rows, merge.written
            if written or self.history is None:
                self.history = Tab(old.title, h_header, h_rows)
                report.history_rows_written = written
        if plan.freshness and not plan.is_empty():  # the line on the score's header
            self.freshness = plan.freshness
        if plan.formatting is not None and plan.formatting != self.formatting:
            self.formatting = plan.formatting
            report.formatting_written = True
        if report.wrote_anything:
            self.writes += 1
        return report
