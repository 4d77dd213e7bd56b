"""Sheet templates: each loads, holds a dozen accounts, and `init` makes a ready workbook."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from agent.cli import main
from agent.config import load_config
from agent.scoring import score_accounts
from agent.sheet_templates import TEMPLATES, load_template

CASES = [(name, lang) for name in TEMPLATES for lang in ("fr", "en")]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_template_accounts_all_score_with_a_spread_of_statuses(name, lang):
    template = load_template(name, lang)
    assert len(template.accounts) == 12
    frame = pd.DataFrame(
        [[a.get(c) for c in template.columns] for a in template.accounts],
        columns=template.columns,
        dtype=object,
    )
    result = score_accounts(
        frame,
        template.model,
        key_column=template.raw["sheet"]["key_column"],
        language=lang,
        today=dt.date(2026, 11, 24),
    )
    assert set(result["status"]) == {"green", "orange", "red"}
    unknown = "non reconnu" if lang == "fr" else "not recognised"
    assert not any(unknown in w for w in result["why"])


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_init_builds_a_ready_workbook_and_a_config(tmp_path, name, lang, capsys):
    workbook, config_path = tmp_path / "sheet.xlsx", tmp_path / "config.toml"
    args = [
        "init",
        "--template",
        name,
        "--language",
        lang,
        "--workbook",
        str(workbook),
        "--config-out",
        str(config_path),
    ]
    assert main(args) == 0
    config = load_config(config_path)
    assert config.sheet.workbook == workbook
    ws = load_workbook(workbook)[config.sheet.worksheet]
    header = [c.value for c in ws[1]]
    assert header[-4:] == list(config.output.all())
    key_at = header.index(config.sheet.key_column)  # the header row and the key column frozen
    assert ws.freeze_panes == f"{get_column_letter(key_at + 2)}2"
    assert ws.max_row == 13
    assert ws.data_validations.dataValidation  # dropdowns on label columns
    assert main(["sync", "-c", str(config_path)]) == 0


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    args = [
        "init",
        "--workbook",
        str(tmp_path / "a.xlsx"),
        "--config-out",
        str(tmp_path / "c.toml"),
    ]
    assert main(args) == 0
    assert main(args) == 1
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
