"""A sync on a local workbook, as the admin runs it: only agent cells change."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Font

from agent.cli import main
from agent.config import Config, load_config
from agent.errors import SheetError
from agent.from_config import load_next_actions, open_store
from agent.labels import AGENT_NOTE, STATUS_FILLS
from agent.sheet_templates import init
from agent.sync import run_pass

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sample(tmp_path) -> tuple[Config, Path]:
    workbook = tmp_path / "comptes.xlsx"
    config_path = tmp_path / "config.toml"
    init("startup", "fr", workbook, config_path)
    return load_config(config_path), config_path


def add_person_work(path: Path) -> None:
    """What a team does to its sheet: a formula, a style, a width, another tab."""
    wb = load_workbook(path)
    ws = wb["Comptes"]
    notes = [c.column for c in ws[1] if c.value == "Notes"][0]
    ws.cell(row=2, column=notes, value="=LEN(A2)")
    ws.cell(row=3, column=1).font = Font(italic=True)
    ws.column_dimensions["B"].width = 33
    other = wb.create_sheet("Contacts")
    other.append(["Nom", "Email"])
    other.append(["Camille", "camille@example.com"])
    other["C1"] = "=COUNTA(A:A)"
    wb.save(path)


def every_cell(path: Path, skip_columns: set[str]) -> dict[tuple[str, str], object]:
    wb = load_workbook(path)  # formulas as written, not cached values
    cells = {}
    for ws in wb.worksheets:
        if ws.title == "Historique":
            continue
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows():
            for c in row:
                name = header[c.column - 1] if c.column - 1 < len(header) else None
                if ws.title == "Comptes" and name in skip_columns:
                    continue
                cells[(ws.title, c.coordinate)] = (c.value, c.font.i, c.data_type)
    cells[("Comptes", "width B")] = wb["Comptes"].column_dimensions["B"].width
    return cells


def test_sync_changes_no_cell_outside_the_agent_columns(sample):
    config, config_path = sample
    assert config.sheet.workbook is not None
    add_person_work(config.sheet.workbook)
    agent_columns = set(config.output.all())
    before = every_cell(config.sheet.workbook, agent_columns)
    assert main(["sync", "-c", str(config_path)]) == 0
    after = every_cell(config.sheet.workbook, agent_columns)
    assert before.keys() == after.keys()
    for where, value in before.items():
        assert after[where] == value, where


def test_sync_fills_score_status_and_why_for_every_account(sample):
    config, _ = sample
    store = open_store(config)
    result = run_pass(store, config, now=NOW, next_actions=load_next_actions(config))
    assert result.summary()["rows"] == 12
    snap = store.read().accounts
    header = snap.header
    for row in snap.rows:
        if not row[header.index("Client")]:
            continue
        assert row[header.index("Statut")] in ("En bonne santé", "À surveiller", "À risque")
        assert isinstance(row[header.index("Score")], int | float)
        assert row[header.index("Pourquoi")]


def test_dry_run_leaves_the_file_byte_identical(sample, capsys):
    config, config_path = sample
    assert config.sheet.workbook is not None
    before = digest_of(config.sheet.workbook)
    assert main(["sync", "-c", str(config_path), "--dry-run"]) == 0
    assert digest_of(config.sheet.workbook) == before
    assert "(--dry-run : rien n'est écrit)" in capsys.readouterr().out  # the team's language


def test_a_second_sync_over_unchanged_input_does_not_rewrite_the_file(sample):
    config, config_path = sample
    assert config.sheet.workbook is not None
    assert main(["sync", "-c", str(config_path)]) == 0
    stamp = (config.sheet.workbook.stat().st_mtime_ns, digest_of(config.sheet.workbook))
    assert main(["sync", "-c", str(config_path)]) == 0
    assert (config.sheet.workbook.stat().st_mtime_ns, digest_of(config.sheet.workbook)) == stamp


def test_a_csm_edit_changes_only_that_accounts_agent_cells(sample):
    config, _ = sample
    store = open_store(config)
    run_pass(store, config, now=NOW)
    assert config.sheet.workbook is not None
    wb = load_workbook(config.sheet.workbook)
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("Feedback client") + 1, value="Plainte ou friction claire")
    wb.save(config.sheet.workbook)
    result = run_pass(store, config, now=NOW)
    key = ws.cell(row=2, column=1).value
    assert result.plan.cells and {c.key for c in result.plan.cells} == {key}


def test_status_colours_follow_the_value_as_conditional_formatting(sample):
    config, config_path = sample
    assert main(["sync", "-c", str(config_path)]) == 0
    assert config.sheet.workbook is not None
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    every = [(str(cf.sqref), r) for cf in ws.conditional_formatting for r in cf.rules]
    rules = [(ref, r.formula[0]) for ref, r in every if r.type == "cellIs"]
    status_letter = [c.column_letter for c in ws[1] if c.value == "Statut"][0]
    assert sorted(f for _, f in rules) == sorted(
        ['"En bonne santé"', '"À surveiller"', '"À risque"']
    )
    assert all(ref.startswith(f"{status_letter}2:") for ref, _ in rules)
    # the score in its status's own fill, on the model's thresholds: no blend
    score_letter = [c.column_letter for c in ws[1] if c.value == "Score"][0]
    scores = [(ref, r) for ref, r in every if r.type == "expression"]
    assert all(ref.startswith(f"{score_letter}2:") for ref, _ in scores)
    model = config.model
    assert score_fills(ws) == [
        (f"AND(ISNUMBER({score_letter}2),{score_letter}2>={model.green:g})", STATUS_FILLS["green"]),
        (
            f"AND(ISNUMBER({score_letter}2),{score_letter}2>={model.orange:g})",
            STATUS_FILLS["orange"],
        ),
        (f"AND(ISNUMBER({score_letter}2),{score_letter}2<{model.orange:g})", STATUS_FILLS["red"]),
    ]
    assert not any(r.type == "colorScale" for _, r in every)
    assert len(every) == 6
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"Active 5 jours sur 7,Usage sporadique,Inactif"' in lists.values()
    key_letter = [c.column_letter for c in ws[1] if c.value == config.sheet.key_column][0]
    right = chr(ord(key_letter) + 1)
    assert ws.freeze_panes == f"{right}2"  # the header row and the key column


def test_sync_json_prints_rows_and_summary(sample, capsys):
    _, config_path = sample
    assert main(["sync", "-c", str(config_path), "--json", "--dry-run"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"]["rows"] == 12
    first = payload["rows"][0]
    assert set(first) == {"key", "score", "status", "why", "next_action", "points", "override"}
    assert set(first["points"]) == {"usage", "responsiveness", "feedback", "adoption"}


def test_a_missing_criterion_column_exits_1_with_a_sentence(sample, capsys):
    config, config_path = sample
    assert config.sheet.workbook is not None
    wb = load_workbook(config.sheet.workbook)
    ws = wb["Comptes"]
    for c in ws[1]:
        if c.value == "Feedback client":
            c.value = "Feedback clients"
    wb.save(config.sheet.workbook)
    assert main(["sync", "-c", str(config_path)]) == 1
    err = capsys.readouterr().err
    assert '"Feedback client"' in err and 'did you mean "Feedback clients"' in err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as caught:
        main(["sync", "--no-such-flag"])
    assert caught.value.code == 2


def test_formula_like_text_in_a_key_stays_text_in_the_workbook(sample):
    config, _ = sample
    assert config.sheet.workbook is not None
    wb = load_workbook(config.sheet.workbook)
    ws = wb["Comptes"]
    ws.cell(row=2, column=3).value = "Inconnu"  # an unknown segment is fine
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("Utilisation hebdomadaire") + 1)
    cell.value = '=HYPERLINK("http://x")'
    cell.data_type = "s"
    wb.save(config.sheet.workbook)
    run_pass(open_store(config), config, now=NOW)
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    why = ws.cell(row=2, column=header.index("Pourquoi") + 1)
    assert "HYPERLINK" in why.value and why.data_type == "s"


def score_fills(ws) -> list[tuple[str, str]]:
    """The agent's score rules (formula, fill), most important first."""
    rules = [r for cf in ws.conditional_formatting for r in cf.rules if r.type == "expression"]
    return [
        (r.formula[0], r.dxf.fill.fgColor.rgb[-6:]) for r in sorted(rules, key=lambda r: r.priority)
    ]


