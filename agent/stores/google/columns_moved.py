"""Columns a person inserted or deleted between the agent's read and its write, told from
the header read again with the keys: where each column written by letter really is now.

The agent addresses its columns by letter (as the read found them by header). A column
inserted or deleted meanwhile shifts them, and a write by letter then falls on another
column: a person's. The header read again right after the write says so; these pure
functions say which column each written letter holds now, so that what was there can be
put back from the read. Only a contiguous insert or delete is told apart (what a person
does in one step); anything else is read from the header as it is now.
"""

from __future__ import annotations

MAX_SHIFT = 5  # columns inserted or deleted in one step that are told apart


def now_at(header_now: list[str], columns: list[str], trusted: int) -> list[int | None]:
    """For each letter (0-based) of `columns` (the header the write meant: the read's, then
    the agent's new columns): the index in `columns` of the column that is there now, None
    for a column inserted since (empty when inserted). Only the first `trusted` letters of
    the header read again are compared: past them are the header cells the agent wrote
    itself this pass, which say nothing of what was there."""
    # letters past the last column too: a column inserted moves the last ones there
    same: list[int | None] = list(range(len(columns) + MAX_SHIFT))
    now = [header_now[i] if i < len(header_now) else "" for i in range(trusted)]
    first = next((i for i in range(trusted) if now[i] != columns[i]), None)
    if first is None:  # the columns stand where they were
        return [c if c is not None and c < len(columns) else None for c in same]
    by_name = {name: i for i, name in enumerate(columns) if name}

    def new_here(names: list[str]) -> bool:  # no column the read saw: inserted, or blank
        return not any(name in by_name for name in names)

    for k in range(1, MAX_SHIFT + 1):
        # a column moved looks like an insert where it went, or a delete where it was: the
        # letters an insert fills, or a delete leaves at the end, must not hold a column of
        # the read (a key column moved right of the agent's was taken for one deleted, and
        # its keys "put back" as blank cells)
        inserted = now[first : first + k]
        if now[first + k : trusted] == columns[first : trusted - k] and new_here(inserted):
            return [
                None
                if c is None or c >= len(columns) + k
                else c
                if c < first
                else (None if c < first + k else c - k)
                for c in same
            ]
        left = now[trusted - k : trusted]  # what came from right of the read's columns
        if now[first : trusted - k] == columns[first + k : trusted] and new_here(left):
            return [
                None if c is None else c if c < first else (c + k if c + k < len(columns) else None)
                for c in same
            ]
    return [
        by_name.get(now[c]) if c is not None and c < trusted else (c if c < len(columns) else None)
        for c in same
        if c is not None
    ]


def moved_after_the_write(header_now: list[str], columns: list[str], header_from: int) -> bool:
    """Whether the header cells the agent wrote this pass (its new columns, `header_from`
    on) are no longer where it wrote them: the columns moved after the write, cells and
    all, and the write itself fell where it meant to."""
    wrote = columns[header_from:]
    return [
        header_now[c] if c < len(header_now) else "" for c in range(header_from, len(columns))
    ] != wrote
