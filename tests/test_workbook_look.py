"""The workbook as a CSM reads it (issue 21): the agent's columns shaded whole, "why" and
the next action wrapped at a readable width, a note on each agent header saying the agent
writes it, and the freshness line on the score's header, written only by a pass that
writes anyway. Checked in the file itself (openpyxl reads it back) and in LibreOffice."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.styles import PatternFill

from agent.config import Config, load_config
from agent.freshness import freshness_line
from agent.labels import AGENT_FILL, AGENT_NOTE, WRAPPED_WIDTH
from agent.sheet_templates import init
from agent.stores.workbook_look import Styles, apply_look, lines_of, width_of
from agent.stores.workbook_notes import AUTHOR
from tests.libreoffice import convert
from tests.test_sync_workbook import NOW
from tests.workbook_fixtures import one_pass, parts, team_config

LATER = NOW + dt.timedelta(minutes=10)


@pytest.fixture
def sample(tmp_path: Path) -> Config:
    init("startup", "fr", tmp_path / "comptes.xlsx", tmp_path / "config.toml")
    return load_config(tmp_path / "config.toml")


def workbook(config: Config) -> Path:
    assert config.sheet.workbook is not None
    return config.sheet.workbook


def letters(config: Config) -> dict[str, str]:
    ws = load_workbook(workbook(config))["Comptes"]
    return {str(c.value): c.column_letter for c in ws[1] if c.value}


def fill_of(cell) -> str:  # noqa: ANN001 - an openpyxl cell
    return str(cell.fill.fgColor.rgb)[-6:] if cell.fill.fill_type == "solid" else ""


def test_why_and_the_next_action_wrap_at_a_readable_width(sample: Config) -> None:
    path = workbook(sample)
    wb = load_workbook(path)
    ws = wb["Comptes"]
    where = {c.value: c.column_letter for c in ws[1]}
    ws.column_dimensions[where["Pourquoi"]].width = 10  # a CSM narrowed it
    ws.column_dimensions[where["Prochaine action"]].width = 70  # and widened that one
    wb.save(path)
    one_pass(sample)
    ws = load_workbook(path)["Comptes"]
    wide = width_of(WRAPPED_WIDTH)
    assert wide == 45  # about 45 characters a line
    for name in ("Pourquoi", "Prochaine action"):
        letter = where[name]
        for row in range(2, ws.max_row + 1):
            alignment = ws[f"{letter}{row}"].alignment
            assert alignment.wrap_text and alignment.vertical == "top", f"{letter}{row}"
        assert ws.column_dimensions[letter].alignment.wrap_text  # a row a CSM adds too
    assert ws.column_dimensions[where["Pourquoi"]].width == wide  # at least readable
    assert ws.column_dimensions[where["Prochaine action"]].width == 70  # theirs, wider
    assert not ws[f"{where['Score']}2"].alignment.wrap_text  # a number: no wrapping
    assert not ws[f"{where['Notes']}2"].alignment.wrap_text  # not the agent's column


def test_a_row_is_as_tall_as_its_wrapped_answer_and_reads_from_the_top(sample: Config) -> None:
    """LibreOffice keeps a row at one line unless the file says otherwise: the agent gives
    each account's row the height of its wrapped text, and the key reads from the top like
    the answer beside it."""
    path = workbook(sample)
    result = one_pass(sample)
    ws = load_workbook(path)["Comptes"]
    where = {c.value: c.column_letter for c in ws[1]}
    wide = ws.column_dimensions[where["Pourquoi"]].width
    rows = {ws[f"A{n}"].value: n for n in range(2, ws.max_row + 1)}
    for key, why, action in zip(
        result.accounts["key"], result.accounts["why"], result.accounts["next_action"], strict=True
    ):
        lines = max(lines_of(str(why), wide), lines_of(str(action), wide))
        height = ws.row_dimensions[rows[key]].height
        assert (height or 15) == 15 * lines, key
        assert ws[f"A{rows[key]}"].alignment.vertical == "top"
    assert any(ws.row_dimensions[n].height for n in rows.values())  # some do wrap
    assert lines_of("un deux trois", 5) == 3  # 6 letters a line, whole words
    assert lines_of("un deux trois", 12) == 1
    assert lines_of("x" * 200, 10) == 17 and lines_of("", 45) == 1


def test_the_score_is_centred_apart_from_the_status_beside_it(sample: Config) -> None:
    """A number sits at its cell's right edge and the status's text at its cell's left:
    side by side they read "8En bonne santé". The score is centred; its header is not."""
    path = workbook(sample)
    one_pass(sample)
    ws = load_workbook(path)["Comptes"]
    score = {c.value: c.column_letter for c in ws[1]}["Score"]
    cells = [ws[f"{score}{n}"] for n in range(2, ws.max_row + 1)]
    assert cells and all(c.alignment.horizontal == "center" for c in cells)
    assert ws[f"{score}1"].alignment.horizontal != "center"
    assert one_pass(sample).report.cells_written == 0


def test_the_agent_columns_are_shaded_whole_and_a_csm_colour_stays(sample: Config) -> None:
    path = workbook(sample)
    wb = load_workbook(path)
    ws = wb["Comptes"]
    where = {c.value: c.column_letter for c in ws[1]}
    yellow = PatternFill(fill_type="solid", start_color="FFFF00", end_color="FFFF00")
    ws[f"{where['Pourquoi']}3"].fill = yellow  # a CSM marks a cell
    wb.save(path)
    one_pass(sample)
    ws = load_workbook(path)["Comptes"]
    for name in sample.output.all():
        letter = where[name]
        for row in range(2, ws.max_row + 1):
            if (name, row) != ("Pourquoi", 3):
                assert fill_of(ws[f"{letter}{row}"]) == AGENT_FILL, f"{letter}{row}"
        assert ws.column_dimensions[letter].fill.fgColor.rgb[-6:] == AGENT_FILL  # rows to come
        assert fill_of(ws[f"{letter}1"]) != ""  # the header keeps the template's own fill
    assert fill_of(ws[f"{where['Pourquoi']}3"]) == "FFFF00"
    assert fill_of(ws[f"{where['Notes']}2"]) == ""  # a CSM's column: no shade


def test_each_agent_header_has_a_note_saying_the_agent_writes_it(sample: Config) -> None:
    one_pass(sample, NOW)
    ws = load_workbook(workbook(sample))["Comptes"]
    notes = {c.value: c.comment for c in ws[1] if c.comment is not None}
    assert set(notes) == set(sample.output.all())
    line = freshness_line(NOW, sample.sync_every_minutes, sample.digest.timezone, "fr")
    assert line.startswith("Scores du 24/11 à ")
    for name, comment in notes.items():
        assert comment.author == AUTHOR
        wanted = f"{line}\n{AGENT_NOTE['fr']}" if name == "Score" else AGENT_NOTE["fr"]
        assert comment.text == wanted


def test_the_freshness_line_is_written_only_by_a_pass_that_writes(sample: Config) -> None:
    path = workbook(sample)
    one_pass(sample, NOW)
    score = letters(sample)["Score"]
    first = load_workbook(path)["Comptes"][f"{score}1"].comment.text
    assert first.startswith(
        freshness_line(NOW, sample.sync_every_minutes, sample.digest.timezone, "fr")
    )
    digest, mtime = hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns
    unchanged = one_pass(sample, LATER)
    assert not unchanged.report.wrote_anything
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # not a byte
    assert os.stat(path).st_mtime_ns == mtime  # not even saved again
    wb = load_workbook(path)  # a CSM changes a criterion: the next pass writes
    ws = wb["Comptes"]
    usage = [c.column_letter for c in ws[1] if c.value == "Utilisation hebdomadaire"][0]
    ws[f"{usage}2"] = "Inactif"
    wb.save(path)
    even_later = LATER + dt.timedelta(minutes=10)
    written = one_pass(sample, even_later)
    assert written.report.cells_written > 0
    comments = [c.comment for c in load_workbook(path)["Comptes"][1] if c.comment is not None]
    assert len(comments) == len(sample.output.all())  # openpyxl's save: still the agent's
    now_line = freshness_line(even_later, sample.sync_every_minutes, sample.digest.timezone, "fr")
    assert load_workbook(path)["Comptes"][f"{score}1"].comment.text.startswith(now_line)
    assert now_line != freshness_line(NOW, sample.sync_every_minutes, sample.digest.timezone, "fr")


def test_a_persons_comment_beside_the_notes_stays_and_the_line_still_moves(
    sample: Config,
) -> None:
    from openpyxl.comments import Comment

    path = workbook(sample)
    one_pass(sample, NOW)
    wb = load_workbook(path)  # Camille comments an account and changes a criterion
    ws = wb["Comptes"]
    ws["A2"].comment = Comment("Client historique depuis 2019", "Camille")
    usage = [c.column_letter for c in ws[1] if c.value == "Utilisation hebdomadaire"][0]
    ws[f"{usage}2"] = "Inactif"
    wb.save(path)
    theirs = [
        body for name, body in parts(path).items() if "comments" in name and name.endswith(".xml")
    ][0]
    one_pass(sample, LATER)
    after = [
        body for name, body in parts(path).items() if "comments" in name and name.endswith(".xml")
    ]
    assert len(after) == 1
    camille = theirs[theirs.index(b'<comment ref="A2"') :]
    camille = camille[: camille.index(b"</comment>")]
    assert camille in after[0]  # her comment, byte for byte
    ws = load_workbook(path)["Comptes"]
    line = freshness_line(LATER, sample.sync_every_minutes, sample.digest.timezone, "fr")
    assert ws[f"{letters(sample)['Score']}1"].comment.text.startswith(line)
    assert ws["A2"].comment.text == "Client historique depuis 2019"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert not one_pass(sample, LATER + dt.timedelta(minutes=10)).report.wrote_anything
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def messages(path: Path) -> dict[str, str]:
    ws = load_workbook(path)["Comptes"]
    return {str(v.sqref): v.prompt for v in ws.data_validations.dataValidation if v.type is None}


def test_a_tab_with_only_a_persons_comments_keeps_them_and_says_freshness_in_the_message(
    tmp_path: Path,
) -> None:
    """The team's workbook has a comment of a person's on the accounts tab: its comments
    and drawing parts stay byte for byte, the notes are the input messages of the agent
    columns, and the score's begins with the freshness line, moved only by a writing pass."""
    config = team_config(tmp_path)
    path = workbook(config)
    before = parts(path)
    one_pass(config, NOW)
    after = parts(path)
    for part in ("xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"):
        assert after[part] == before[part]
    assert (
        after["xl/worksheets/_rels/sheet1.xml.rels"]
        == before["xl/worksheets/_rels/sheet1.xml.rels"]
    )
    line = freshness_line(NOW, config.sync_every_minutes, config.digest.timezone, "fr")
    where = letters(config)
    said = messages(path)
    score = where["Score"]
    assert said[f"{score}2:{score}1048576"] == f"{line}\n{AGENT_NOTE['fr']}"
    status = where["Statut"]
    assert said[f"{status}2:{status}1048576"] == AGENT_NOTE["fr"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert not one_pass(config, LATER).report.wrote_anything  # the line stays, unwritten
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_the_look_is_found_in_place_whoever_wrote_the_styles() -> None:
    """A style LibreOffice rewrote its own way (`true`, every alignment attribute) is
    known as wrapped and shaded: kept, nothing added."""
    styles = (
        b'<styleSheet><fills count="3"><fill><patternFill patternType="none"/></fill>'
        b'<fill><patternFill patternType="gray125"/></fill><fill><patternFill '
        b'patternType="solid"><fgColor rgb="FFEEF2F7"/><bgColor indexed="64"/></patternFill>'
        b'</fill></fills><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" '
        b'borderId="0"/><xf numFmtId="0" fontId="0" fillId="2" borderId="0" applyFill="true">'
        b'<alignment horizontal="general" vertical="top" wrapText="true"/></xf></cellXfs>'
        b"</styleSheet>"
    )
    look = Styles(styles)
    assert look.look(1, shade=True, wrap=True) == 1
    assert look.look(0, shade=True, wrap=False) == 2  # derived once, then found
    assert look.look(2, shade=True, wrap=False) == 2
    assert look.result() is not None and look.result().count(b"<xf ") == 3


def test_a_col_covering_several_columns_is_split_only_for_the_agents(sample: Config) -> None:
    from agent.plan import Formatting, StatusColours

    formatting = Formatting(
        status_column="Statut",
        status_labels=StatusColours("En bonne santé", "À surveiller", "À risque"),
        score_column="Score",
        agent_columns=("Pourquoi",),
        wrapped=(("Pourquoi", WRAPPED_WIDTH),),
    )
    styles = (
        b'<styleSheet><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs>'
        b"</styleSheet>"
    )
    sheet = (
        b'<worksheet><cols><col min="1" max="5" width="12" customWidth="1"/></cols>'
        b'<sheetData><row r="1"><c r="C1" t="inlineStr"><is><t>Pourquoi</t></is></c></row>'
        b'<row r="2"><c r="C2" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'
    )
    xml, new_styles = apply_look(sheet, styles, {"Pourquoi": 3}, formatting)
    assert new_styles is not None
    assert b'<col min="1" max="2" width="12" customWidth="1"/>' in xml
    assert b'<col min="3" max="3" width="45" customWidth="1" style="2"/>' in xml
    assert b'<col min="4" max="5" width="12" customWidth="1"/>' in xml
    assert b'<c r="C1" t="inlineStr" s="1">' in xml  # the header: shaded, not wrapped
    assert b'<c r="C2" t="inlineStr" s="2">' in xml
    again, same_styles = apply_look(xml, new_styles, {"Pourquoi": 3}, formatting)
    assert again == xml and same_styles is None  # in place: nothing to do


def test_libreoffice_opens_the_look_and_a_save_of_it_is_known_again(
    sample: Config, tmp_path: Path
) -> None:
    path = workbook(sample)
    one_pass(sample, NOW)
    pdf = convert(path, tmp_path, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    saved = convert(path, tmp_path, "xlsx:Calc MS Excel 2007 XML")
    shutil.copyfile(saved, path)  # a CSM opened it in LibreOffice and saved
    with zipfile.ZipFile(path) as zf:
        comments = [n for n in zf.namelist() if "comments" in n and n.endswith(".xml")]
        assert len(comments) == 1  # LibreOffice's own names, and every author blank
        assert zf.read(comments[0]).count("écrite par l&apos;agent".encode()) == 4
    quiet = one_pass(sample, LATER)  # LibreOffice's styles and comments are known
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    again = one_pass(sample, LATER + dt.timedelta(minutes=10))
    assert not again.report.wrote_anything and not again.report.formatting_written
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    ws = load_workbook(path)["Comptes"]
    notes = [c for c in ws[1] if c.comment is not None]
    assert len(notes) == len(sample.output.all())
    assert quiet.report.cells_written == 0
