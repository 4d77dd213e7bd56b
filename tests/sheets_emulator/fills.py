"""The fill a person sees on a cell, from a tab's conditional-format rules.

Google applies a cell's first matching boolean rule (in the order of the tab's list), and a
colour scale blends between its points. Number conditions compare a blank cell as 0 (as
Excel and LibreOffice do too): a rule meant for numbers only must let blanks be caught
first. Only the conditions the agent and the tests use are modelled; any other never
matches.
"""

from __future__ import annotations

from typing import Any

from tests.sheets_emulator.grid import Tab, Value

Rgb = tuple[float, float, float]


def _rgb(colour: dict[str, Any]) -> Rgb:
    """A Color to three decimals (the emulator keeps 8 bits, as Google does)."""
    return (
        round(float(colour.get("red", 0)), 3),
        round(float(colour.get("green", 0)), 3),
        round(float(colour.get("blue", 0)), 3),
    )


def _covers(rng: dict[str, Any], row: int, col: int) -> bool:
    def within(start: str, end: str, at: int) -> bool:
        return int(rng.get(start, 0)) <= at and (rng.get(end) is None or at < int(rng[end]))

    return within("startRowIndex", "endRowIndex", row) and within(
        "startColumnIndex", "endColumnIndex", col
    )


def _number(value: Value) -> float | None:
    if value == "" or value is None:
        return 0.0
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _matches(condition: dict[str, Any], value: Value) -> bool:
    kind = condition.get("type")
    given = [v.get("userEnteredValue", "") for v in condition.get("values", [])]
    if kind == "BLANK":
        return value == ""
    if kind == "NOT_BLANK":
        return value != ""
    if kind == "TEXT_EQ":
        return str(value) == given[0]
    number = _number(value)
    if number is None:
        return False
    bounds = [float(v) for v in given]
    tests = {
        "NUMBER_GREATER": lambda: number > bounds[0],
        "NUMBER_GREATER_THAN_EQ": lambda: number >= bounds[0],
        "NUMBER_LESS": lambda: number < bounds[0],
        "NUMBER_LESS_THAN_EQ": lambda: number <= bounds[0],
        "NUMBER_EQ": lambda: number == bounds[0],
        "NUMBER_BETWEEN": lambda: bounds[0] <= number <= bounds[1],
    }
    test = tests.get(str(kind))
    return bool(test and test())


def _blend(gradient: dict[str, Any], value: Value) -> Rgb | None:
    number = _number(value)
    if value == "" or number is None:  # Google leaves blank cells out of a colour scale
        return None
    points = [
        (float(p["value"]), _rgb(p.get("color", {})))
        for p in (gradient.get(k) for k in ("minpoint", "midpoint", "maxpoint"))
        if p and p.get("type") == "NUMBER"
    ]
    if not points:
        return None
    if number <= points[0][0]:
        return points[0][1]
    for (low, low_rgb), (high, high_rgb) in zip(points, points[1:], strict=False):
        if number <= high:
            t = (number - low) / (high - low) if high > low else 1.0
            blended = (a + (b - a) * t for a, b in zip(low_rgb, high_rgb, strict=True))
            r, g, b = (round(c, 3) for c in blended)
            return r, g, b
    return points[-1][1]


def conditional_fill(tab: Tab, row: int, col: int) -> Rgb | None:
    """The background the tab's rules give the cell at 0-based (row, col), or None."""
    value = tab.cell(row, col)
    for rule in tab.conditional_formats:
        if not any(_covers(r, row, col) for r in rule.get("ranges", [])):
            continue
        if "gradientRule" in rule:
            return _blend(rule["gradientRule"], value)
        boolean = rule.get("booleanRule", {})
        if _matches(boolean.get("condition", {}), value):
            background = boolean.get("format", {}).get("backgroundColor")
            if background is not None:
                return _rgb(background)
    return None
