"""The history tab's weeks as the team reads them ("S49 2026" in French, "W49 2026" in
English), and a tab written before, with ISO codes ("2026-W49"), read as the same weeks: a
pass never adds a second row for a week and account, prunes by the week a row is, and
reads trends across both forms. On the memory, workbook and Google stores."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.history import account_trends, history_frame, iso_week
from agent.history_look import week_code, week_label
from agent.history_merge import merge_history
from agent.plan import WritePlan
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.conftest import example_config
from tests.store_backends import FACTORIES, Backend
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 2026-W48
ROWS = [
    ["Acme", "Camille", "PME", *TOP],
    ["Boréal", "Hugo", "PME", *MID],
    ["Cèdre", "Léa", "ETI", *LOW],
]


def test_a_week_reads_S49_2026_in_french_and_W49_2026_in_english() -> None:
    assert week_label("2026-W49", "fr") == "S49 2026"
    assert week_label("2026-W49", "en") == "W49 2026"
    assert week_label("2027-W01", "fr") == "S1 2027"  # no leading zero, as "depuis S1"


@pytest.mark.parametrize(
    ("cell", "week"),
    [
        ("S49 2026", "2026-W49"),  # a French team's
        ("W49 2026", "2026-W49"),  # an English team's
        ("2026-W49", "2026-W49"),  # what the tab held before
        (" s49  2026 ", "2026-W49"),
        ("Semaine 49 2026", "2026-W49"),
        ("Week 9, 2026", "2026-W09"),
        ("S53 2026", "2026-W53"),  # 2026 has 53 ISO weeks
        ("2020-W53", "2020-W53"),
        ("S53 2027", "S53 2027"),  # 2027 has 52: no such week, the text kept as it is
        ("S0 2026", "S0 2026"),
        ("Total", "Total"),
    ],
)
def test_every_form_of_a_week_reads_as_its_iso_code(cell: str, week: str) -> None:
    assert week_code(cell) == week


def test_the_year_shown_is_the_iso_weeks_around_new_year() -> None:
    # Monday 29/12/2025 opens week 1 of 2026; Friday 01/01/2027 is still in week 53 of 2026
    assert week_label(iso_week(dt.date(2025, 12, 29)), "fr") == "S1 2026"
    assert week_label(iso_week(dt.date(2027, 1, 1)), "en") == "W53 2026"
    assert week_label(iso_week(dt.date(2027, 1, 4)), "fr") == "S1 2027"


@given(st.dates(min_value=dt.date(1900, 1, 8), max_value=dt.date(9999, 12, 24)))
def test_a_weeks_label_reads_back_as_the_same_week_in_both_languages(day: dt.date) -> None:
    week = iso_week(day)
    assert week_code(week_label(week, "fr")) == week == week_code(week_label(week, "en"))
    assert week_code(week) == week


def test_old_weeks_are_dropped_by_the_week_they_are_not_by_their_text() -> None:
    header = ["Semaine", "Date", "Client", "Score"]
    rows: list[list[object]] = [
        ["S52 2025", "d", "Acme", 1],  # textually after "2026-W01"
        ["Total", "d", "Acme", 1],  # not a week: kept, never matched
        ["W1 2026", "d", "Acme", 2],
        ["2026-W02", "d", "Acme", 3],
        ["S10 2026", "d", "Acme", 4],  # textually before "S2 2026"
    ]
    merge = merge_history(header, rows, WritePlan(history_oldest_week="2026-W01"))
    assert [r[0] for r in merge.rows] == ["Total", "W1 2026", "2026-W02", "S10 2026"]
    assert merge.written == 1


def test_a_passs_row_replaces_the_old_form_row_of_its_week_in_place() -> None:
    header = ["Semaine", "Date", "Client", "Score"]
    rows: list[list[object]] = [["2026-W48", "d", "Acme", 6], ["2026-W48", "d", "Boréal", 4]]
    plan = WritePlan(history_rows=[["S48 2026", "e", "Acme", 7], ["W49 2026", "e", "Acme", 7]])
    merge = merge_history(header, rows, plan)
    assert merge.rows == [
        ["S48 2026", "e", "Acme", 7],  # the same week and account: replaced where it was
        ["2026-W48", "d", "Boréal", 4],
        ["W49 2026", "e", "Acme", 7],
    ]


def test_trends_and_last_weeks_change_read_across_both_forms(seed_config) -> None:
    store = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    for week in range(5):
        if week == 4:
            store.accounts.rows[0][3:7] = [MID[0], MID[1], TOP[2], TOP[3]]  # Acme 8 -> 6
        run_pass(store, seed_config, now=MONDAY + dt.timedelta(weeks=week))
    assert store.history is not None
    new_form = history_frame(store.history, seed_config.model)
    old_tab = dataclasses.replace(
        store.history,
        rows=[[week_code(r[0]), *r[1:]] if r[0] != "S49 2026" else r for r in store.history.rows],
    )
    assert {r[0] for r in old_tab.rows} == {
        "2026-W48",
        "S49 2026",
        "2026-W50",
        "2026-W51",
        "2026-W52",
    }
    mixed = history_frame(old_tab, seed_config.model)
    assert mixed["week"].tolist() == new_form["week"].tolist()
    current = new_form[new_form["week"] == "2026-W52"].rename(columns={"score": "shown"})
    trends = account_trends(mixed, current, week="2026-W52", scale=8)
    assert trends["Acme"].delta_4w == -2  # W52 against W48, written in the old form
    assert trends["Boréal"].status_week_ago == "orange"


def _old_form(rows: list[list[object]], version: str) -> list[list[object]]:
    """Rows as the agent wrote them before: the ISO week, the bare hash of the model."""
    return [[week_code(r[0]), *r[1:-1], version] for r in rows]


@pytest.fixture(params=["memory", "workbook", "google"])
def backend(request, tmp_path):
    made: Backend = FACTORIES[request.param](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    yield made
    made.close()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_tab_of_iso_weeks_gets_no_second_row_and_a_changed_row_takes_the_new_form(
    backend: Backend, tmp_path, language: str
) -> None:
    config = dataclasses.replace(example_config(tmp_path), language=language)
    letter = {"fr": "S", "en": "W"}[language]
    # what an earlier agent wrote this week: the same scores, ISO weeks, the bare hash
    scratch = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    run_pass(scratch, config, now=MONDAY)
    assert scratch.history is not None
    old = _old_form(scratch.history.rows, config.model.version())
    backend.store.write(WritePlan(history_header=scratch.history.header, history_rows=old))

    run_pass(backend.store, config, now=MONDAY + dt.timedelta(hours=2))  # formatting only
    history = backend.store.read().history
    assert history is not None
    assert [list(r[: len(old[0])]) for r in history.rows] == old  # read as this week's rows
    writes = backend.writes()
    run_pass(backend.store, config, now=MONDAY + dt.timedelta(hours=4))
    assert backend.writes() == writes  # an unchanged pass writes nothing

    # the model changes during the week: every row of the week is rewritten, in place,
    # in the team's form
    model = config.model
    heavier = dataclasses.replace(
        model, criteria=(dataclasses.replace(model.criteria[0], weight=3), *model.criteria[1:])
    )
    config = dataclasses.replace(config, model=heavier)
    run_pass(backend.store, config, now=MONDAY + dt.timedelta(hours=6))
    history = backend.store.read().history
    assert history is not None
    assert [(r[0], r[2]) for r in history.rows] == [
        (f"{letter}48 2026", "Acme"),
        (f"{letter}48 2026", "Boréal"),
        (f"{letter}48 2026", "Cèdre"),
    ]

    run_pass(backend.store, config, now=MONDAY + dt.timedelta(weeks=1))  # next week
    history = backend.store.read().history
    assert history is not None
    weeks = [r[0] for r in history.rows]
    assert weeks[3:] == [f"{letter}49 2026"] * 3 and len(weeks) == 6
