"""Tabs the agent adds to a workbook package, and the sheet data it rewrites whole.

The history tab is the agent's own: when it does not exist yet, it is added as a new
worksheet part, registered in the workbook, its relationships and the content types.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from agent.stores.xlsx_cells import escape
from agent.stores.xlsx_package import Package

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET = _RELS + "/worksheet"
_WORKSHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def history_sheet_xml(rows: Sequence[bytes]) -> bytes:
    """A worksheet holding `rows`, its header row frozen."""
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}">'.encode()
        + b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        b'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        + b"<sheetData>"
        + b"".join(rows)
        + b"</sheetData></worksheet>"
    )


def replace_sheet_data(xml: bytes, rows: Sequence[bytes]) -> bytes:
    """A worksheet with every row replaced by `rows`, everything else kept."""
    found = re.search(rb"<sheetData\s*/>|<sheetData\b[^>]*>.*</sheetData>", xml, re.S)
    if found is None:
        raise ValueError("no sheetData")
    return (
        xml[: found.start()]
        + b"<sheetData>"
        + b"".join(rows)
        + b"</sheetData>"
        + xml[found.end() :]
    )


def add_sheet(package: Package, title: str, xml: bytes) -> dict[str, bytes]:
    """The parts to write for a new last tab `title` holding `xml`."""
    folder = posixpath.dirname(package.workbook_part)
    taken = set(package.zf.NameToInfo)
    number = 1
    while posixpath.join(folder, f"worksheets/sheet{number}.xml") in taken:
        number += 1
    part = posixpath.join(folder, f"worksheets/sheet{number}.xml")

    rels_part = package.rels_part(package.workbook_part)
    rels = package.read(rels_part)
    ids = {int(i) for i in re.findall(rb'Id="rId(\d+)"', rels)}
    rel_id = f"rId{max(ids, default=0) + 1}"
    relation = (
        f'<Relationship Id="{rel_id}" Type="{_WORKSHEET}" Target="worksheets/sheet{number}.xml"/>'
    )
    rels = rels.replace(b"</Relationships>", relation.encode() + b"</Relationships>")

    book = package.read(package.workbook_part)
    prefix = re.search(rb'xmlns:(\w+)="' + re.escape(_RELS.encode()) + rb'"', book)
    declare = b""
    if prefix is None:
        declare = f' xmlns:r="{_RELS}"'.encode()
    name = prefix[1].decode() if prefix else "r"
    sheet_ids = [int(i) for i in re.findall(rb'<sheet\b[^>]*\ssheetId="(\d+)"', book)]
    sheet = f'<sheet name="{escape(title)}" sheetId="{max(sheet_ids, default=0) + 1}" '
    sheet += f'{name}:id="{rel_id}"{declare.decode()}/>'
    book = book.replace(b"</sheets>", sheet.encode() + b"</sheets>", 1)

    types = package.read("[Content_Types].xml")
    override = f'<Override PartName="/{part}" ContentType="{_WORKSHEET_CONTENT}"/>'
    types = types.replace(b"</Types>", override.encode() + b"</Types>")
    return {rels_part: rels, package.workbook_part: book, "[Content_Types].xml": types, part: xml}