def test_a_new_threshold_replaces_the_score_scale_and_a_persons_scale_stays(sample):
    config, _ = sample
    assert config.sheet.workbook is not None
    run_pass(open_store(config), config, now=NOW)
    wb = load_workbook(config.sheet.workbook)
    ws = wb["Comptes"]
    letter = [c.column_letter for c in ws[1] if c.value == "Score"][0]
    theirs = ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max",
                            end_color="0000FF")  # fmt: skip
    ws.conditional_formatting.add(f"{letter}2:{letter}1048576", theirs)
    wb.save(config.sheet.workbook)
    model = dataclasses.replace(config.model, green=config.model.green - 1)
    moved = dataclasses.replace(config, model=model)
    for _ in range(2):
        run_pass(open_store(moved), moved, now=NOW)
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    scales = [r for cf in ws.conditional_formatting for r in cf.rules if r.type == "colorScale"]
    assert len(scales) == 1  # the person's
    assert [v.type for v in scales[0].colorScale.cfvo] == ["min", "max"]
    fills = score_fills(ws)
    assert len(fills) == 3 and f">={model.green:g})" in fills[0][0]  # the new threshold, once


def test_the_colour_scale_the_agent_wrote_before_is_replaced_once(sample):
    config, _ = sample
    assert config.sheet.workbook is not None
    run_pass(open_store(config), config, now=NOW)
    wb = load_workbook(config.sheet.workbook)
    ws = wb["Comptes"]
    letter = [c.column_letter for c in ws[1] if c.value == "Score"][0]
    model = config.model
    fills = STATUS_FILLS
    old = ColorScaleRule(start_type="num", start_value=0, start_color=fills["red"],
                         mid_type="num", mid_value=model.orange, mid_color=fills["orange"],
                         end_type="num", end_value=model.green,
                         end_color=fills["green"])  # fmt: skip
    ws.conditional_formatting = type(ws.conditional_formatting)()
    ws.conditional_formatting.add(f"{letter}2:{letter}1048576", old)
    wb.save(config.sheet.workbook)
    for _ in range(2):
        run_pass(open_store(config), config, now=NOW)
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    every = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert not any(r.type == "colorScale" for r in every)
    assert [fill for _, fill in score_fills(ws)] == [
        STATUS_FILLS["green"],
        STATUS_FILLS["orange"],
        STATUS_FILLS["red"],
    ]


