"""The weekly history tab: one row per account per ISO week, trends read from it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from agent.history import iso_week, shift_week
from agent.model_note import model_text
from agent.plan import score_cells, texts_or_none
from agent.stores.google import history_cells, weeks_that_fit
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.test_scoring import LOW, MID, SEED_COLUMNS, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
HEADER = ["Client", "CSM", "Segment", *SEED_COLUMNS]  # the seed grid


def sheet(rows: list[list[object]]) -> MemoryStore:
    return MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")


def accounts() -> list[list[object]]:
    return [
        ["Acme", "Camille", "PME", *TOP],
        ["Boréal", "Hugo", "PME", *MID],
        ["Cèdre", "Léa", "ETI", *LOW],
    ]


def history_rows(store: MemoryStore) -> list[list[object]]:
    assert store.history is not None
    return store.history.rows


def test_twenty_passes_in_one_week_leave_one_row_per_account(seed_config):
    store = sheet(accounts())
    for i in range(20):
        run_pass(store, seed_config, now=MONDAY + dt.timedelta(hours=7 * i))
    rows = history_rows(store)
    assert len(rows) == 3
    assert sorted(r[2] for r in rows) == ["Acme", "Boréal", "Cèdre"]


def test_passes_in_three_weeks_leave_three_rows_per_account(seed_config):
    store = sheet(accounts())
    for week in range(3):
        for day in range(2):
            run_pass(store, seed_config, now=MONDAY + dt.timedelta(weeks=week, days=day))
    rows = history_rows(store)
    assert len(rows) == 9
    assert sorted({r[0] for r in rows}) == ["S48 2026", "S49 2026", "S50 2026"]


def test_the_current_week_row_is_updated_in_place(seed_config):
    store = sheet(accounts())
    run_pass(store, seed_config, now=MONDAY)
    store.accounts.rows[0][HEADER.index("Feedback client")] = LOW[2]
    run_pass(store, seed_config, now=MONDAY + dt.timedelta(days=2))
    acme = [r for r in history_rows(store) if r[2] == "Acme"]
    assert len(acme) == 1
    assert acme[0][3] == 6 and acme[0][1] == "2026-11-25"


def test_history_row_holds_week_date_key_score_status_points_and_model(seed_config):
    store = sheet(accounts())
    run_pass(store, seed_config, now=MONDAY)
    assert store.history is not None
    assert store.history.header == [
        "Semaine",
        "Date",
        "Client",
        "Score",
        "Statut",
        "Utilisation",  # the criteria by their labels, as the team reads them
        "Réactivité",
        "Feedback",
        "Adoption",
        "Modèle",
    ]
    acme = [r for r in history_rows(store) if r[2] == "Acme"][0]
    assert acme == [
        "S48 2026",  # the week as a French team reads it
        "2026-11-23",
        "Acme",
        8,
        "En bonne santé",
        2,
        2,
        2,
        2,
        model_text(seed_config.model, "fr"),  # the model in words, with its reference
    ]


def test_rows_of_accounts_that_disappeared_stay(seed_config):
    store = sheet(accounts())
    run_pass(store, seed_config, now=MONDAY)
    del store.accounts.rows[1]
    run_pass(store, seed_config, now=MONDAY + dt.timedelta(weeks=1))
    keys = [(r[0], r[2]) for r in history_rows(store)]
    assert ("S48 2026", "Boréal") in keys and ("S49 2026", "Boréal") not in keys


def test_retention_drops_weeks_older_than_configured(seed_config):
    import dataclasses

    config = dataclasses.replace(
        seed_config, sheet=dataclasses.replace(seed_config.sheet, history_keep_weeks=2)
    )
    store = sheet(accounts())
    for week in range(4):
        run_pass(store, config, now=MONDAY + dt.timedelta(weeks=week))
    assert sorted({r[0] for r in history_rows(store)}) == ["S49 2026", "S50 2026", "S51 2026"]


def test_delta_over_four_weeks_and_status_a_week_ago(seed_config):
    store = sheet(accounts())
    for week in range(5):
        if week == 4:
            store.accounts.rows[0][3:7] = [MID[0], MID[1], TOP[2], TOP[3]]  # Acme 8 -> 6
        run_pass(store, seed_config, now=MONDAY + dt.timedelta(weeks=week))
    from agent.history import account_trends, history_frame

    snap = store.read()
    frame = history_frame(snap.history, seed_config.model)
    import pandas as pd

    current = pd.DataFrame({"key": ["Acme"], "shown": [6.0]})
    trend = account_trends(frame, current, week=shift_week("2026-W48", 4), scale=8)["Acme"]
    assert trend.delta_4w == -2
    assert trend.status_week_ago == "green"
    assert len(trend.weeks) == 4


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (dt.date(2026, 1, 1), "2026-W01"),
        (dt.date(2027, 1, 1), "2026-W53"),
        (dt.date(2026, 11, 24), "2026-W48"),
    ],
)
def test_iso_weeks_across_year_ends(day, week):
    assert iso_week(day) == week


def test_merging_replaces_the_last_row_of_a_week_and_key_appends_new_ones_and_drops_old():
    from agent.history_merge import merge_history
    from agent.plan import WritePlan

    header = ["Semaine", "Date", "Client", "Score"]
    old = [
        ["2026-W40", "2026-09-28", "Acme", 5],
        ["2026-W48", "2026-11-23", "Acme", 4],
        ["2026-W48", "2026-11-23", " Boréal ", 6],
        ["2026-W48", "2026-11-23", "Acme", 3],  # a row a person copied: the last one counts
        ["2026-W48"],  # too short to hold a key: kept, never matched
    ]
    before = [list(r) for r in old]
    plan = WritePlan(
        history_rows=[
            ["2026-W48", "2026-11-24", "Acme", 7],
            ["2026-W48", "2026-11-24", "Boréal", 6],  # same as the sheet once trimmed: new date
            ["2026-W48", "2026-11-24", "Cèdre", 2],
        ],
        history_oldest_week="2026-W44",
    )
    merge = merge_history(header, old, plan)
    assert merge.rows == [
        ["2026-W48", "2026-11-23", "Acme", 4],
        ["2026-W48", "2026-11-24", "Boréal", 6],
        ["2026-W48", "2026-11-24", "Acme", 7],
        ["2026-W48"],
        ["2026-W48", "2026-11-24", "Cèdre", 2],
    ]
    assert merge.touched == {1, 2, 4} and merge.first_dropped == 0
    assert merge.written == 4  # one dropped, two replaced, one added
    assert old == before  # the rows read are left as they were
    plan.history_rows[2][3] = 0
    assert merge.rows[4][3] == 2  # nor do the merged rows share the plan's lists


def test_a_weeks_first_merge_appends_every_row_in_order():
    from agent.history_merge import merge_history
    from agent.plan import WritePlan

    old = [["2026-W47", "2026-11-16", "Acme", 4]]
    new = [["2026-W48", "2026-11-23", key, i] for i, key in enumerate(["Acme", "Boréal"])]
    merge = merge_history(["Semaine", "Date", "Client", "Score"], old, WritePlan(history_rows=new))
    assert merge.rows == old + new and merge.touched == {1, 2} and merge.written == 2
    assert merge.first_dropped is None


def merged_by_hand(rows, plan):
    """The history merge as the plan describes it, one row at a time (the reference)."""
    from agent.cells import key_text

    def ident(row):
        return (key_text(row[0]), key_text(row[2])) if len(row) >= 3 else None

    oldest = plan.history_oldest_week
    kept = [r for r in rows if not (oldest and r and key_text(r[0]) and key_text(r[0]) < oldest)]
    written = len(rows) - len(kept)
    touched = set()
    for new in plan.history_rows:
        at = max((i for i, r in enumerate(kept) if ident(r) == ident(new)), default=None)
        if at is None:
            kept.append(list(new))
            at = len(kept) - 1
        elif kept[at] == list(new):
            continue
        else:
            kept[at] = list(new)
        touched.add(at)
        written += 1
    return kept, touched, written


WEEKS = st.sampled_from(["2026-W40", "2026-W47", "2026-W48", " 2026-W48 ", ""])
KEYS = st.sampled_from(["Acme", " Acme", "Boréal", "Cèdre", "", 7])
HISTORY_ROW = st.one_of(
    st.lists(st.sampled_from(["2026-W48", "x"]), max_size=2),  # too short to hold a key
    st.tuples(WEEKS, st.just("2026-11-23"), KEYS, st.integers(0, 8)).map(list),
)


@given(
    old=st.lists(HISTORY_ROW, max_size=12),
    new=st.lists(
        st.tuples(WEEKS.filter(bool), st.just("2026-11-24"), KEYS, st.integers(0, 8)).map(list),
        max_size=6,
    ),
    oldest=st.sampled_from([None, "2026-W44"]),
)
def test_the_history_merge_is_the_row_by_row_upsert_it_describes(old, new, oldest):
    from agent.history_merge import merge_history
    from agent.plan import WritePlan

    before = [list(r) for r in old]
    plan = WritePlan(history_rows=new, history_oldest_week=oldest)
    merge = merge_history(["Semaine", "Date", "Client", "Score"], old, plan)
    rows, touched, written = merged_by_hand(old, plan)
    assert merge.rows == rows and merge.touched == touched and merge.written == written
    assert old == before


def _one_score_cell(value: float) -> int | float | None:
    """A score or points cell, one number at a time: the reference for `score_cells`."""
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() else value


@given(
    st.one_of(
        # a column of points or rounded scores: a few numbers, many times over
        st.lists(st.sampled_from([0.0, 1.0, 2.0, -1.0, 2.5, 7.3, -0.0, math.nan, 1e300])),
        st.lists(st.floats(allow_nan=True, allow_infinity=True)),
    )
)
def test_score_cells_are_ints_when_whole_floats_otherwise_blank_when_none(
    values: list[float],
) -> None:
    cells = score_cells(np.asarray(values, dtype=float))
    expected = [_one_score_cell(v) for v in values]
    assert cells == expected
    assert [type(c) for c in cells] == [type(c) for c in expected]


CELL = st.sampled_from(["a", 1, None, ""])


@given(
    st.integers(0, 5).flatmap(
        lambda width: st.one_of(
            # rows of one length (a tab whose rows all end alike), or of any lengths
            st.integers(0, width + 1).flatmap(
                lambda n: st.lists(st.lists(CELL, min_size=n, max_size=n))
            ),
            st.lists(st.lists(CELL, max_size=width + 1)),
        ).map(lambda rows: (width, rows))
    )
)
def test_the_accounts_frame_holds_each_row_padded_or_cut_to_the_header(
    case: tuple[int, list[list[object]]],
) -> None:
    from agent.accounts import accounts_frame
    from agent.stores.base import Tab

    width, rows = case
    header = [f"c{i}" for i in range(width)]
    frame = accounts_frame(Tab("Comptes", header, rows))
    assert list(frame.columns) == header and len(frame) == len(rows)
    expected = [(r + [None] * width)[:width] for r in rows]
    assert [list(line) for line in frame.itertuples(index=False)] == expected


def test_the_history_frame_reads_short_and_long_rows_by_position(seed_config):
    from agent.history import history_frame
    from agent.stores.base import Tab

    ids = [c.id for c in seed_config.model.criteria]
    header = ["Semaine", "Date", "Client", "Score", "Statut", *ids, "Modèle"]
    rows = [
        ["2026-W47", "2026-11-16", "Acme", 8, "En bonne santé", 2, 2, 2, 2, "v1"],
        ["2026-W47", "2026-11-16", " Boréal ", "6,5", "À surveiller", 2],  # Google cut it
        ["2026-W48", "2026-11-23", "Cèdre", 3, "À risque", 1, 0, 1, 1, "v1", "a note"],
        ["2026-W48", "", ""],  # no key: left out
    ]
    frame = history_frame(Tab("Historique", header, rows), seed_config.model)
    assert frame["key"].tolist() == ["Acme", "Boréal", "Cèdre"]
    assert frame["score"].tolist() == [8.0, 6.5, 3.0]
    assert frame["status"].tolist() == ["green", "orange", "red"]
    assert frame["model_version"].tolist() == ["v1", "", "v1"]
    points = frame[[f"points.{i}" for i in ids]].to_numpy().tolist()
    assert points[0] == [2.0] * 4 and points[2] == [1.0, 0.0, 1.0, 1.0]
    assert points[1][0] == 2.0 and all(p != p for p in points[1][1:])  # NaN past the end


@given(st.integers(0, 20_000_000), st.integers(0, 200_000), st.integers(1, 40))
@example(room=101, accounts=0, width=1)  # no accounts: any number of weeks fits (was -1)
def test_the_weeks_said_to_fit_are_the_most_that_fit(room: int, accounts: int, width: int) -> None:
    weeks = weeks_that_fit(room, accounts, width)
    if weeks < 0:
        assert history_cells(accounts, 0, width) > room
    else:
        assert history_cells(accounts, weeks, width) <= room
        if accounts:
            assert history_cells(accounts, weeks + 1, width) > room


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_texts_or_none_blanks_every_empty_cell_whatever_the_columns_kind(dtype) -> None:
    # a pass's columns are pandas' "str" (NaN for missing); "string" holds pd.NA instead
    cells = ["Appeler", "", None, "À risque", "  "]
    column = pd.Series(cells, dtype=dtype)
    expected = [v if isinstance(v, str) and v else None for v in column.tolist()]
    assert texts_or_none(column).tolist() == expected
    assert expected == ["Appeler", None, None, "À risque", "  "]


def trends_one_account_at_a_time(history, current, *, week, scale):
    """What `account_trends` means, written the plain way: each account's past rows in
    week order (rows of one week in tab order), read one by one."""
    out = {}
    for key, shown in zip(current["key"], current["shown"], strict=True):
        rows = [r for r in history.to_dict("records") if r["key"] == key and r["week"] < week]
        rows.sort(key=lambda r: r["week"])  # stable: rows of one week keep their order
        if not rows:
            out[key] = (None, 1 if shown >= scale else 0, None, [])
            continue
        delta, streak = None, 0
        if not math.isnan(shown):
            base = [r["score"] for r in rows if r["week"] <= shift_week(week, -4)]
            base = [s for s in base if not math.isnan(s)]
            delta = round(shown - base[-1], 1) if base else None
            if shown >= scale:
                streak = 1
                for r in reversed(rows):
                    if math.isnan(r["score"]) or r["score"] < scale:
                        break
                    streak += 1
        last = rows[-1]
        ago = last["status"] if last["week"] == shift_week(week, -1) else None
        weeks = [
            {
                "week": r["week"],
                "score": None if math.isnan(r["score"]) else r["score"],
                "status": r["status"],
            }  # fmt: skip
            for r in rows
        ]
        out[key] = (delta, streak, ago, weeks)
    return out


past_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", None]),  # None: a row without a key, ignored
        st.sampled_from(["2026-W40", "2026-W41", "2026-W43", "2026-W44", "2026-W47", "2026-W48"]),
        st.sampled_from([float("nan"), 0.0, 3.5, 7.0, 8.0]),
        st.sampled_from(["green", "orange", "red", None]),
    ),
    max_size=40,
)


@given(
    rows=past_rows,
    current=st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", "E"]), st.sampled_from([float("nan"), 5.0, 8.0])),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    ),
)
def test_trends_match_reading_each_account_one_at_a_time(rows, current):
    """Weeks with gaps, a week given twice, blank scores, keys with no past, the current
    week's rows (ignored), keys of the past not in the sheet any more, rows without a key."""
    from agent.history import account_trends

    history = pd.DataFrame(
        {
            "week": pd.Series([r[1] for r in rows], dtype=object),
            "key": pd.Series([r[0] for r in rows], dtype=object),
            "score": pd.Series([r[2] for r in rows], dtype=float),
            "status": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    now = pd.DataFrame({"key": [c[0] for c in current], "shown": [c[1] for c in current]})
    got = account_trends(history, now, week="2026-W48", scale=8)
    expected = trends_one_account_at_a_time(history, now, week="2026-W48", scale=8)
    assert {
        key: (t.delta_4w, t.weeks_at_max, t.status_week_ago, t.weeks) for key, t in got.items()
    } == expected


def test_a_history_tab_written_with_ids_is_read_and_its_header_moves_to_labels(seed_config):
    """Tabs written before the labels keep their past: the points are found under the ids,
    and the next pass writes the header with the labels over the same columns."""
    from agent.history import history_frame
    from agent.stores.base import Tab

    ids = [c.id for c in seed_config.model.criteria]
    header = ["Semaine", "Date", "Client", "Score", "Statut", *ids, "Modèle"]
    row = ["2026-W47", "2026-11-16", "Acme", 8, "En bonne santé", 2, 1, 2, 0, "v1"]
    old = Tab("Historique", header, [row])
    frame = history_frame(old, seed_config.model)
    assert frame[[f"points.{i}" for i in ids]].to_numpy().tolist() == [[2.0, 1.0, 2.0, 0.0]]
    store = sheet(accounts())
    store.history = old
    run_pass(store, seed_config, now=MONDAY)
    assert store.history.header[5:9] == ["Utilisation", "Réactivité", "Feedback", "Adoption"]
    again = history_frame(store.history, seed_config.model)
    acme = again[(again["key"] == "Acme") & (again["week"] == "2026-W47")]
    assert acme[[f"points.{i}" for i in ids]].to_numpy().tolist() == [[2.0, 1.0, 2.0, 0.0]]


def test_a_label_that_could_be_misread_stays_an_id(seed_config):
    from agent.history import criteria_headers

    first, second, *rest = seed_config.model.criteria
    clash = dataclasses.replace(first, label="Score")  # one of the tab's own headers
    twice = dataclasses.replace(second, label=rest[0].label)  # two criteria, one label
    model = dataclasses.replace(seed_config.model, criteria=(clash, twice, *rest))
    names = criteria_headers(model, "Client")
    assert names[:3] == [first.id, second.id, rest[0].id] and names[3] == rest[1].label
