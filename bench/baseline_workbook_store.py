"""The baseline of bench_workbook.py: the workbook store as it was on main (d3a859b), which
loads the whole file with openpyxl and saves it back. Kept unchanged but for its imports
(merge_history moved to agent/history_merge.py); not used by the agent.

A local .xlsx workbook through openpyxl: the embedded default, no Google account needed.

The store writes only the agent's cells, its history tab and its own formatting; every
other cell, formula, style, column width, sheet and tab stays as it was. It saves the
file only when something changed, and atomically (a temporary file, then a rename), so
a crash mid-save never leaves a half-written workbook.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, Rule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from agent.cells import CellValue, cell_text, rows_by_key
from agent.errors import SheetError
from agent.history_merge import merge_history
from agent.labels import KNOWN_STATUS_LABELS, STATUS_FILLS
from agent.plan import Formatting, ScoreScale, WritePlan, WriteReport
from agent.stores.base import Snapshot, Tab, tab_named

LAST_ROW = 1048576  # rules cover the whole column, so rows a CSM adds get them too
FILLS = STATUS_FILLS
FONTS = {"green": "006100", "orange": "7A4A00", "red": "9C0006"}
_SCALE_FILLS = (FILLS["red"], FILLS["orange"], FILLS["green"])  # the score's colour scale
_KNOWN_STATUS_FORMULAS = {f'"{label}"' for label in KNOWN_STATUS_LABELS}


def _open_error(path: Path, exc: Exception) -> SheetError:
    if isinstance(exc, FileNotFoundError):
        return SheetError(
            f"{path}: workbook not found. Create one with `health-agent init`, "
            "or fix `sheet.workbook` in the config."
        )
    return SheetError(f"{path}: cannot be opened as an .xlsx workbook ({exc}).")


def _set(cell: Any, value: CellValue) -> None:
    cell.value = value
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"  # text starting with "=" stays text, never a formula


def _tab_values(ws: Any) -> tuple[list[str], list[list[CellValue]]]:
    rows = ws.iter_rows(values_only=True)
    first = next(rows, ())
    header = [cell_text(v).strip() for v in first]
    while header and not header[-1]:
        header.pop()
    body = [list(r) for r in rows]
    while body and all(v is None for v in body[-1]):
        body.pop()
    return header, body


class WorkbookStore:
    """Accounts and history as two tabs of a local .xlsx file."""

    def __init__(
        self,
        path: Path,
        *,
        worksheet: str,
        key_column: str,
        history_worksheet: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.worksheet = worksheet
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        self.saves = 0

    def location(self) -> str:
        return str(self.path.resolve())

    def read(self) -> Snapshot:
        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise _open_error(self.path, exc) from None
        try:
            title = tab_named(wb.sheetnames, self.worksheet)
            if title is None:
                raise SheetError(
                    f'{self.path}: no tab named "{self.worksheet}" (tabs: '
                    f"{', '.join(wb.sheetnames)}). Fix `sheet.worksheet` in the config."
                )
            header, rows = _tab_values(wb[title])
            history = None
            history_title = tab_named(wb.sheetnames, self.history_worksheet)
            if history_title is not None:
                h_header, h_rows = _tab_values(wb[history_title])
                history = Tab(history_title, h_header, h_rows)
        finally:
            wb.close()
        return Snapshot(Tab(title, header, rows), history)

    def write(self, plan: WritePlan) -> WriteReport:
        if plan.is_empty() and plan.formatting is None:
            return WriteReport()
        try:
            wb = load_workbook(self.path)
        except Exception as exc:
            raise _open_error(self.path, exc) from None
        title = tab_named(wb.sheetnames, self.worksheet)
        if title is None:
            raise SheetError(f'{self.path}: no tab named "{self.worksheet}".')
        ws = wb[title]
        report = WriteReport()
        columns = self._ensure_columns(ws, plan.new_columns, report)
        self._write_cells(ws, columns, plan, report)
        if plan.history_rows or plan.history_oldest_week:
            self._write_history(wb, plan, report)
        if plan.formatting is not None:
            report.formatting_written = apply_formatting(ws, columns, plan.formatting)
        if report.wrote_anything:
            self._save(wb)
        wb.close()
        return report

    # --- parts of a write ------------------------------------------------------------

    def _ensure_columns(self, ws: Worksheet, new: list[str], report: WriteReport) -> dict[str, int]:
        columns: dict[str, int] = {}
        last = 0
        for cell in ws[1]:
            text = cell_text(cell.value).strip()
            if text:
                columns.setdefault(text, cell.column)
                last = cell.column
        if self.key_column not in columns:
            raise SheetError(
                f'{self.path}: the key column "{self.key_column}" is not in the header of '
                f'"{self.worksheet}". Fix `sheet.key_column` in the config.'
            )
        model_cell = ws.cell(row=1, column=last) if last else None
        if any(name not in columns for name in new):
            # right of every cell: a CSM's column with no name keeps its cells
            filled = (c.column for row in ws.iter_rows() for c in row if c.value is not None)
            last = max(last, max(filled, default=0))
        for name in new:
            if name in columns:
                continue
            last += 1
            cell = ws.cell(row=1, column=last)
            _set(cell, name)
            if model_cell is not None and model_cell.has_style:
                cell._style = model_cell._style
            else:
                cell.font = Font(bold=True)
            width = ws.column_dimensions[get_column_letter(last)]
            if not width.width:
                width.width = max(12, min(60, len(name) + 4))
            columns[name] = last
            report.columns_added += 1
        return columns

    def _write_cells(
        self, ws: Worksheet, columns: dict[str, int], plan: WritePlan, report: WriteReport
    ) -> None:
        if not plan.cells:
            return
        key_col = columns[self.key_column]
        keys = [
            row[0]
            for row in ws.iter_rows(min_row=2, min_col=key_col, max_col=key_col, values_only=True)
        ]
        where = rows_by_key(keys)
        for change in plan.cells:
            col = columns.get(change.column)
            if col is None:
                raise SheetError(f'{self.path}: column "{change.column}" is missing.')
            for i in where.get(change.key, []):
                cell = ws.cell(row=i + 2, column=col)
                if cell.value != change.value:
                    _set(cell, change.value)
                    report.cells_written += 1

    def _write_history(self, wb: Workbook, plan: WritePlan, report: WriteReport) -> None:
        title = self.history_worksheet or "History"
        found = tab_named(wb.sheetnames, title)  # "historique" is the tab "Historique"
        if found is not None:
            ws = wb[found]
            header, rows = _tab_values(ws)
        else:
            ws = wb.create_sheet(title)
            header, rows = [], []
        merge = merge_history(header, rows, plan)
        new_header, new_rows, written = merge.header, merge.rows, merge.written
        if not written and new_header == header:
            return
        if ws.max_row > 1 or ws.max_column > 1:
            ws.delete_rows(1, ws.max_row)
        for col, name in enumerate(new_header, start=1):
            cell = ws.cell(row=1, column=col)
            _set(cell, name)
            cell.font = Font(bold=True)
        for r, row in enumerate(new_rows, start=2):
            for col, value in enumerate(row, start=1):
                _set(ws.cell(row=r, column=col), value)
        ws.freeze_panes = "A2"
        report.history_rows_written = written or 1

    def _save(self, wb: Workbook) -> None:
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=".health-agent-", suffix=".xlsx", dir=folder)
        os.close(fd)
        try:
            wb.save(tmp)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.saves += 1


# --- the agent's own formatting ----------------------------------------------------------


def _status_rules(formatting: Formatting) -> dict[str, Rule]:
    labels = formatting.status_labels
    return {
        f'"{text}"': CellIsRule(
            operator="equal",
            formula=[f'"{text}"'],
            fill=PatternFill(start_color=FILLS[colour], end_color=FILLS[colour], fill_type="solid"),
            font=Font(color=FONTS[colour]),
        )
        for colour, text in (
            ("green", labels.green),
            ("orange", labels.orange),
            ("red", labels.red),
        )
    }


def _score_scale_rule(scale: ScoreScale) -> Rule:
    return ColorScaleRule(
        start_type="num",
        start_value=scale.red,
        start_color=FILLS["red"],
        mid_type="num",
        mid_value=scale.orange,
        mid_color=FILLS["orange"],
        end_type="num",
        end_value=scale.green,
        end_color=FILLS["green"],
    )


def _scale_shape(rule: Rule) -> tuple[Any, ...] | None:
    """(values, colours) of a colour scale; None for any other kind of rule."""
    scale = rule.colorScale if rule.type == "colorScale" else None
    if scale is None:
        return None
    values = tuple((v.type, float(v.val) if v.val is not None else None) for v in scale.cfvo)
    colours = tuple(str(c.rgb)[-6:].upper() for c in scale.color)
    return values, colours


def _sync_rules(
    ws: Worksheet, sqref: str, wanted: dict[Any, Rule], ours: Callable[[Rule], Any]
) -> bool:
    """Make the agent's rules on `sqref` exactly `wanted` (by identity: `ours(rule)` is a
    rule's identity, or None for a rule a person made, which always stays). Stale and
    duplicate rules of the agent's go; True when the sheet changed."""
    cf = ws.conditional_formatting
    present: set[Any] = set()
    keep: list[Rule] = []
    dropped = False
    for block in list(cf):
        if str(block.sqref) != sqref:
            continue
        for rule in block.rules:
            identity = ours(rule)
            if identity is None or (identity in wanted and identity not in present):
                present.add(identity)
                keep.append(rule)
            else:
                dropped = True  # a stale rule of the agent's, or a duplicate
    if dropped:
        # openpyxl hands out copies of a range's rules: replace the range's list whole
        del cf[sqref]
        for rule in keep:
            cf.add(sqref, rule)
    missing = [rule for identity, rule in wanted.items() if identity not in present]
    for rule in missing:
        cf.add(sqref, rule)
    return dropped or bool(missing)


