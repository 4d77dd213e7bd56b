"""The CSM's judgement: a status typed in `sheet.override_column`, with a reason and an end.

CSMs know things no column holds ("the champion just left"). A valid override sets the
row's status (and so its colour); the score stays the computed one, and "why" says both:
"Avis CSM : rouge jusqu'au 15/01/2027 (champion parti) · calculé 7/8". An override whose
end date has passed stops counting and "why" says it expired; a word that is no status
is a note in "why", never a crash. The agent never writes these columns.

Pure: the accounts tab's cells and the scored frame in, columns out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from agent.cells import cell_text, each_distinct, normalize_label, parse_date
from agent.config import SheetConfig
from agent.history import shift_week
from agent.labels import STATUS_LABELS, STATUSES, number_text

COLOURS = {
    "fr": {"green": "vert", "orange": "orange", "red": "rouge"},
    "en": {"green": "green", "orange": "orange", "red": "red"},
}
# every word a CSM may type for a status: the codes, colours and labels, in both languages
_WORDS = {
    normalize_label(word): code
    for table in (*COLOURS.values(), *STATUS_LABELS.values())
    for code, word in table.items()
}
_WORDS.update({code: code for code in STATUSES})

WHY = {
    "fr": {
        "active": "Avis CSM : {colour}{until}{reason} · calculé {score}",
        "until": " jusqu'au {date}",
        "expired": "Avis CSM ({colour}) expiré le {date}",
        "unknown": "Avis CSM « {word} » non reconnu (vert, orange ou rouge)",
        "bad_until": "Avis CSM ignoré : date de fin « {word} » illisible (écrire 2027-01-31)",
    },
    "en": {
        "active": "CSM's call: {colour}{until}{reason} · computed {score}",
        "until": " until {date}",
        "expired": "CSM's call ({colour}) expired on {date}",
        "unknown": 'CSM\'s call "{word}" not recognised (green, orange or red)',
        "bad_until": 'CSM\'s call ignored: end date "{word}" cannot be read (type 2027-01-31)',
    },
}


def override_status(value: Any) -> str | None:
    """The status a cell of the override column names, or None (blank or unknown)."""
    text = cell_text(value).strip() if value is not None else ""
    return _WORDS.get(normalize_label(text)) if text else None


def _date_text(day: dt.date, language: str) -> str:
    return day.strftime("%d/%m/%Y") if language == "fr" else day.isoformat()


def read_overrides(raw: pd.DataFrame, sheet: SheetConfig, today: dt.date) -> pd.DataFrame:
    """Per row: `override` (the status it sets today, or None), `override_word` (as typed),
    `override_reason`, `override_until` (a date or None), `override_state` ("active",
    "expired", "unknown", "bad_until" for an end date that is no date, or "" for a blank
    cell). An override holds only when "active"."""
    n = len(raw)

    def column(name: str | None) -> list[Any]:
        return raw[name].tolist() if name and name in raw else [None] * n

    words = each_distinct(column(sheet.override_column), _text)
    codes = each_distinct(words, override_status, blank=None)
    reasons = each_distinct(column(sheet.override_reason_column), _text)
    until_cells = each_distinct(column(sheet.override_until_column), _text)
    until = each_distinct(until_cells, parse_date, blank=None)
    states = []
    for word, code, typed, end in zip(words, codes, until_cells, until, strict=True):
        if not word:
            states.append("")
        elif code is None:
            states.append("unknown")
        elif typed and end is None:  # an end nobody can read: it would never expire
            states.append("bad_until")
        elif end is not None and end < today:
            states.append("expired")
        else:
            states.append("active")
    active = [c if s == "active" else None for c, s in zip(codes, states, strict=True)]
    return pd.DataFrame(
        {
            "override": active,
            "override_word": words,
            "override_code": codes,
            "override_reason": reasons,
            "override_until": until,
            "override_state": states,
            "override_until_typed": until_cells,
        },
        index=raw.index,
        dtype=object,
    )


def _text(value: Any) -> str:
    return "" if value is None else cell_text(value).strip()


def apply_overrides(
    scored: pd.DataFrame, overrides: pd.DataFrame, scale: float, language: str
) -> None:
    """Set the status of rows with an active override (the computed one kept in
    `computed_status`), and say it in "why" (an expired or unknown one too). In place."""
    scored["computed_status"] = scored["status"]
    scored["computed_status_label"] = scored["status_label"]
    for name in ("override_state", "override_code", "override_until"):  # the digest's list
        scored[name] = pd.Series(overrides[name].tolist(), index=scored.index, dtype=object)
    for name in ("override", "override_reason"):  # objects: None stays None, not NaN
        scored[name] = pd.Series(overrides[name].tolist(), index=scored.index, dtype=object)
    states = overrides["override_state"].to_numpy(dtype=object)
    said = np.flatnonzero((states != "") & scored["status"].notna().to_numpy())
    if not len(said):
        return
    lang = language if language in WHY else "en"
    words, labels, colours = WHY[lang], STATUS_LABELS[lang], COLOURS[lang]
    status = scored["status"].to_numpy(dtype=object).copy()
    status_label = scored["status_label"].to_numpy(dtype=object).copy()
    why = scored["why"].to_numpy(dtype=object).copy()
    scale_text = number_text(scale, lang)
    shown = scored["shown"].to_numpy(dtype=float)
    for at in said.tolist():
        row = overrides.iloc[at]
        state, code, end = row["override_state"], row["override_code"], row["override_until"]
        if state == "active":
            reason = row["override_reason"]
            why[at] = words["active"].format(
                colour=colours[code],
                until=words["until"].format(date=_date_text(end, lang)) if end else "",
                reason=f" ({reason})" if reason else "",
                score=f"{number_text(float(shown[at]), lang)}/{scale_text}",
            )
            status[at], status_label[at] = code, labels[code]
            continue
        if state == "expired":
            note = words["expired"].format(colour=colours[code], date=_date_text(end, lang))
        elif state == "bad_until":
            note = words["bad_until"].format(word=row["override_until_typed"][:40])
        else:
            note = words["unknown"].format(word=row["override_word"][:40])
        why[at] = f"{note} · {why[at]}" if why[at] else note
    scored["status"], scored["status_label"], scored["why"] = status, status_label, why


def override_weeks(history: pd.DataFrame, holding: dict[str, str], week: str) -> dict[str, int]:
    """How long each override in `holding` (key -> status) has held: the weeks in a row the
    history shows it, this `week` included (1: set this week)."""
    if "override" not in history or not holding:
        return dict.fromkeys(holding, 1)
    rows = history[history["key"].isin(list(holding)) & history["override"].notna()]
    seen = set(
        zip(rows["key"].tolist(), rows["week"].tolist(), rows["override"].tolist(), strict=True)
    )
    ages = {}
    for key, code in holding.items():
        weeks, back = 1, shift_week(week, -1)
        while (key, back, code) in seen:  # at most one step per row seen
            weeks, back = weeks + 1, shift_week(back, -1)
        ages[key] = weeks
    return ages
