"""`health-agent check` as a library function (agent/check.py) on a workbook sheet."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from agent.check import check_setup
from agent.cli import main
from agent.config import load_config
from agent.errors import SheetError
from agent.sheet_templates import init


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "config.toml"
    init("startup", "fr", tmp_path / "comptes.xlsx", path)
    return path


def test_check_says_config_sheet_and_playbooks_are_ok(config_path, capsys) -> None:
    config = load_config(config_path)
    lines: list[str] = []

    assert check_setup(config, lines.append)

    assert [line.split(":")[0] for line in lines] == ["config", "sheet", "playbooks"]
    assert "every criterion column found" in lines[1]
    assert main(["check", "-c", str(config_path)]) == 0
    assert capsys.readouterr().out.splitlines() == lines  # the command prints the same


def test_check_stops_at_a_missing_column_after_saying_what_passed(config_path) -> None:
    config = load_config(config_path)
    assert config.sheet.workbook is not None
    wb = load_workbook(config.sheet.workbook)
    ws = wb[config.sheet.worksheet]
    for cell in ws[1]:
        if cell.value == "Feedback client":
            cell.value = "Avis"
    wb.save(config.sheet.workbook)
    lines: list[str] = []

    with pytest.raises(SheetError, match='"Feedback client"'):
        check_setup(config, lines.append)

    assert [line.split(":")[0] for line in lines] == ["config"]
