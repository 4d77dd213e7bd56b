"""The store contract, run on every backend: what the sync pass relies on."""

from __future__ import annotations

from typing import Any

import pytest

from agent.plan import (
    CellWrite,
    CellWrites,
    DesiredCells,
    Formatting,
    HistoryRows,
    StatusColours,
    WritePlan,
)
from tests.store_backends import FACTORIES, Backend

HEADER = ["Client", "CSM", "Utilisation"]
ROWS = [
    ["Acme", "Camille", "Inactif"],
    ["Boréal", "Hugo", "Usage sporadique"],
    ["Cèdre", "Camille", "Active 5 jours sur 7"],
]
FORMAT = Formatting(
    status_column="Statut",
    status_labels=StatusColours("En bonne santé", "À surveiller", "À risque"),
    score_column="Score",
    agent_columns=("Score", "Statut"),
    dropdowns=(("Utilisation", ("Active 5 jours sur 7", "Usage sporadique", "Inactif")),),
)


@pytest.fixture(params=sorted(FACTORIES))
def backend(request, tmp_path):
    made: Backend = FACTORIES[request.param](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    yield made
    made.close()


def cell(backend: Backend, key: str, column: str):
    snap = backend.store.read().accounts
    at = snap.header.index(column)
    key_at = snap.header.index("Client")
    values = [r[at] if at < len(r) else None for r in snap.rows if r and r[key_at] == key]
    assert len(values) == 1, f"{key} found {len(values)} times"
    return values[0]


def test_read_returns_header_and_rows(backend):
    snap = backend.store.read()
    assert snap.accounts.header == HEADER
    assert [r[:3] for r in snap.accounts.rows] == ROWS
    assert snap.history is None


def test_new_agent_columns_go_to_the_right_of_the_header(backend):
    backend.store.write(WritePlan(new_columns=["Score", "Statut"]))
    assert backend.store.read().accounts.header == [*HEADER, "Score", "Statut"]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_column_with_cells_but_no_name_keeps_them_when_agent_columns_come(name, tmp_path):
    """A CSM's notes right of the last named column, its header cell left blank: the
    agent's new columns go to its right, not over it."""
    notes = ["rappeler mardi", None, "renouvellement ?"]
    rows = [[*r, n] for r, n in zip(ROWS, notes, strict=True)]
    rows[1] += [None, ""]  # empty cells past the notes hold nothing
    made = FACTORIES[name](tmp_path, HEADER, rows, "Client")
    try:
        made.store.read()
        made.store.write(
            WritePlan(new_columns=["Score", "Statut"], cells=[CellWrite("Acme", "Score", 2)])
        )
        snap = made.store.read().accounts
        assert snap.header == [*HEADER, "", "Score", "Statut"]
        assert [(r[3] if len(r) > 3 else None) or None for r in snap.rows] == notes
        assert cell(made, "Acme", "Score") == 2
    finally:
        made.close()


def test_cells_are_addressed_by_key_even_after_the_rows_moved(backend):
    backend.store.read()
    backend.reverse_rows()  # a CSM sorts between the read and the write
    backend.insert_row(0, ["Dune", "Hugo", "Inactif"])  # and inserts a row on top
    backend.store.write(
        WritePlan(
            new_columns=["Score"],
            cells=[CellWrite("Acme", "Score", 2), CellWrite("Cèdre", "Score", 8)],
        )
    )
    assert cell(backend, "Acme", "Score") == 2
    assert cell(backend, "Cèdre", "Score") == 8
    assert cell(backend, "Dune", "Score") in (None, "")
    assert cell(backend, "Acme", "Utilisation") == "Inactif"


def test_cells_planned_column_by_column_land_like_single_cells(backend):
    backend.store.read()
    backend.reverse_rows()
    changes = CellWrites(
        {"Score": (["Acme", "Cèdre", "Nobody"], [2, 8, 5]), "Statut": (["Acme"], ["À risque"])}
    )
    report = backend.store.write(WritePlan(new_columns=["Score", "Statut"], cells=changes))
    assert report.cells_written == 3  # an account not on the sheet gets nothing
    assert (cell(backend, "Acme", "Score"), cell(backend, "Acme", "Statut")) == (2, "À risque")
    assert cell(backend, "Cèdre", "Score") == 8
    assert cell(backend, "Boréal", "Score") in (None, "")


def test_the_wanted_cells_of_a_key_on_two_rows_are_its_last_rows():
    columns: dict[str, list[Any]] = {"Score": [1, 2, 3], "Statut": ["a", "b", "c"]}
    desired = DesiredCells(["Acme", "Boréal", "Acme"], columns)
    assert list(desired) == ["Acme", "Boréal"]
    assert desired["Acme"] == {"Score": 3, "Statut": "c"}
    assert dict(desired.items())["Boréal"] == {"Score": 2, "Statut": "b"}


def test_an_empty_plan_writes_nothing(backend):
    before = backend.writes()
    report = backend.store.write(WritePlan())
    assert not report.wrote_anything
    assert backend.writes() == before


def test_formula_like_text_is_stored_as_literal_text(backend):
    texts = ['=IMPORTXML("http://x","//a")', "+1", "@SUM(A1)", "-2+3"]
    backend.store.write(
        WritePlan(
            new_columns=["Pourquoi"],
            cells=[
                CellWrite(key, "Pourquoi", text)
                for key, text in zip(["Acme", "Boréal", "Cèdre"], texts[:3], strict=True)
            ],
        )
    )
    assert cell(backend, "Acme", "Pourquoi") == texts[0]
    assert cell(backend, "Boréal", "Pourquoi") == texts[1]
    assert cell(backend, "Cèdre", "Pourquoi") == texts[2]


def test_history_rows_are_upserted_by_week_and_key(backend):
    header = ["Semaine", "Date", "Client", "Score"]
    backend.store.write(
        WritePlan(
            history_header=header,
            history_rows=[
                ["2026-W47", "2026-11-17", "Acme", 4],
                ["2026-W47", "2026-11-17", "Boréal", 6],
            ],
        )
    )
    backend.store.write(
        WritePlan(
            history_header=header,
            history_rows=[
                ["2026-W47", "2026-11-18", "Acme", 5],
                ["2026-W48", "2026-11-24", "Acme", 6],
            ],
        )
    )
    history = backend.store.read().history
    assert history is not None
    assert history.header == header
    rows = sorted((r[0], r[2], r[3]) for r in history.rows)
    assert rows == [("2026-W47", "Acme", 5), ("2026-W47", "Boréal", 6), ("2026-W48", "Acme", 6)]


def test_history_older_than_the_retention_is_dropped(backend):
    header = ["Semaine", "Date", "Client", "Score"]
    backend.store.write(
        WritePlan(
            history_header=header,
            history_rows=[
                ["2024-W01", "2024-01-02", "Acme", 4],
                ["2026-W47", "2026-11-17", "Acme", 6],
            ],
        )
    )
    backend.store.write(WritePlan(history_header=header, history_oldest_week="2025-W01"))
    history = backend.store.read().history
    assert history is not None
    assert [r[0] for r in history.rows] == ["2026-W47"]


def test_formatting_is_written_once_then_recognised(backend):
    first = backend.store.write(WritePlan(new_columns=["Score", "Statut"], formatting=FORMAT))
    assert first.formatting_written
    for _ in range(3):
        again = backend.store.write(WritePlan(formatting=FORMAT))
        assert not again.formatting_written


def test_accented_text_and_emoji_land_as_written(backend):
    texts = {"Acme": "Planifier un point d'étape · relancer ✅", "Cèdre": "Rappeler Zoé 🙂"}
    backend.store.read()
    backend.store.write(
        WritePlan(
            new_columns=["Prochaine action"],
            cells=[CellWrite(key, "Prochaine action", text) for key, text in texts.items()],
        )
    )
    for key, text in texts.items():
        assert cell(backend, key, "Prochaine action") == text


def test_history_rows_given_column_by_column_are_upserted_like_rows(backend):
    header = ["Semaine", "Date", "Client", "Score"]
    first = [["2026-W47"] * 2, ["2026-11-17"] * 2, ["Acme", "Boréal"], [4, 6]]
    backend.store.write(WritePlan(history_header=header, history_rows=HistoryRows(first)))
    then = [["2026-W47", "2026-W48"], ["2026-11-18", "2026-11-24"], ["Acme", "Acme"], [5, 6]]
    backend.store.write(WritePlan(history_header=header, history_rows=HistoryRows(then)))
    history = backend.store.read().history
    assert history is not None and history.header == header
    rows = sorted((r[0], r[2], r[3]) for r in history.rows)
    assert rows == [("2026-W47", "Acme", 5), ("2026-W47", "Boréal", 6), ("2026-W48", "Acme", 6)]
