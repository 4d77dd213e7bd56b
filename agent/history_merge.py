"""How every store applies a plan's history rows: upserted by (week, key), old weeks dropped.

A row's week is read as its ISO code whatever its cell says ("S49 2026", "W49 2026", or the
"2026-W49" the tab held before): a pass's row replaces the row of the same week and key
written in the old form, in place, rather than adding a second one; old weeks are dropped
by the week they are, not by their text. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from typing import TYPE_CHECKING

from agent.cells import CellValue, each_distinct, key_text_list
from agent.history_look import week_code

if TYPE_CHECKING:  # a type only: plan imports nothing of this module's
    from agent.plan import WritePlan


@dataclass
class HistoryMerge:
    """The history tab after a plan, and where it changed."""

    header: list[str]
    rows: list[list[CellValue]]
    written: int  # rows inserted, replaced or dropped
    touched: set[int]  # positions in `rows` of the rows inserted or replaced
    first_dropped: int | None  # position of the first dropped row: rows from there moved up


def merge_history(header: list[str], rows: list[list[CellValue]], plan: WritePlan) -> HistoryMerge:
    """The history tab after the plan: rows upserted by (week, key), old weeks dropped.

    Keeps the order: existing rows stay where they were (moving up past dropped ones),
    new ones go at the end.
    """
    new_header = plan.history_header or header
    weeks = each_distinct([row[0] if row else "" for row in rows], week_code)  # a few weeks
    keys = key_text_list([row[2] if len(row) >= 3 else "" for row in rows])
    oldest = plan.history_oldest_week
    kept = rows
    first_dropped: int | None = None
    written = 0
    if oldest and any(week and week < oldest for week in weeks):
        keep = [not (week and week < oldest) for week in weeks]
        first_dropped = keep.index(False)
        written = keep.count(False)  # a dropped row is a change too
        kept, weeks, keys = (list(compress(c, keep)) for c in (rows, weeks, keys))
    kept = list(kept)  # old rows are never changed: a replaced row gets a new list
    new_rows = plan.history_rows
    new_weeks = each_distinct([row[0] for row in new_rows], week_code)
    new_keys = key_text_list([row[2] for row in new_rows])
    # (week, key) -> position, for the keys the plan writes (the last row wins); rows too
    # short to hold a key are kept but never matched
    wanted = set(new_keys)
    index = {
        (week, key): i
        for i, (week, key, row) in enumerate(zip(weeks, keys, kept, strict=True))
        if key in wanted and len(row) >= 3
    }
    touched: set[int] = set()
    if not index and len(set(zip(new_weeks, new_keys, strict=True))) == len(new_rows):
        # every row is new, once (a week's first pass): all appended at once
        touched.update(range(len(kept), len(kept) + len(new_rows)))
        kept.extend(list(row) for row in new_rows)
        return HistoryMerge(new_header, kept, written + len(new_rows), touched, first_dropped)
    for week, key, row in zip(new_weeks, new_keys, new_rows, strict=True):
        ident = (week, key)
        position = index.get(ident)
        if position is None:
            index[ident] = position = len(kept)
            kept.append(list(row))
        elif kept[position] != list(row):
            kept[position] = list(row)
        else:
            continue
        touched.add(position)
        written += 1
    return HistoryMerge(new_header, kept, written, touched, first_dropped)
