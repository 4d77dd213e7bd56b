"""Cells as the CSM typed them: a value and its number format, read in one call.

In a Google Sheet a typed `80 %` is the number 0.8 with a PERCENT number format, a typed
`31/03/2027` (fr_FR) is a serial number with a DATE format, `1 234 €` is 1234 with a
CURRENCY format (the discovery document: `ExtendedValue.numberValue`, "Dates, Times and
DateTimes are represented as doubles in SERIAL_NUMBER format"; `NumberFormat.type`). Read
as values alone, 0.8 would score as 0.8 and the date as a number or as locale text. So the
tabs are read through spreadsheets.get with grid data, asking only for each cell's
effective value and the type of its effective number format, and each cell is handed out
the way every store hands it out:

- a percent as the number typed before the % sign (0.8 -> 80.0, float noise rounded off);
- a date as a `datetime.date` (a date-time as a `datetime.datetime`);
- a currency as its plain number; text, numbers and booleans as they are;
- a formula's error as the text Google shows for it (`#N/A`).

Pure functions of the answer; `GRID_FIELDS` is the field mask that asks for it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import orjson

from agent.cells import CellValue

Json = dict[str, Any]

# a cell's effective value and the type of its effective number format, nothing else
KEY_FIELDS = (
    "sheets(properties/title,data/rowData/values(effectiveValue,effectiveFormat/numberFormat/type))"
)
CELL_DATA_FIELDS = (
    "data(startRow,startColumn,rowData/values(effectiveValue,effectiveFormat/numberFormat/type))"
)
GRID_FIELDS = f"sheets(properties/title,{CELL_DATA_FIELDS})"
SERIAL_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Sheets' date serial numbers
ERROR_TEXTS = {  # ErrorValue.type -> what the cell shows
    "NAME": "#NAME?",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "REF": "#REF!",
    "VALUE": "#VALUE!",
    "N_A": "#N/A",
    "NUM": "#NUM!",
    "NULL_VALUE": "#NULL!",
    "LOADING": "Loading...",
}


class Percent(float):
    """A percent cell as the number typed before the % sign (80.0 for 80 %): a float to
    every reader, marked so that a cell put back writes the fraction Google holds (0.8),
    which keeps showing 80 % (80.0 would show 8000 %)."""

    __slots__ = ()


def percent_points(fraction: float) -> float:
    """A percent-formatted number as the number typed before the % sign (0.8 -> 80.0)."""
    return Percent(round(fraction * 100, 9) + 0.0)


def as_google_holds(value: CellValue) -> CellValue:
    """A cell as read, as a RAW write gives it back to Google unchanged, its number format
    kept by the cell: a percent as its fraction, a date as its serial number."""
    if isinstance(value, Percent):
        return round(float(value) / 100, 12)
    if isinstance(value, dt.datetime):
        return (value - SERIAL_EPOCH).total_seconds() / 86400
    if isinstance(value, dt.date):
        return (value - SERIAL_EPOCH.date()).days
    return value


def serial_date(serial: float, with_time: bool) -> dt.date | dt.datetime | float:
    """A serial number as the date it stands for (a date-time when `with_time`)."""
    if not math.isfinite(serial) or not -700_000 < serial < 3_000_000:
        return serial
    moment = SERIAL_EPOCH + dt.timedelta(days=serial)
    if with_time:
        return moment.replace(microsecond=0)
    return moment.date()


def typed_number(number: float, kind: str | None) -> CellValue:
    """A number as the CSM typed it, given its number format type."""
    if kind == "PERCENT":
        return percent_points(number)
    if kind == "DATE":
        return serial_date(number, with_time=False)
    if kind == "DATE_TIME":
        return serial_date(number, with_time=True)
    return number  # NUMBER, CURRENCY, SCIENTIFIC, TIME, TEXT or none: the number itself


def cell_value(cell: Json) -> CellValue:
    """One CellData of the answer as a store hands it out ("" when empty)."""
    value = cell.get("effectiveValue")
    if not value:
        return ""
    text = value.get("stringValue")
    if text is not None:  # most cells
        return str(text)
    if "numberValue" in value:
        kind = cell.get("effectiveFormat", {}).get("numberFormat", {}).get("type")
        number = value["numberValue"]
        return number if kind is None else typed_number(number, kind)
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "errorValue" in value:
        return ERROR_TEXTS.get(value["errorValue"].get("type", ""), "#ERROR!")
    return ""


def tab_rows(sheet: Json) -> list[list[CellValue]]:
    """A tab's rows from its grid data, in the values API's shape: trailing empty cells
    left out, an empty row as []."""
    rows: list[list[CellValue]] = []
    for data in sheet.get("data", [])[:1]:
        rows.extend([] for _ in range(int(data.get("startRow", 0))))
        pad: list[CellValue] = [""] * int(data.get("startColumn", 0))
        for row in data.get("rowData", []):
            # most cells are text, or numbers without a format: read inline, the rest
            # through cell_value
            cells: list[CellValue] = [
                ev["stringValue"]
                if (ev := c.get("effectiveValue")) and "stringValue" in ev
                else ev["numberValue"]
                if ev and "numberValue" in ev and "effectiveFormat" not in c
                else cell_value(c)
                for c in row.get("values", ())
            ]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append(pad + cells if cells else [])
    return rows


def loads(content: bytes) -> Json:
    """An answer's JSON: orjson for speed; the standard parser for the rare answer orjson
    refuses (a lone surrogate a cell holds, sent as a JSON escape)."""
    try:
        found = orjson.loads(content)
    except orjson.JSONDecodeError:
        found = json.loads(content)
    return found if isinstance(found, dict) else {}


def rows_by_title(answer: Json) -> dict[str, list[list[CellValue]]]:
    """Each tab's rows in a spreadsheets.get answer with grid data, by tab title."""
    return {
        sheet.get("properties", {}).get("title", ""): tab_rows(sheet)
        for sheet in answer.get("sheets", [])
    }


def range_rows(answer: Json, title: str) -> list[list[list[CellValue]]]:
    """The rows of each range read on tab `title` (in the order asked)."""
    found: list[list[list[CellValue]]] = []
    for sheet in answer.get("sheets", []):
        if sheet.get("properties", {}).get("title") == title:
            found.extend(tab_rows({"data": [data]}) for data in sheet.get("data", []))
    return found


def first_column(rows: list[list[CellValue]]) -> list[CellValue]:
    """A range's first column, without the blank cells at its end: key cells read the way
    the tab was read."""
    cells: list[CellValue] = [row[0] if row else "" for row in rows]
    while cells and cells[-1] == "":
        cells.pop()
    return cells
