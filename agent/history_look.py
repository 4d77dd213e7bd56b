"""How the history tab reads to a team: weeks as "S49 2026" (French) or "W49 2026"
(English), and columns wide enough to read.

Inside the agent a week is its ISO code, "2026-W49", which sorts in time order; only the
cell a CSM reads says it their way. The tab once held the ISO codes themselves: every form
is read back as the same week (`week_code`), so a row written before stays that week's
row and a pass never adds a second one beside it. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from agent.cells import key_text

WEEK_LETTER = {"fr": "S", "en": "W"}

# "S49 2026", "W49 2026", "s 49/2026", "Semaine 49 2026", "Week 49, 2026"
_LABEL = re.compile(r"(?:s|w|sem\.?|semaine|week|wk)\s*(\d{1,2})\s*[,/-]?\s*(\d{4})", re.I)
_ISO = re.compile(r"(\d{4})\s*-?\s*W\s*(\d{1,2})", re.I)  # "2026-W49", as written before


def week_label(week: str, language: str) -> str:
    """An ISO week ("2026-W49") as the history tab shows it: "S49 2026" in French,
    "W49 2026" in English. The year is the ISO week's: the Monday 28/12/2026 is in S53 2026,
    the Monday 29/12/2025 in S1 2026 (the Date column says the day)."""
    year, number = week.split("-W")
    return f"{WEEK_LETTER.get(language, 'W')}{int(number)} {year}"


def week_code(value: Any) -> str:
    """The ISO code of a week cell, whatever form it holds ("S49 2026", "W49 2026",
    "2026-W49"); the cell's text as it is when it names no week that exists (week 53 of a
    year of 52, week 0): such a row is kept, never matched to another."""
    text = value if type(value) is str else key_text(value)
    text = text.strip()
    found = _LABEL.fullmatch(text)
    if found is not None:
        number, year = found[1], found[2]
    elif (iso := _ISO.fullmatch(text)) is not None:
        year, number = iso[1], iso[2]
    else:
        return text
    try:
        dt.date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return text
    return f"{year}-W{int(number):02d}"


# --- widths --------------------------------------------------------------------------

# pixels, as Google sizes a column; a workbook's width is in characters (`width_in_characters`)
_FIXED = (80, 95, 170, 60, 120)  # week, date, key, score, status
MODEL_WIDTH = 440  # the model in words: thresholds, weights, reference (and a change note)
_OVERRIDE_WIDTH = 120


def history_widths(header: list[str], override: bool = False) -> tuple[int, ...]:
    """Each column's width in pixels, for a history tab of this header (`override`: its
    last column is the CSM's call): the criteria as wide as their label, the model wide
    enough for its words."""
    criteria = header[len(_FIXED) : len(header) - 1 - int(override)]
    widths = [*_FIXED[: len(header)]]
    widths += [max(70, min(180, 8 * len(label) + 24)) for label in criteria]
    if len(header) > len(_FIXED):
        widths.append(MODEL_WIDTH)
        if override:
            widths.append(_OVERRIDE_WIDTH)
    return tuple(widths)


def width_in_characters(pixels: int) -> float:
    """A width in pixels as a workbook's column width (characters of the default font,
    about 7 pixels each)."""
    return round(pixels / 7, 1)
