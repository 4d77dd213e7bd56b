"""The agent's formatting as plain request dicts, and its own rules told from a person's.

Conditional-format rules (the status fills, the score's fills on the same thresholds),
protected ranges, dropdowns, and the look of the agent's columns with the frozen header
and key (`look.py`), as `spreadsheets.batchUpdate` requests. The agent's rules are
recognised by their shape, its protected ranges by their description (which carries a
fingerprint of everything it applied). A person's rules are never touched; when a delete by
position fell on one, the plans here say where it goes back. Pure functions, no network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
from collections import Counter
from dataclasses import asdict
from typing import Any

from agent.labels import AGENT_FILL, KNOWN_STATUS_LABELS, STATUSES, fill_rgb, hex_rgb
from agent.plan import Formatting, ScoreScale
from agent.stores.google.look import freeze_requests, history_width_requests, look_requests
from agent.stores.google.ranges import Json

Place = tuple[int, Json]  # a rule and its place in the tab's list of rules

AGENT_MARK = "health-agent"  # starts the description of the agent's protected ranges
FILLS = {status: fill_rgb(status) for status in STATUSES}
SHADE = hex_rgb(AGENT_FILL)  # the agent's columns, and a blank score (before any status fill)
SCORE_CONDITIONS = {  # the score's rules, first match wins: blank, green, orange, red
    "BLANK": None,
    "NUMBER_GREATER_THAN_EQ": ("green", "orange"),
    "NUMBER_LESS": ("red",),
}
SCALE_POINTS = (("minpoint", "red"), ("midpoint", "orange"), ("maxpoint", "green"))


# --- the requests -----------------------------------------------------------------------------


def formatting_requests(
    tab: Json, columns: list[str], formatting: Formatting, history: Json | None = None
) -> list[Json]:
    """Requests that bring the agent's formatting of a tab (its metadata `tab`) up to date;
    none when it already is.

    The agent's own rules are recognised by their shape (TEXT_EQ on a status label with
    one of its fills, the score's fills on the thresholds, or the colour scale it once
    wrote, on one whole column);
    its protected ranges by their description, which also carries a fingerprint of
    everything it applied (dropdowns included, as the API does not show them without
    grid data). A person's rules are never touched. `history` is the history tab's
    metadata (its column widths go with the look; None before it exists).
    """
    sheet_id = int(tab["properties"].get("sheetId", 0))
    protected = tab.get("protectedRanges", [])
    return [
        *rule_requests(tab.get("conditionalFormats", []), sheet_id, columns, formatting),
        *protection_requests(protected, sheet_id, columns, formatting, history),
        *freeze_requests(tab, columns, formatting.key_column),
    ]


def rule_requests(
    existing: list[Json], sheet_id: int, columns: list[str], formatting: Formatting
) -> list[Json]:
    """Delete the agent's rules and add them anew, after every rule of a person's, when
    they differ from the wanted ones."""
    ours = [i for i, rule in enumerate(existing) if is_agent_rule(rule)]
    wanted = (
        status_rules(sheet_id, columns.index(formatting.status_column), formatting)
        if formatting.status_column in columns
        else []
    )
    if formatting.score_scale is not None and formatting.score_column in columns:
        col = columns.index(formatting.score_column)
        wanted.extend(score_rules(sheet_id, col, formatting.score_scale))
    if [rule_shape(existing[i]) for i in ours] == [rule_shape(r) for r in wanted]:
        return []
    requests_: list[Json] = []
    for i in reversed(ours):  # from the end, so the indexes still hold
        requests_.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}})
    first = len(existing) - len(ours)  # after every rule a person made
    for k, rule in enumerate(wanted):
        requests_.append({"addConditionalFormatRule": {"rule": rule, "index": first + k}})
    return requests_


def protection_requests(
    protected_ranges: list[Json],
    sheet_id: int,
    columns: list[str],
    formatting: Formatting,
    history: Json | None = None,
) -> list[Json]:
    """Make the agent's protected ranges (and its dropdowns) anew when they differ from the
    wanted ones, or when the fingerprint of what it applies changed (the history tab's
    widths with it: a history tab made anew has another id)."""
    history_id = None if history is None else int(history["properties"].get("sheetId", 0))
    fingerprint = formatting_fingerprint(formatting, columns, sheet_id, history_id)
    description = f"{AGENT_MARK}: filled in by the agent on every pass [{fingerprint}]"
    protected = [
        p for p in protected_ranges if str(p.get("description", "")).startswith(AGENT_MARK)
    ]
    wanted = {
        c: column_range(sheet_id, columns.index(c))
        for c in dict.fromkeys(formatting.agent_columns)
        if c in columns
    }
    current = sorted(range_shape(p.get("range", {})) for p in protected)
    # a warning by default; a column whose protection a lead made strict (only some
    # people may edit) keeps it so, with its editors, even when it is made anew (the
    # ranges follow their columns when columns move, so each is known by its column)
    kept: dict[str, Json] = {}
    for p in protected:
        at = range_shape(p.get("range", {}))[3]
        if not p.get("warningOnly") and at < len(columns):
            kept[columns[at]] = {"warningOnly": False, "editors": p.get("editors", {})}
    if current == sorted(range_shape(r) for r in wanted.values()) and all(
        p.get("description") == description for p in protected
    ):
        return []
    requests_: list[Json] = [
        {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}} for p in protected
    ]
    for column, rng in wanted.items():
        how = kept.get(column, {"warningOnly": True})
        requests_.append(
            {
                "addProtectedRange": {
                    "protectedRange": {"range": rng, "description": description, **how}
                }
            }
        )
    # dropdowns, shades, widths and notes are not visible in the metadata: they follow the
    # fingerprint
    for column, allowed in formatting.dropdowns:
        if column in columns and allowed:
            requests_.append(dropdown(sheet_id, columns.index(column), allowed))
    requests_.extend(look_requests(sheet_id, columns, formatting))
    requests_.extend(history_width_requests(history, formatting.history_widths))
    return requests_


def column_range(sheet_id: int, col: int) -> Json:
    """One whole column below the header."""
    return {
        "sheetId": sheet_id,
        "startRowIndex": 1,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }


def dropdown(sheet_id: int, col: int, allowed: tuple[str, ...]) -> Json:
    """A dropdown of the allowed labels; other text stays possible (strict=False), flagged."""
    return {
        "setDataValidation": {
            "range": column_range(sheet_id, col),
            "rule": {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": a} for a in allowed],
                },
                "strict": False,
                "showCustomUi": True,
            },
        }
    }


def colour(rgb: tuple[float, float, float]) -> dict[str, float]:
    """An RGB triple as the API's Color."""
    return {"red": rgb[0], "green": rgb[1], "blue": rgb[2]}


