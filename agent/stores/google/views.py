"""A filter view per CSM on Google ("Comptes de Léa"): their accounts, the worst first.

Kept in step with the owners found in the sheet: a view is added for a new owner and
removed for one gone. The agent's views are known by their id, which it picks from the
view's title (`view_id`); a person's own views, whatever their title, have ids Google
drew at random and are never touched. Pure functions, no network.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from typing import Any

from agent.plan import Formatting
from agent.stores.google.ranges import Json

MAX_VIEWS = 60  # a sheet with more owners than that gets views for the first 60 by name
_ID_BASE, _ID_SPAN = 1_000_000_000, 1_000_000_000  # within Google's 32-bit ids


def view_id(sheet_id: int, title: str) -> int:
    """The id the agent gives its view of this title on this tab (stable across passes)."""
    return _ID_BASE + zlib.crc32(f"{sheet_id}\x1f{title}".encode()) % _ID_SPAN


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _status_sorts_worst_first(formatting: Formatting) -> bool:
    """Whether sorting the status column A to Z puts red, then orange, then green (French
    labels do: "À risque", "À surveiller", "En bonne santé"; English ones do not)."""
    labels = formatting.status_labels
    order = [_plain(labels.red), _plain(labels.orange), _plain(labels.green)]
    return order == sorted(order)


def wanted_views(
    sheet_id: int, columns: list[str], formatting: Formatting, owners: Sequence[str]
) -> list[Json]:
    """One view per owner over the whole tab: that owner's rows, sorted by status then by
    score (by score alone where the status words do not sort worst first: the status
    follows the score)."""
    owner, title = formatting.owner_column, formatting.owner_views
    if not (owner and title) or owner not in columns or formatting.score_column not in columns:
        return []
    sorts: list[Json] = []
    if formatting.status_column in columns and _status_sorts_worst_first(formatting):
        sorts.append(
            {"dimensionIndex": columns.index(formatting.status_column), "sortOrder": "ASCENDING"}
        )
    sorts.append(
        {"dimensionIndex": columns.index(formatting.score_column), "sortOrder": "ASCENDING"}
    )
    views = []
    for name in sorted(set(owners))[:MAX_VIEWS]:
        text = title.format(owner=name)
        views.append(
            {
                "filterViewId": view_id(sheet_id, text),
                "title": text,
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": 0,
                    "startColumnIndex": 0,
                    "endColumnIndex": len(columns),
                },
                "sortSpecs": sorts,
                "filterSpecs": [
                    {
                        "columnIndex": columns.index(owner),
                        "filterCriteria": {
                            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": name}]}
                        },
                    }
                ],
            }
        )
    return views


def _shape(view: Json) -> tuple[Any, ...]:
    """What matters in a view, however Google spells it back (zeros left out, `criteria`
    beside `filterSpecs`)."""
    rng = view.get("range", {})
    specs = tuple(
        (
            int(s.get("columnIndex", 0)),
            s.get("filterCriteria", {}).get("condition", {}).get("type"),
            tuple(
                v.get("userEnteredValue")
                for v in s.get("filterCriteria", {}).get("condition", {}).get("values", [])
            ),
        )
        for s in view.get("filterSpecs", [])
    )
    sorts = tuple(
        (int(s.get("dimensionIndex", 0)), s.get("sortOrder")) for s in view.get("sortSpecs", [])
    )
    bounds = tuple(
        int(rng.get(k, 0)) for k in ("startRowIndex", "startColumnIndex", "endColumnIndex")
    )
    return view.get("title"), bounds, rng.get("endRowIndex"), specs, sorts


def view_requests(
    tab: Json, columns: list[str], formatting: Formatting, owners: Sequence[str]
) -> list[Json]:
    """Requests that bring the agent's views in step with the owners; none when they are."""
    sheet_id = int(tab["properties"].get("sheetId", 0))
    present = [
        v
        for v in tab.get("filterViews", [])
        if int(v.get("filterViewId", -1)) == view_id(sheet_id, str(v.get("title", "")))
    ]
    wanted = {v["filterViewId"]: v for v in wanted_views(sheet_id, columns, formatting, owners)}
    by_id = {int(v["filterViewId"]): v for v in present}
    requests_: list[Json] = []
    for vid, view in by_id.items():
        if vid not in wanted or _shape(view) != _shape(wanted[vid]):
            requests_.append({"deleteFilterView": {"filterId": vid}})
    for vid, view in wanted.items():
        if vid not in by_id or _shape(by_id[vid]) != _shape(view):
            requests_.append({"addFilterView": {"filter": view}})
    return requests_
