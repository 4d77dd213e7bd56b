"""Values a person types, as Google stores them: a number with a number format.

Typing `80 %` into a cell of a Google Sheet stores the number 0.8 with a PERCENT number
format; `31/03/2027` in a French sheet stores the date (a serial number) with a DATE format;
`1 234 €` stores 1234 with a CURRENCY format; `3,5` in fr_FR stores 3.5. The evidence:

- the discovery document (sheets.v4.json): `ExtendedValue.numberValue` "Dates, Times and
  DateTimes are represented as doubles in SERIAL_NUMBER format"; `NumberFormat.type` is one
  of TEXT, NUMBER, PERCENT, CURRENCY, DATE, TIME, DATE_TIME, SCIENTIFIC; the description of
  `ValueRenderOption`: with UNFORMATTED_VALUE a cell formatted as currency "would return the
  number 1.23", with FORMATTED_VALUE "$1.23";
- the Sheets API guide "Date and number formats": the number format a value shows with
  depends on the spreadsheet's locale (`properties.locale`), and so does how typed text is
  parsed (USER_ENTERED input "is parsed exactly as if it were entered into the Google
  Sheets UI", ValueInputOption in the discovery document);
- public threads: gspread issue 832 (a typed `2020-01-01` read UNFORMATTED_VALUE comes
  back `43831` unless dateTimeRenderOption is FORMATTED_STRING); duckdb_gsheets issue 74
  (2.5555 shown "$2.56": FORMATTED_VALUE gives "$2.56", UNFORMATTED_VALUE 2.5555);
  google-drive-ruby issue 380 (dates are serial numbers, shown per locale and format).

Only what the agent meets is modelled: percents, currencies (€ $ £), dates typed
day-first (fr_FR) or month-first (en_US) with `/`, decimal commas and thousands separators.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

NUMBER_FORMATS = {
    # Google's default patterns for a typed value (what userEnteredFormat holds after it)
    "PERCENT": "0%",
    "PERCENT_DECIMAL": "0.00%",
    "CURRENCY_fr_FR": '#,##0.00\\ "€"',
    "CURRENCY_en_US": '"$"#,##0.00',
    "DATE_fr_FR": "dd/mm/yyyy",
    "DATE_en_US": "M/d/yyyy",
}


@dataclass(frozen=True)
class Formatted:
    """A number stored with a number format the person's typing gave it (PERCENT, CURRENCY).
    Dates are kept as `datetime.date` (a DATE-formatted serial number)."""

    number: float
    type: str  # NumberFormat.type
    pattern: str
    symbol: str = ""  # a currency's sign, to show it back


_SPACES = "\u00a0\u202f "  # French sheets separate thousands with a (narrow) no-break space
_FR = re.compile(r"^[+-]?(\d{1,3}([\u00a0\u202f ]\d{3})+|\d+)(,\d+)?$")
_EN = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_PERCENT = re.compile(r"^(.*?)[\u00a0\u202f ]?%$")
_CURRENCY = re.compile(r"^([€$£])?[\u00a0\u202f ]?(.*?)[\u00a0\u202f ]?([€$£])?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def locale_number(text: str, locale: str) -> float | None:
    """A number as a person types it in this locale: `1 234,5` (fr_FR), `1,234.5` (en_US)."""
    text = text.strip()
    if locale == "fr_FR":
        if _FR.match(text):
            return float(re.sub(f"[{_SPACES}]", "", text).replace(",", "."))
        if re.fullmatch(r"[+-]?\d+\.\d+", text):  # a point also reads as decimal in fr_FR
            return float(text)
        return None
    if _EN.match(text):
        return float(text.replace(",", ""))
    return None


def typed(text: str, locale: str) -> Formatted | dt.date | float | None:
    """What Google stores for text typed with USER_ENTERED, when it is a number, a percent, a
    currency or a date in this locale; None for text that stays text."""
    text = text.strip()
    if match := _PERCENT.match(text):
        number = locale_number(match.group(1), locale)
        if number is not None:
            decimals = "," in match.group(1) or "." in match.group(1)
            pattern = NUMBER_FORMATS["PERCENT_DECIMAL" if decimals else "PERCENT"]
            return Formatted(round(number / 100, 12), "PERCENT", pattern)
    if match := _SLASH_DATE.match(text):
        first, second, year = (int(g) for g in match.groups())
        day, month = (first, second) if locale == "fr_FR" else (second, first)
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    match = _CURRENCY.match(text)
    if match and (match.group(1) or match.group(3)) and not (match.group(1) and match.group(3)):
        number = locale_number(match.group(2), locale)
        if number is not None:
            pattern = NUMBER_FORMATS.get(f"CURRENCY_{locale}", NUMBER_FORMATS["CURRENCY_en_US"])
            return Formatted(number, "CURRENCY", pattern, match.group(1) or match.group(3))
    return locale_number(text, locale)


def shown_number(value: float, locale: str, decimals: int | None = None) -> str:
    """A number as the locale shows it (`1 234,5` in fr_FR, `1,234.5` in en_US)."""
    if decimals is None:
        text = repr(float(value))
        text = text[:-2] if text.endswith(".0") else text
    else:
        text = f"{value:,.{decimals}f}"
        if locale == "fr_FR":  # 1,234.50 -> 1 234,50
            return text.replace(",", "\u202f").replace(".", ",")
        return text
    return text.replace(".", ",") if locale == "fr_FR" else text


def formatted_value(value: Formatted, locale: str) -> str:
    """A Formatted cell as FORMATTED_VALUE shows it."""
    if value.type == "PERCENT":
        decimals = 2 if value.pattern == NUMBER_FORMATS["PERCENT_DECIMAL"] else 0
        number = shown_number(value.number * 100, locale, decimals)
        return f"{number}\u00a0%" if locale == "fr_FR" else f"{number}%"
    number = shown_number(value.number, locale, 2)
    if locale == "fr_FR":
        return f"{number}\u00a0{value.symbol or '€'}"
    return f"{value.symbol or '$'}{number}"


def number_format(value: Any, locale: str) -> dict[str, str] | None:
    """The numberFormat a typed value carries (userEnteredFormat and effectiveFormat), None
    for a value with the default format."""
    if isinstance(value, Formatted):
        return {"type": value.type, "pattern": value.pattern}
    if isinstance(value, dt.datetime):
        return {"type": "DATE_TIME", "pattern": NUMBER_FORMATS[f"DATE_{locale}"] + " hh:mm:ss"}
    if isinstance(value, dt.date):
        return {"type": "DATE", "pattern": NUMBER_FORMATS.get(f"DATE_{locale}", "M/d/yyyy")}
    return None