def status_rules(sheet_id: int, col: int, formatting: Formatting) -> list[Json]:
    """The three status fills: TEXT_EQ on each status label of the status column."""
    labels = formatting.status_labels
    return [
        {
            "ranges": [column_range(sheet_id, col)],
            "booleanRule": {
                "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                "format": {"backgroundColor": colour(FILLS[status])},
            },
        }
        for status, text in (
            ("green", labels.green),
            ("orange", labels.orange),
            ("red", labels.red),
        )
    ]


def score_rules(sheet_id: int, col: int, scale: ScoreScale) -> list[Json]:
    """The score cell in its status's own fill: green from the green threshold up, orange
    from the orange one, red below, the first matching rule winning as Google applies
    them. A blank cell keeps the agent's shade first: Google compares a blank as 0, which
    the red rule would take."""
    rng = [column_range(sheet_id, col)]

    def rule(condition: str, value: float | None, fill: tuple[float, float, float]) -> Json:
        values = [] if value is None else [{"userEnteredValue": f"{value:g}"}]
        return {
            "ranges": rng,
            "booleanRule": {
                "condition": {"type": condition, **({"values": values} if values else {})},
                "format": {"backgroundColor": colour(fill)},
            },
        }

    return [
        rule("BLANK", None, SHADE),
        rule("NUMBER_GREATER_THAN_EQ", scale.green, FILLS["green"]),
        rule("NUMBER_GREATER_THAN_EQ", scale.orange, FILLS["orange"]),
        rule("NUMBER_LESS", scale.orange, FILLS["red"]),
    ]


