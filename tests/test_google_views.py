"""A filter view per CSM on Google (issue 21): "Comptes de Léa", her rows sorted by status
then score; added for a new owner, removed for one gone, a person's own views untouched,
no call on an unchanged pass (emulator)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.plan import StatusColours, WritePlan
from agent.stores.google.views import view_id, wanted_views
from tests.google_fixtures import (
    FORMAT,
    INPUTS,
    EmulatedGoogle,
    accounts,
    plan_for,
    start_emulated_google,
)

VIEWS = dataclasses.replace(FORMAT, owner_column="CSM", owner_views="Comptes de {owner}")
COLUMNS = ["Client", "CSM", "Utilisation", "Score", "Statut"]


@pytest.fixture
def google(tmp_path: Path) -> Iterator[EmulatedGoogle]:
    made = start_emulated_google(tmp_path, INPUTS, accounts(9), key_column="Client")
    yield made
    made.close()


def planned(google: EmulatedGoogle) -> WritePlan:
    """A pass's plan with the owners the sheet holds now."""
    plan = plan_for(google.store)
    plan.formatting = VIEWS
    at = google.tab.header().index("CSM")
    plan.owners = tuple(sorted({str(r[at]) for r in google.tab.rows[1:] if r[at]}))
    return plan


def titles(google: EmulatedGoogle) -> list[str]:
    return sorted(v["title"] for v in google.tab.filter_views)


def test_a_view_sorts_by_status_then_score_where_the_words_sort_worst_first() -> None:
    [view] = wanted_views(0, COLUMNS, VIEWS, ["Léa"])
    assert view["title"] == "Comptes de Léa" and view["filterViewId"] == view_id(0, view["title"])
    assert [(s["dimensionIndex"], s["sortOrder"]) for s in view["sortSpecs"]] == [
        (4, "ASCENDING"),  # Statut: "À risque" < "À surveiller" < "En bonne santé"
        (3, "ASCENDING"),  # then Score, lowest first
    ]
    [spec] = view["filterSpecs"]
    assert spec["columnIndex"] == 1
    assert spec["filterCriteria"]["condition"]["values"] == [{"userEnteredValue": "Léa"}]
    english = dataclasses.replace(
        VIEWS,
        status_labels=StatusColours("Healthy", "Watch", "At risk"),
        owner_views="{owner}'s accounts",
    )
    [view] = wanted_views(0, COLUMNS, english, ["Lea"])
    assert view["title"] == "Lea's accounts"
    assert [s["dimensionIndex"] for s in view["sortSpecs"]] == [3]  # "Watch" sorts last
    assert wanted_views(0, COLUMNS, FORMAT, ["Léa"]) == []  # no owner column configured


def test_views_follow_the_owners_and_a_persons_view_is_never_touched(
    google: EmulatedGoogle,
) -> None:
    theirs = {"filterViewId": 42, "title": "Comptes de Léa",
              "range": {"sheetId": 0, "startRowIndex": 0}}  # fmt: skip
    google.tab.filter_views.append(dict(theirs))
    google.store.write(planned(google))
    assert titles(google) == ["Comptes de Camille", "Comptes de Hugo", "Comptes de Léa",
                              "Comptes de Léa"]  # fmt: skip
    google.emulator.reset_counters()
    for _ in range(3):  # nothing changed: no call
        google.store.write(planned(google))
    assert google.emulator.calls["format"] == 0
    at = google.tab.header().index("CSM")
    for row in google.tab.rows[1:]:
        if row[at] == "Hugo":
            row[at] = "Zoé"  # Hugo's accounts handed over to Zoé
    google.store.write(planned(google))
    assert titles(google) == ["Comptes de Camille", "Comptes de Léa", "Comptes de Léa",
                              "Comptes de Zoé"]  # fmt: skip
    assert theirs in google.tab.filter_views  # the person's own, as it was
    google.emulator.reset_counters()
    google.store.write(planned(google))
    assert google.emulator.calls["format"] == 0
