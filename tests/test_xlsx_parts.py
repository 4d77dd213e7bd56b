"""The workbook package's pure pieces: cells read from XML, rows edited, elements placed
in ECMA-376's order, number formats told apart."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from agent.cells import Uncomputed
from agent.plan import Formatting, ScoreScale, StatusColours
from agent.stores.xlsx_cells import (
    CellKinds,
    cell_xml,
    clean_text,
    edit_row,
    read_cells,
    some_row_spans,
    splice_rows,
    string_items,
)
from agent.stores.xlsx_format import apply_formatting, insert_in_order
from agent.stores.xlsx_package import Package, format_kind, write_package

HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def sheet(rows: bytes, tail: bytes = b"") -> bytes:
    return HEAD + b"<sheetData>" + rows + b"</sheetData>" + tail + b"</worksheet>"


def test_every_kind_of_cell_reads_as_its_value():
    xml = sheet(
        b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>x &amp; y</t>'
        b'</is></c><c r="C1"><v>2.5</v></c><c r="D1" t="b"><v>1</v></c>'
        b'<c r="E1" t="e"><v>#N/A</v></c><c r="F1" t="str"><f>A1&amp;"!"</f><v>Acme!</v></c>'
        b'<c r="G1"><f>B1*2</f></c><c r="H1" s="1"><v>46477</v></c><c r="I1" s="2"><v>0.8</v>'
        b'</c><c r="K1" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c></row>'
    )
    kinds = CellKinds(dates=frozenset([1]), percents=frozenset([2]))
    cells = read_cells(xml, ["Acme"], kinds)
    row = cells.rows[1]
    assert row[:6] == ["Acme", "x & y", 2.5, True, "#N/A", "Acme!"]
    assert isinstance(row[6], Uncomputed) and row[6] == "=B1*2" and cells.uncomputed == 1
    assert row[7] == dt.datetime(2027, 3, 31)
    assert row[8] == "80%"
    assert row[9] is None and row[10] == "rich"


def test_cells_without_an_address_are_read_in_order():
    xml = sheet(b'<row r="3"><c t="inlineStr"><is><t>a</t></is></c><c><v>7</v></c></row>')
    assert read_cells(xml, [], CellKinds()).rows == {3: ["a", 7]}


def test_shared_strings_join_rich_runs_and_leave_phonetic_runs_out():
    xml = (
        b"<sst><si><t>plain</t></si><si><r><t>a</t></r><r><t>b</t></r>"
        b"<rPh><t>x</t></rPh></si><si/></sst>"
    )
    assert string_items(xml) == ["plain", "ab", ""]


def test_an_edited_row_keeps_every_other_cell_byte_for_byte_and_its_styles():
    row = b'<row r="5" spans="1:3" ht="20"><c r="A5" s="4" t="s"><v>1</v></c>'
    row += b'<c r="C5" s="7"/></row>'
    edited = edit_row(row, 5, {3: 6, 2: "é<"})
    assert edited.startswith(b'<row r="5" ht="20">')  # the spans hint, now wrong, goes
    assert b'<c r="A5" s="4" t="s"><v>1</v></c>' in edited
    assert edited.index(b'r="B5"') < edited.index(b'r="C5"')
    assert b'<c r="C5" s="7"><v>6</v></c>' in edited
    assert b"<t>\xc3\xa9&lt;</t>" in edited


def test_text_that_looks_like_a_formula_is_written_as_text():
    assert b't="inlineStr"' in cell_xml("A1", "=SUM(A1)", None)
    assert b"<f>" not in cell_xml("A1", "=SUM(A1)", None)


def test_characters_a_cell_cannot_hold_are_removed_and_long_texts_cut():
    assert clean_text("a\x07b\x0c") == ("ab", True)
    assert clean_text("a\tb\n") == ("a\tb\n", False)
    assert len(clean_text("x" * 40_000)[0]) == 32_767


def test_rows_go_in_order_whether_they_replace_one_or_fall_between_two():
    xml = sheet(b'<row r="2"><c r="A2"><v>2</v></c></row><row r="4"><c r="A4"><v>4</v></c></row>')
    spans = some_row_spans(xml, [2, 4])
    out = splice_rows(xml, spans, {3: b'<row r="3"/>', 4: b'<row r="4"/>', 9: b'<row r="9"/>'})
    body = out[out.index(b"<sheetData>") : out.index(b"</sheetData>")]
    first = b'<sheetData><row r="2"><c r="A2"><v>2</v></c></row>'
    assert body == first + b'<row r="3"/><row r="4"/><row r="9"/>'


def test_rows_added_to_an_empty_sheet_open_its_sheet_data():
    xml = HEAD + b"<sheetData/><pageMargins/></worksheet>"
    out = splice_rows(xml, {}, {2: b'<row r="2"/>'})
    assert b'<sheetData><row r="2"/></sheetData><pageMargins/>' in out


def test_new_elements_go_where_ecma_376_puts_them():
    tail = b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>'
    tail += b'<pageMargins/><drawing r:id="x"/>'
    xml = sheet(b"", tail)
    out = insert_in_order(xml, "conditionalFormatting", b"<CF/>", _order())
    assert out.index(b"</mergeCells>") < out.index(b"<CF/>") < out.index(b"<pageMargins")
    out = insert_in_order(out, "dataValidations", b"<DV/>", _order())
    assert out.index(b"<CF/>") < out.index(b"<DV/>") < out.index(b"<pageMargins")


def _order() -> list[str]:
    from agent.stores.xlsx_format import AFTER_SHEET_DATA

    return list(AFTER_SHEET_DATA)


FORMAT = Formatting(
    status_column="Statut",
    status_labels=StatusColours("En bonne santé", "À surveiller", "À risque"),
    score_column="Score",
    agent_columns=("Score", "Statut"),
    dropdowns=(("Usage", ("Haut", "Bas")),),
    score_scale=ScoreScale(0, 3, 6),
)


def test_formatting_is_added_once_and_a_persons_rule_stays():
    person = (
        b'<conditionalFormatting sqref="C2:C1048576"><cfRule type="cellIs" dxfId="0" '
        b'priority="1" operator="equal"><formula>"Ma regle"</formula></cfRule>'
        b"</conditionalFormatting>"
    )
    xml = sheet(b"", person + b"<pageMargins/>")
    styles = b'<styleSheet><cellXfs count="1"><xf/></cellXfs><dxfs count="1"><dxf/></dxfs>'
    styles += b"</styleSheet>"
    columns = {"Usage": 1, "Score": 2, "Statut": 3}
    first = apply_formatting(xml, styles, columns, FORMAT)
    assert first.changed and first.styles is not None and b'<dxfs count="4">' in first.styles
    assert first.xml.count(b"<cfRule") == 7  # the person's, three statuses, three score fills
    assert b'"Ma regle"' in first.xml and b"<pane " in first.xml
    again = apply_formatting(first.xml, first.styles, columns, FORMAT)
    assert not again.changed and again.styles is None


def test_number_formats_tell_dates_and_percentages():
    assert format_kind("0%") == "percent" and format_kind("0.00 %") == "percent"
    assert format_kind("dd/mm/yyyy") == "date" and format_kind("[$-40C]d mmmm yyyy") == "date"
    assert format_kind('0.0 "jours"') is None and format_kind("General") is None
    assert format_kind("#,##0 [$€-40C]") is None


def test_a_package_written_keeps_other_parts_as_their_stored_bytes():
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        zf.writestr("xl/workbook.xml", _BOOK)
        zf.writestr("xl/worksheets/sheet1.xml", sheet(b""), zipfile.ZIP_DEFLATED)
        zf.writestr("xl/media/image1.png", b"\x89PNG" * 100, zipfile.ZIP_STORED)
    package = Package(source.getvalue())
    assert package.sheets == {"Comptes": "xl/worksheets/sheet1.xml"}
    out = io.BytesIO()
    write_package(package, {"xl/worksheets/sheet1.xml": sheet(b'<row r="1"/>')}, out)
    with zipfile.ZipFile(out) as result, zipfile.ZipFile(source) as before:
        assert result.testzip() is None
        assert result.namelist() == before.namelist()
        image = result.getinfo("xl/media/image1.png")
        assert image.compress_type == zipfile.ZIP_STORED
        assert result.read("xl/media/image1.png") == before.read("xl/media/image1.png")
        assert b'<row r="1"/>' in result.read("xl/worksheets/sheet1.xml")


_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_BOOK_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_BOOK = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Comptes" sheetId="1" r:id="rId1"/></sheets></workbook>'
)


def test_a_sheet_read_as_a_stream_reads_as_the_whole_sheet(monkeypatch):
    import agent.stores.xlsx_cells as cells

    monkeypatch.setattr(cells, "_SLICE", 7)  # slices far smaller than a row
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>k%d</t></is></c>' % (n, n, n)
        + b'<c r="B%d"><v>%d</v></c></row>' % (n, n)
        for n in range(1, 30)
    )
    xml = sheet(rows, b"<pageMargins/>")
    streamed = cells.read_cells_streamed(io.BytesIO(xml), [], CellKinds())
    assert streamed.rows == read_cells(xml, [], CellKinds()).rows
    assert streamed.rows[29] == ["k29", 29]


def test_a_sheet_with_cells_without_address_is_not_read_as_a_stream():
    import pytest

    from agent.stores.xlsx_cells import NotAddressed, read_cells_streamed

    xml = sheet(b'<row r="1"><c><v>1</v></c></row>')
    with pytest.raises(NotAddressed):
        read_cells_streamed(io.BytesIO(xml), [], CellKinds())


def test_rows_streamed_are_replaced_in_place_and_appended_after_the_last(monkeypatch):
    import pytest

    import agent.stores.xlsx_cells as cells

    monkeypatch.setattr(cells, "_SLICE", 5)
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(1, 9))
    xml = sheet(rows, b"<pageMargins/>")
    out = b"".join(
        cells.stream_rows(
            io.BytesIO(xml), {3: b'<row r="3"/>'}, [b'<row r="9"/>', b'<row r="10"/>']
        )
    )
    assert out == xml.replace(b'<row r="3"><c r="A3"><v>3</v></c></row>', b'<row r="3"/>').replace(
        b"</sheetData>", b'<row r="9"/><row r="10"/></sheetData>'
    )
    with pytest.raises(cells.RowNotFound):
        b"".join(cells.stream_rows(io.BytesIO(xml), {40: b'<row r="40"/>'}, []))


def test_new_columns_get_a_width_and_a_persons_widths_stay():
    from agent.stores.xlsx_cells import set_widths

    xml = HEAD + b'<sheetFormatPr/><cols><col min="1" max="2" width="30" customWidth="1"/>'
    xml += b'<col min="9" max="9" width="5"/></cols><sheetData/></worksheet>'
    out = set_widths(xml, {2: 12, 4: 20, 5: 14})
    cols = out[out.index(b"<cols>") : out.index(b"</cols>")]
    assert cols == (
        b'<cols><col min="1" max="2" width="30" customWidth="1"/>'
        b'<col min="4" max="4" width="20" customWidth="1"/>'
        b'<col min="5" max="5" width="14" customWidth="1"/><col min="9" max="9" width="5"/>'
    )
    bare = set_widths(HEAD + b"<sheetData/></worksheet>", {3: 16, 1: 12})
    assert b'<cols><col min="1" max="1" width="12" customWidth="1"/>' in bare
    assert bare.index(b'min="1"') < bare.index(b'min="3"') < bare.index(b"<sheetData")