def score_rule(sheet_id: int, col: int, scale: ScoreScale) -> Json:
    """The colour scale the agent wrote on the score column before its fills matched the
    status (red at 0, orange and green at their thresholds, blended between): still
    recognised as the agent's, so a pass replaces it rather than piling rules."""
    at = {"red": scale.red, "orange": scale.orange, "green": scale.green}
    return {
        "ranges": [column_range(sheet_id, col)],
        "gradientRule": {
            point: {"color": colour(FILLS[status]), "type": "NUMBER", "value": f"{at[status]:g}"}
            for point, status in SCALE_POINTS
        },
    }


def formatting_fingerprint(
    formatting: Formatting, columns: list[str], sheet_id: int, history_id: int | None = None
) -> str:
    """A short hash of the formatting the agent applies, with the positions it applies at
    (and the history tab it sizes, when there is one)."""
    used = {formatting.status_column, *formatting.agent_columns}
    used.update(column for column, _ in formatting.dropdowns)
    data = {
        "formatting": asdict(formatting),
        "positions": {c: columns.index(c) for c in sorted(used) if c in columns},
        "sheet": sheet_id,
    }
    if history_id is not None:
        data["history"] = history_id
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- rules as Google spells them back -----------------------------------------------------------


def range_shape(rng: Json) -> tuple[int, int, int | None, int, int | None]:
    """A GridRange as a tuple; Google leaves zero numbers out of the ranges it returns."""
    return (
        int(rng.get("sheetId", 0)),
        int(rng.get("startRowIndex", 0)),
        None if rng.get("endRowIndex") is None else int(rng["endRowIndex"]),
        int(rng.get("startColumnIndex", 0)),
        None if rng.get("endColumnIndex") is None else int(rng["endColumnIndex"]),
    )


def colour_shape(given: Json | None) -> tuple[float, ...] | None:
    """A Color as a rounded RGB tuple (a missing component is 0, as Google leaves it out)."""
    if given is None:
        return None
    return tuple(round(float(given.get(c, 0)), 3) for c in ("red", "green", "blue"))


def gradient_shape(gradient: Json) -> tuple[Any, ...]:
    """A colour scale's three points as (type, value, colour) tuples."""
    shape: list[Any] = []
    for point, _ in SCALE_POINTS:
        given = gradient.get(point) or {}
        value = given.get("value")
        with contextlib.suppress(ValueError):  # a formula a person typed stays as it is
            value = float(value) if value is not None else None
        shape.append((given.get("type"), value, colour_shape(given.get("color"))))
    return tuple(shape)


def rule_shape(rule: Json) -> tuple[Any, ...]:
    """What matters in a rule, in a form that ignores how Google spells it back."""
    boolean = rule.get("booleanRule", {})
    condition = boolean.get("condition", {})
    return (
        tuple(range_shape(r) for r in rule.get("ranges", [])),
        condition.get("type"),
        tuple(v.get("userEnteredValue") for v in condition.get("values", [])),
        colour_shape(boolean.get("format", {}).get("backgroundColor")),
        gradient_shape(rule["gradientRule"]) if "gradientRule" in rule else None,
    )


def is_agent_rule(rule: Json) -> bool:
    """The agent's rules, on one whole column below the header: TEXT_EQ on a status label
    with one of its fills, a score rule (`score_rules`) with its fill, or the colour scale
    it once wrote, through its three fills in order. (A range Google bounded to the grid is
    opened first: `open_ended`.)"""
    ranges = rule.get("ranges", [])
    if len(ranges) != 1 or range_shape(ranges[0])[1:3] != (1, None):
        return False
    if "gradientRule" in rule:
        colours = [shape[2] for shape in gradient_shape(rule["gradientRule"])]
        return colours == [colour_shape(colour(FILLS[c])) for _, c in SCALE_POINTS]
    boolean = rule.get("booleanRule", {})
    condition = boolean.get("condition", {})
    values = condition.get("values", [])
    fill = colour_shape(boolean.get("format", {}).get("backgroundColor"))
    if condition.get("type") in SCORE_CONDITIONS:
        return _is_score_rule(condition.get("type"), values, fill)
    return (
        condition.get("type") == "TEXT_EQ"
        and len(values) == 1
        and values[0].get("userEnteredValue") in KNOWN_STATUS_LABELS
        and fill in {colour_shape(colour(c)) for c in FILLS.values()}
    )