def apply_formatting(ws: Worksheet, columns: dict[str, int], formatting: Formatting) -> bool:
    """Bring the agent's rules up to date; True when the sheet changed.

    The agent's rules are recognised by their place (the status and score columns) and
    their shape (a status label's formula; a colour scale through the agent's three
    fills): rules a person made are never removed or duplicated.
    """
    changed = False

    def status_rule(rule: Rule) -> Any:
        formula = rule.formula[0] if rule.formula else None
        return formula if rule.type == "cellIs" and formula in _KNOWN_STATUS_FORMULAS else None

    status_col = columns.get(formatting.status_column)
    if status_col is not None:
        letter = get_column_letter(status_col)
        changed |= _sync_rules(
            ws, f"{letter}2:{letter}{LAST_ROW}", _status_rules(formatting), status_rule
        )

    def score_rule(rule: Rule) -> Any:
        shape = _scale_shape(rule)
        return shape if shape is not None and shape[1] == _SCALE_FILLS else None

    score_col = columns.get(formatting.score_column)
    if score_col is not None and formatting.score_scale is not None:
        letter = get_column_letter(score_col)
        wanted = _score_scale_rule(formatting.score_scale)
        changed |= _sync_rules(
            ws, f"{letter}2:{letter}{LAST_ROW}", {_scale_shape(wanted): wanted}, score_rule
        )
    for column, allowed in formatting.dropdowns:
        col = columns.get(column)
        if col is None or not allowed:
            continue
        if any("," in a or '"' in a for a in allowed) or sum(len(a) + 1 for a in allowed) > 250:
            continue  # Excel's inline lists cannot hold these; leave the column free
        letter = get_column_letter(col)
        sqref = f"{letter}2:{letter}{LAST_ROW}"
        formula = '"' + ",".join(allowed) + '"'
        existing = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref) == sqref]
        if any(dv.formula1 == formula for dv in existing):
            continue
        if existing:
            ours = [dv for dv in existing if dv.type == "list" and dv.promptTitle == "health-agent"]
            if len(ours) != len(existing):
                continue  # a person's own validation stands
            for dv in ours:
                ws.data_validations.dataValidation.remove(dv)
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=False,
            promptTitle="health-agent",
        )
        dv.add(sqref)
        ws.add_data_validation(dv)
        changed = True
    if ws.freeze_panes is None:
        ws.freeze_panes = "A2"
        changed = True
    return changed
