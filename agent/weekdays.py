"""Day names as an admin may write them, in French or English, and the short form the
config takes (`digest.day = "mon"`): "lundi" is a day, not a typo of "sun"."""

from __future__ import annotations

import unicodedata

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_NAMES = {
    "mon": ("monday", "lundi", "lun"),
    "tue": ("tuesday", "mardi", "mar", "tues"),
    "wed": ("wednesday", "mercredi", "mer"),
    "thu": ("thursday", "jeudi", "jeu", "thur", "thurs"),
    "fri": ("friday", "vendredi", "ven"),
    "sat": ("saturday", "samedi", "sam"),
    "sun": ("sunday", "dimanche", "dim"),
}
_SHORT = {name: short for short, names in _NAMES.items() for name in (short, *names)}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


def short_day(text: str) -> str | None:
    """The config's form of a day name ("Lundi" -> "mon"), or None when it is not a day."""
    return _SHORT.get(_plain(text))