def _is_score_rule(kind: str, values: list[Json], fill: tuple[float, ...] | None) -> bool:
    """A score rule of the agent's: blank in its shade, or one threshold in a status fill."""
    statuses = SCORE_CONDITIONS[kind]
    if statuses is None:
        return not values and fill == colour_shape(colour(SHADE))
    if len(values) != 1:
        return False
    try:
        float(values[0].get("userEnteredValue", ""))
    except ValueError:  # a formula: a person's
        return False
    return fill in {colour_shape(colour(FILLS[s])) for s in statuses}


def open_rule(rule: Json, rows: int) -> Json:
    """A rule with its ranges open at the bottom where they end at the grid's last row
    (`rows`): the same rule, the way the agent sends it. Google may give a range back
    bounded to the grid (it does so for a basic filter's range in a real recording); the
    agent's rules must be known either way, or four more are added on every pass."""
    if not rows or all(r.get("endRowIndex") is None for r in rule.get("ranges", [])):
        return rule
    ranges = [
        {k: v for k, v in r.items() if k != "endRowIndex"}
        if r.get("endRowIndex") is not None and int(r["endRowIndex"]) >= rows
        else r
        for r in rule.get("ranges", [])
    ]
    return {**rule, "ranges": ranges}


def open_ended(tab: Json) -> Json:
    """A tab's metadata with its rules opened at the bottom (`open_rule`)."""
    rows = int(tab.get("properties", {}).get("gridProperties", {}).get("rowCount", 0))
    rules = tab.get("conditionalFormats")
    if not rules or not rows:
        return tab
    return {**tab, "conditionalFormats": [open_rule(r, rows) for r in rules]}


# --- a person's rules a call deleted, and where they go back -----------------------------------


def persons_rules_deleted(requests_: list[Json], answers: list[Json]) -> list[Place]:
    """The rules of a person a formatting call deleted, each with the place it left in the
    rule list as the call left it: Google answers each delete with the rule it deleted,
    and the place moves with the deletes and adds of the call that came after."""
    lost = []
    for n, (request, answer) in enumerate(zip(requests_, answers, strict=False)):
        rule = answer.get("deleteConditionalFormatRule", {}).get("rule")
        if rule is None or is_agent_rule(rule):
            continue
        place = int(request["deleteConditionalFormatRule"].get("index", 0))
        for later in requests_[n + 1 :]:
            if "deleteConditionalFormatRule" in later:
                place -= int(later["deleteConditionalFormatRule"].get("index", 0)) < place
            elif "addConditionalFormatRule" in later:  # the agent's, after a person's
                place += int(later["addConditionalFormatRule"].get("index", 0)) < place
        lost.append((place, rule))
    return lost


def rules_still_present(rules: list[Json], present: Counter[tuple[Any, ...]]) -> list[bool]:
    """Whether each rule is among `present` (rule shapes, counted: two alike need two)."""
    left = Counter(present)
    found = []
    for rule in rules:
        shape = rule_shape(rule)
        found.append(left[shape] > 0)
        if found[-1]:
            left[shape] -= 1
    return found


def persons_rules_gone(theirs: list[Place], rules: list[Json]) -> list[Place]:
    """A person's rules (place, rule) that were there before a call and are not now, each
    placed just before the next of theirs still there (or after the last rule of a person
    in the list): where it was among them."""
    shapes = [rule_shape(r) for r in rules]
    found = rules_still_present([rule for _, rule in theirs], Counter(shapes))
    gone = [None if there else rule for (_, rule), there in zip(theirs, found, strict=True)]
    after_persons = max((i + 1 for i, r in enumerate(rules) if not is_agent_rule(r)), default=0)
    placed: list[Place] = []
    for n, missing in enumerate(gone):
        if missing is None:
            continue
        follower = next((theirs[m][1] for m in range(n + 1, len(theirs)) if gone[m] is None), None)
        place = shapes.index(rule_shape(follower)) if follower is not None else after_persons
        placed.append((place, missing))
    return placed


def put_back_requests(lost: list[Place], rule_count: int) -> list[Json]:
    """Requests that add a person's rules back at their places in a list of `rule_count`
    rules as it stands; each rule put back moves those after it."""
    return [
        {"addConditionalFormatRule": {"rule": rule, "index": min(index + k, rule_count + k)}}
        for k, (index, rule) in enumerate(sorted(lost, key=operator.itemgetter(0)))
    ]
