"""The accounts tab as a pass reads it: a frame of raw cells, and the check that it has
every column the config names."""

from __future__ import annotations

import difflib
from collections import Counter

import pandas as pd

from agent.config import Config
from agent.errors import SheetError
from agent.stores.base import Tab


def accounts_frame(tab: Tab) -> pd.DataFrame:
    """The accounts tab as a DataFrame of raw cells, one column per header, rows padded."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, name in enumerate(tab.header):
        base = name or f"#{i + 1}"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    width = len(names)
    if not tab.rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    lengths = set(map(len, tab.rows))
    if len(lengths) == 1 and (length := lengths.pop()) <= width:
        # rows of one length (Google leaves out blank cells at a row's end; here every row
        # ends the same): no padded copy of each row, blank columns added whole
        frame = pd.DataFrame(tab.rows, columns=names[:length], dtype=object)
        for name in names[length:]:
            frame[name] = None
        return frame
    rows = [
        r if len(r) == width else (r[:width] if len(r) > width else r + [None] * (width - len(r)))
        for r in tab.rows
    ]
    return pd.DataFrame(rows, columns=names, dtype=object)


def check_columns(tab: Tab, config: Config) -> None:
    """Fail with a sentence naming every input column the model needs but the sheet lacks."""
    header = set(tab.header)
    wanted = [("sheet.key_column", config.sheet.key_column)]
    wanted += [(f"criterion {c.id}", c.column) for c in config.model.criteria]
    if config.sheet.owner_column:
        wanted.append(("sheet.owner_column", config.sheet.owner_column))
    missing = []
    for where, column in wanted:
        if column not in header:
            close = difflib.get_close_matches(column, list(header), n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            missing.append(f'"{column}" ({where}){hint}')
    if missing:
        raise SheetError(
            f'Tab "{tab.title}" lacks the column(s) {", ".join(missing)}. Add them to the '
            f"header row, or fix the names in the config. Header found: {', '.join(tab.header)}."
        )
