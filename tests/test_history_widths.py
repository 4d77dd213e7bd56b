"""The history tab's columns wide enough to read (issue 21), on Google and in a workbook:
set when the tab is made (or, for a tab an earlier agent made, once), never again on an
unchanged pass, and a width a person gave a column stays."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from agent.config import Config
from agent.history_look import MODEL_WIDTH, history_widths, width_in_characters
from agent.plan import WritePlan
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.google_fixtures import HISTORY, SPREADSHEET_ID, start_emulated_google
from tests.store_backends import workbook_backend
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 2026-W48
ROWS = [
    ["Acme", "Camille", "PME", *TOP],
    ["Boréal", "Hugo", "PME", *MID],
    ["Cèdre", "Léa", "ETI", *LOW],
]


def test_each_history_column_is_as_wide_as_its_words() -> None:
    header = ["Semaine", "Date", "Client", "Score", "Statut", "Utilisation", "NPS", "Modèle"]
    widths = history_widths(header)
    assert len(widths) == len(header)
    assert widths[-1] == MODEL_WIDTH  # the model in words is the longest cell
    assert widths[5] > widths[6] >= 70  # a criterion as wide as its label, never too narrow
    with_override = history_widths([*header, "Avis CSM"], override=True)
    assert with_override[: len(header)] == widths and len(with_override) == len(header) + 1
    assert width_in_characters(140) == 20.0  # a workbook counts characters, about 7 px each


def old_tab(config: Config) -> tuple[list[str], list[list[object]]]:
    """A history tab as an earlier agent made it: this week's rows, no widths."""
    scratch = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    run_pass(scratch, config, now=MONDAY)
    assert scratch.history is not None
    return scratch.history.header, scratch.history.rows


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("made_by", ["the first pass", "an earlier agent"])
def test_google_history_columns_get_their_widths_in_the_formatting_call_once(
    tmp_path: Path, seed_config: Config, language: str, made_by: str
) -> None:
    config = dataclasses.replace(seed_config, language=language)
    made = start_emulated_google(tmp_path, HEADER, [list(r) for r in ROWS], key_column="Client")
    try:
        if made_by == "an earlier agent":
            header, rows = old_tab(config)
            made.store.write(WritePlan(history_header=header, history_rows=rows))
        run_pass(made.store, config, now=MONDAY + dt.timedelta(hours=1))
        tab = made.emulator.tab(SPREADSHEET_ID, HISTORY)
        header = [str(h) for h in tab.header()]
        assert header[0] == {"fr": "Semaine", "en": "Week"}[language]
        wanted = history_widths(header)
        assert [tab.column_widths.get(c) for c in range(len(header))] == list(wanted)

        writes = made.writes()
        run_pass(made.store, config, now=MONDAY + dt.timedelta(hours=2))
        assert made.writes() == writes  # an unchanged pass: no formatting, no values

        tab.column_widths[0] = 300  # a person widens the week column
        run_pass(made.store, config, now=MONDAY + dt.timedelta(weeks=1))  # a week's rows
        assert made.writes() > writes
        assert tab.column_widths[0] == 300 and tab.column_widths[2] == wanted[2]
    finally:
        made.close()


def history_part(path: Path) -> bytes:
    """The history sheet's XML: the tab the agent added after the accounts' sheet1."""
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet2.xml")


def widths_of(path: Path, title: str, count: int) -> list[float | None]:
    ws = load_workbook(path)[title]
    dims = ws.column_dimensions
    return [
        dims[get_column_letter(c)].width if get_column_letter(c) in dims else None
        for c in range(1, count + 1)
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_workbooks_history_sheet_gets_its_widths_in_cols_before_its_data(
    tmp_path: Path, seed_config: Config, language: str
) -> None:
    config = dataclasses.replace(seed_config, language=language)
    backend = workbook_backend(tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    path = tmp_path / "sheet.xlsx"
    run_pass(backend.store, config, now=MONDAY)
    xml = history_part(path)
    # ECMA-376 order: sheetViews, cols, sheetData
    assert xml.index(b"<sheetViews") < xml.index(b"<cols>") < xml.index(b"<sheetData")
    history = backend.store.read().history
    assert history is not None
    wanted = [width_in_characters(w) for w in history_widths(history.header)]
    assert widths_of(path, history.title, len(wanted)) == wanted

    saves, before = backend.writes(), path.read_bytes()
    run_pass(backend.store, config, now=MONDAY + dt.timedelta(hours=2))
    assert backend.writes() == saves and path.read_bytes() == before  # nothing written


def test_a_workbook_history_tab_made_before_gets_widths_and_a_persons_width_stays(
    tmp_path: Path, seed_config: Config
) -> None:
    backend = workbook_backend(tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    path = tmp_path / "sheet.xlsx"
    header, rows = old_tab(seed_config)
    backend.store.write(WritePlan(history_header=header, history_rows=rows))
    assert b"<cols>" not in history_part(path)  # as an earlier agent left it
    book = load_workbook(path)
    book["Historique"].column_dimensions["B"].width = 30  # a person widens the date
    book.save(path)

    run_pass(backend.store, seed_config, now=MONDAY + dt.timedelta(weeks=1))
    wanted = [width_in_characters(w) for w in history_widths(header)]
    assert widths_of(path, "Historique", len(wanted)) == [wanted[0], 30, *wanted[2:]]


def test_the_width_requests_reach_as_far_as_the_tabs_grid_and_follow_its_id() -> None:
    from agent.stores.google.capacity import free_sheet_id, history_after
    from agent.stores.google.formatting import formatting_fingerprint
    from agent.stores.google.look import history_width_requests
    from tests.google_fixtures import FORMAT

    tab = {"properties": {"sheetId": 7, "gridProperties": {"columnCount": 2}}}
    sent = history_width_requests(tab, (80, 95, 170))
    assert [r["updateDimensionProperties"]["properties"]["pixelSize"] for r in sent] == [80, 95]
    assert {r["updateDimensionProperties"]["range"]["sheetId"] for r in sent} == {7}
    assert history_width_requests(None, (80,)) == [] and history_width_requests(tab, ()) == []
    grown = history_after(tab, [{"appendDimension": {"dimension": "COLUMNS", "length": 1}}])
    assert grown is not None and len(history_width_requests(grown, (80, 95, 170))) == 3
    # a history tab made anew (another id) gets its widths again
    columns = ["Client", "Score", "Statut"]
    assert formatting_fingerprint(FORMAT, columns, 0, 7) != formatting_fingerprint(
        FORMAT, columns, 0, 8
    )
    # the id a made tab gets: free, and the same for a title each time
    metadata = {"sheets": [{"properties": {"sheetId": free_sheet_id({}, "Historique")}}]}
    assert free_sheet_id(metadata, "Historique") != free_sheet_id({}, "Historique")
    assert free_sheet_id({}, "Historique") == free_sheet_id({}, "Historique") > 0
