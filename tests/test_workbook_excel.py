"""Files Microsoft Excel saved: three passes leave every part Excel wrote as it was."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.excel_workbooks import ACCOUNTS_PART, EXCEL_FILES, with_accounts
from tests.libreoffice import convert, soffice
from tests.workbook_fixtures import one_pass, parts, scores, team_config

# what a pass may change: the accounts tab, the history tab it adds and what registers it,
# the styles (status colours)
OWNED = {
    ACCOUNTS_PART,
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
    "xl/styles.xml",
}


def excel_config(tmp_path: Path, excel_file: Path):
    config = team_config(tmp_path, workbook_from=None)
    assert config.sheet.workbook is not None
    with_accounts(excel_file, config.sheet.workbook)
    return config


def test_the_fixtures_were_saved_by_excel_and_hold_a_chart_an_image_and_a_comment():
    assert [f.name for f in EXCEL_FILES] == [
        "excel_chart_bar01.xlsx",
        "excel_comment01.xlsx",
        "excel_image01.xlsx",
    ]
    found: set[str] = set()
    for file in EXCEL_FILES:
        excel = parts(file)
        assert b"<Application>Microsoft Excel</Application>" in excel["docProps/app.xml"]
        found |= set(excel)
    for part in ("xl/charts/chart1.xml", "xl/media/image1.png", "xl/comments1.xml"):
        assert part in found
    assert "xl/drawings/vmlDrawing1.vml" in found and "xl/sharedStrings.xml" in found


@pytest.mark.parametrize("excel_file", EXCEL_FILES, ids=lambda f: f.stem)
def test_three_passes_keep_every_part_excel_wrote_and_score_alike(tmp_path, excel_file):
    config = excel_config(tmp_path, excel_file)
    path = config.sheet.workbook
    before = parts(path)
    results = [one_pass(config) for _ in range(3)]
    after = parts(path)
    for name, body in before.items():
        if name not in OWNED:
            assert after[name] == body, f"{name} changed"
    # the history tab, and the agent's header notes on the accounts tab (their own parts)
    assert set(after) - set(before) == {
        "xl/worksheets/sheet2.xml",
        "xl/worksheets/_rels/sheet_comptes.xml.rels",
        "xl/comments/health-agent-sheet_comptes.xml",
        "xl/drawings/health-agent-sheet_comptes.vml",
    }
    first = scores(results[0])
    assert len(first) == 3 and first["Boulangerie Martin"] == (8.0, "green")
    assert first["Garage du Port"][1] == "red"
    assert scores(results[1]) == first and scores(results[2]) == first
    for later in results[1:]:
        assert later.report.cells_written == 0 and later.report.history_rows_written == 0
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    wb = load_workbook(path)  # Excel's tab, the team's tab and the agent's history
    assert wb.sheetnames == ["Sheet1", "Comptes", "Historique"]
    assert wb["Comptes"]["J1"].value == "Score" and wb["Comptes"]["J2"].value == 8


@pytest.mark.parametrize("excel_file", EXCEL_FILES[:1], ids=lambda f: f.stem)
def test_libreoffice_opens_the_written_excel_file(tmp_path, excel_file):
    soffice()
    config = excel_config(tmp_path, excel_file)
    for _ in range(3):
        one_pass(config)
    pdf = convert(config.sheet.workbook, tmp_path, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
