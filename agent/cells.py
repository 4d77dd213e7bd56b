"""Reading the sheet's cells: a cell as text, numbers, dates, keys, distinct cells.

Pure functions of the values a store hands out. A sheet repeats a few labels, owners and
weeks over many rows, so the column-wide helpers work once per distinct cell.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

# a cell's value as a store hands it out
CellValue = str | int | float | bool | dt.datetime | dt.date | None


class Uncomputed(str):
    """A formula cell whose file holds no computed value (written by a program that does
    not compute): its text is the formula. Never read as blank: "why" says what to do."""


MAX_CELL_TEXT = 32767  # characters in one cell, as Excel keeps them
# characters a cell cannot hold (XML 1.0 cannot carry them): a bell, a form feed...
NOT_IN_A_CELL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --- one cell ------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text, the way a person reads it (1.0 -> "1", None -> "")."""
    if type(value) is str:  # most cells: no work
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def normalize_label(text: str) -> str:
    """Trim, fold case and Unicode form, collapse inner spaces: how labels are matched."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([.,]\d{3})+([.,]\d+)?$")  # 1,234.5 or 1.234,5
_CURRENCY = "€$£"


def parse_number(value: Any) -> float | None:
    """A number from a cell: 3.5, "3,5", "80 %", "80%", "1 234", "1 234 €", "$1,234.50";
    None when it is not one. A percent reads as the number before the % sign, a currency as
    its plain number: as the stores hand out cells typed that way (a number with a format)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else float(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if text.endswith("%"):
        text = text[:-1]
    elif text[:1] in _CURRENCY:
        # a sign before the number is the English way: its commas group thousands ($1,234)
        text = text[1:].replace(",", "") if text[:1] in "$£" else text[1:]
    elif text[-1:] in _CURRENCY:
        text = text[:-1]
    text = text.replace(" ", "")
    if "," in text and "." in text and _GROUPED.match(text):
        # both marks: the last is the decimal one, the other groups thousands
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "")
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def parse_date(value: Any) -> dt.date | None:
    """A date from a cell: a date object, an ISO text such as 2027-03-31, or a text written
    day first as in French sheets, 31/03/2027 (or 31.03.2027). A date typed into a sheet
    is handed out by the stores as a date object, whatever the sheet's locale; a month-first
    text (3/31/2027) is not read: 3/4/2027 would be ambiguous."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and 8 <= len(value.strip()) <= 32:
        text = value.strip()
        if match := _DAY_FIRST.match(text):
            day, month, year = (int(g) for g in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# --- keys ----------------------------------------------------------------------------


def key_text(value: CellValue) -> str:
    """A key cell as the text it is matched on (trimmed, inner spaces collapsed)."""
    if type(value) is str:
        return " ".join(value.split())
    return " ".join(cell_text(value).split())


def key_text_list(values: Iterable[Any]) -> list[str]:
    """Key cells as the texts they are matched on: trimmed, inner spaces collapsed.

    Most keys already are (`is_squeezed`): those are kept as they are, unsplit.
    """
    return [
        v
        if type(v) is str and is_squeezed(v)
        else " ".join((v if type(v) is str else cell_text(v)).split())
        for v in values
    ]


def is_squeezed(text: str) -> bool:
    """Whether a text is surely trimmed with single inner spaces, as `" ".join(text.split())`
    gives it: no space at either end, no two in a row, and no other kind of space (every
    other one is unprintable; a text holding another unprintable character says False)."""
    return text == text.strip() and "  " not in text and text.isprintable()


MAX_CELL_CHARS = 50_000  # Google refuses a longer text in a cell (its 400 on the write)
_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair, alone: not text


def key_is_storable(key: str) -> bool:
    """Whether a key can go into another cell as it is (the history tab's): at most
    50,000 characters, and no lone surrogate, which UTF-8 cannot carry."""
    return len(key) <= MAX_CELL_CHARS and (key.isascii() or _SURROGATE.search(key) is None)


def key_texts(column: pd.Series) -> np.ndarray:
    """Each key of a column as the text it is matched on."""
    return np.array(key_text_list(column.tolist()), dtype=object)


def rows_by_key(keys: Sequence[CellValue]) -> dict[str, list[int]]:
    """Map each non-blank key to the positions (0-based data rows) that hold it."""
    found: dict[str, list[int]] = {}
    for i, value in enumerate(keys):
        text = key_text(value)
        if text:
            found.setdefault(text, []).append(i)
    return found


# --- a column's distinct cells -------------------------------------------------------


def distinct_cells(values: Sequence[Any] | pd.Series) -> tuple[np.ndarray, list[Any]]:
    """A code per cell (-1 for a blank) and the first cell of each code.

    Cells with the same code read as the same text. As dict keys, True equals 1 and
    False equals 0: a column holding both booleans and numbers is coded by type and value.
    """
    column = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(column)
    if all(type(u) is str for u in uniques):
        return np.asarray(codes, dtype=np.int64), list(uniques)
    cells = column.tolist()
    if not any(v is True or v is False for v in cells):
        return np.asarray(codes, dtype=np.int64), list(uniques)
    tagged = [None if v is None or v != v else (type(v), v) for v in cells]
    codes, uniques = pd.factorize(pd.Series(tagged, dtype=object))
    return np.asarray(codes, dtype=np.int64), [u[1] for u in uniques]


def each_distinct(values: Sequence[Any], func: Callable[[Any], Any], blank: Any = "") -> list[Any]:
    """`func` of each cell, worked out once per distinct cell (`distinct_cells`: cells
    that read as the same text); `blank` for an empty one.

    A sheet repeats a few owners, segments, weeks and statuses over many accounts.
    """
    codes, firsts = distinct_cells(values)
    return np.array([*(func(f) for f in firsts), blank], dtype=object)[codes].tolist()


def combined_codes(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One integer per row naming its combination of distinct values, from 0 up (`codes`:
    each column's codes, -1 for a blank; `sizes`: how many distinct values each has)."""
    n = len(codes[0]) if codes else 0
    radix_total = 1
    for size in sizes:
        radix_total *= size + 1
    if radix_total < 2**62:
        combined = np.zeros(n, dtype=np.int64)
        for code, size in zip(codes, sizes, strict=True):
            combined = combined * (size + 1) + (code + 1)
        return np.asarray(pd.factorize(combined)[0], dtype=np.int64)
    stacked = np.stack(codes, axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def filled_width(row: Sequence[Any]) -> int:
    """How far a row holds something (a sheet has no trailing empty cells to count)."""
    width = len(row)
    while width and row[width - 1] in (None, ""):
        width -= 1
    return width
