"""A team's real workbook, saved by LibreOffice: three passes lose nothing of theirs."""

from __future__ import annotations

import re
import shutil
import zipfile

from openpyxl import load_workbook

from tests.libreoffice import convert, soffice
from tests.workbook_fixtures import TEAM_FILE, one_pass, parts, scores, team_config

# the parts a pass may change: the accounts tab, the history tab it adds (registered in the
# workbook, its relationships and the content types), and the styles (status colours)
OWNED = {
    "xl/worksheets/sheet1.xml",
    "xl/worksheets/sheet3.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
    "xl/styles.xml",
}


def test_the_fixture_is_a_libreoffice_file_with_all_a_team_keeps():
    found = parts(TEAM_FILE)
    assert b"LibreOffice" in found["docProps/app.xml"]
    for part in ("xl/charts/chart1.xml", "xl/media/image1.png", "xl/comments1.xml"):
        assert part in found
    assert "xl/tables/table1.xml" in found
    assert b"definedName" in found["xl/workbook.xml"]
    assert b"<v>Atelier Dupont</v>" in found["xl/worksheets/sheet1.xml"]


def test_three_passes_keep_every_part_they_do_not_own_and_score_alike(tmp_path):
    config = team_config(tmp_path)
    path = config.sheet.workbook
    assert path is not None
    before = parts(path)
    results = [one_pass(config) for _ in range(3)]
    after = parts(path)
    for name, body in before.items():
        if name not in OWNED:
            assert after[name] == body, f"{name} changed"
    assert set(before) - set(after) == set()
    assert set(after) - set(before) == {"xl/worksheets/sheet3.xml"}  # the history tab
    # cached values: the key built by a formula, the criterion, the dashboard's counts
    accounts = after["xl/worksheets/sheet1.xml"]
    assert b"<v>Atelier Dupont</v>" in accounts and b"<v>Test actif</v>" in accounts
    assert re.search(rb"COUNTA\(Comptes!A2:A100\)</f><v>4</v>", after["xl/worksheets/sheet2.xml"])
    first = scores(results[0])
    assert first["Atelier Dupont"] == (8.0, "green")  # formula-built key and criterion read
    assert len(first) == 4
    assert scores(results[1]) == first and scores(results[2]) == first
    assert results[1].report.cells_written == 0 and results[2].report.cells_written == 0
    assert "critère vide" not in " ".join(results[0].accounts["why"])


def test_the_written_file_keeps_its_chart_image_table_and_comment_for_openpyxl(tmp_path):
    config = team_config(tmp_path)
    one_pass(config)
    path = config.sheet.workbook
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    wb = load_workbook(path, data_only=True)
    assert wb["Comptes"]["A2"].comment is not None
    assert wb["Comptes"]["A5"].value == "Atelier Dupont"  # still the cached value
    assert wb["Tableau de bord"]["D2"].value == 4
    assert "Repartition" in wb["Tableau de bord"].tables
    assert "Clients" in wb.defined_names
    assert wb["Historique"].max_row == 5


def test_a_file_libreoffice_saved_after_the_agent_gets_no_rule_twice(tmp_path):
    """A CSM opens the agent's file in LibreOffice and saves it: LibreOffice rewrites the
    agent's rules and dropdowns its own way; the next pass still knows them."""
    soffice()
    config = team_config(tmp_path)
    one_pass(config)
    path = config.sheet.workbook
    assert path is not None
    saved = convert(path, tmp_path, "xlsx:Calc MS Excel 2007 XML")
    shutil.copyfile(saved, path)
    for _ in range(2):
        again = one_pass(config)
        assert again.report.cells_written == 0 and again.report.history_rows_written == 0
        sheet = parts(path)["xl/worksheets/sheet1.xml"]
        assert sheet.count(b"<cfRule") == 6 and sheet.count(b"<dataValidation ") == 4 + 4
        assert sheet.count(b"<pane ") == 1  # a headless save drops it: the agent's, put back
    assert not again.report.formatting_written


def test_libreoffice_opens_the_written_file(tmp_path):
    soffice()
    config = team_config(tmp_path)
    for _ in range(3):
        one_pass(config)
    path = config.sheet.workbook
    assert path is not None
    pdf = convert(path, tmp_path, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    # and back to text: LibreOffice reads the agent's cells and history
    text = convert(path, tmp_path, "csv").read_text(encoding="utf-8", errors="replace")
    assert "Atelier Dupont" in text and "Score" in text