def test_status_labels_in_another_language_replace_the_agents_rules(sample):
    config, _ = sample
    assert config.sheet.workbook is not None
    run_pass(open_store(config), config, now=NOW)
    english = dataclasses.replace(config, language="en")
    for _ in range(2):
        run_pass(open_store(english), english, now=NOW)
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    formulas = [
        r.formula[0] for cf in ws.conditional_formatting for r in cf.rules if r.type == "cellIs"
    ]
    assert sorted(formulas) == sorted(['"Healthy"', '"Watch"', '"At risk"'])


def test_the_cycle_collector_is_paused_during_a_pass_and_back_after_even_a_failed_one(sample):
    config, _ = sample
    seen: list[bool] = []

    class Watching:
        def __init__(self, inner, fail: bool) -> None:
            self.inner, self.fail = inner, fail

        def read(self):
            seen.append(gc.isenabled())
            if self.fail:
                raise SheetError("the sheet went away")
            return self.inner.read()

        def write(self, plan):
            seen.append(gc.isenabled())
            return self.inner.write(plan)

        def location(self) -> str:
            return self.inner.location()

    assert gc.isenabled()
    run_pass(Watching(open_store(config), fail=False), config, now=NOW)
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(SheetError):
        run_pass(Watching(open_store(config), fail=True), config, now=NOW)
    assert gc.isenabled()


def test_tab_names_in_the_config_match_the_tabs_whatever_their_case(sample):
    """Excel holds tab names unique ignoring case: "historique" in the config is the tab
    "Historique", not a new "historique1" beside it at every pass."""
    config, _ = sample
    assert config.sheet.workbook is not None
    run_pass(open_store(config), config, now=NOW)
    other_case = dataclasses.replace(
        config,
        sheet=dataclasses.replace(
            config.sheet, worksheet="COMPTES", history_worksheet="historique"
        ),
    )
    for week in (1, 2):
        run_pass(open_store(other_case), other_case, now=NOW + dt.timedelta(weeks=week))
    wb = load_workbook(config.sheet.workbook)
    assert wb.sheetnames == ["Comptes", "Historique"]
    weeks = sorted({r[0] for r in wb["Historique"].iter_rows(min_row=2, values_only=True)})
    assert weeks == ["S48 2026", "S49 2026", "S50 2026"]


def test_the_workbook_gets_an_autofilter_and_a_message_on_the_agents_columns(sample):
    """Typing into an agent column is warned, not refused: a validation of type "none"
    whose input message says the agent writes it (a refusal would stop a CSM's paste of
    whole rows; the agent puts its cells back on the next pass anyway)."""
    config, _ = sample
    assert config.sheet.workbook is not None
    run_pass(open_store(config), config, now=NOW)
    ws = load_workbook(config.sheet.workbook)["Comptes"]
    header = [c.value for c in ws[1]]
    last = ws.cell(row=1, column=len(header)).column_letter
    assert ws.auto_filter.ref == f"A1:{last}1048576"
    messages = {
        str(dv.sqref): dv.prompt for dv in ws.data_validations.dataValidation if dv.type is None
    }
    for column in config.output.all():
        letter = ws.cell(row=1, column=header.index(column) + 1).column_letter
        assert messages[f"{letter}2:{letter}1048576"] == AGENT_NOTE["fr"]
    again = run_pass(open_store(config), config, now=NOW)
    assert not again.report.formatting_written  # known again: nothing rewritten
