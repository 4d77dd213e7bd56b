"""Files saved by Microsoft Excel, with a team's "Comptes" tab added beside Excel's own.

The Excel files (tests/fixtures/excel/, see its README) hold a chart, an image or a
comment as Excel writes them. `with_accounts` copies one and adds an accounts tab by
editing the zip: a new sheet part and the three entries that register it. Nothing Excel
wrote is re-serialised, so a test can check every Excel part byte for byte.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from tests.fixtures.build_team_workbook import ACCOUNTS, COLUMNS

EXCEL_FOLDER = Path(__file__).parent / "fixtures" / "excel"
EXCEL_FILES = sorted(EXCEL_FOLDER.glob("excel_*.xlsx"))
ACCOUNTS_PART = "xl/worksheets/sheet_comptes.xml"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _column(index: int) -> str:
    return chr(ord("A") + index)  # the accounts use fewer than 26 columns


def _accounts_sheet() -> bytes:
    """The accounts as a person would have typed them: text, dates as text."""
    rows = []
    for r, values in enumerate([COLUMNS, *ACCOUNTS], start=1):
        cells = "".join(
            f'<c r="{_column(i)}{r}" t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'
            for i, v in enumerate(values)
            if v is not None
        )
        rows.append(f'<row r="{r}">{cells}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}"><sheetData>{"".join(rows)}</sheetData></worksheet>'
    ).encode()


def with_accounts(excel_file: Path, target: Path) -> Path:
    """A copy of `excel_file` at `target` with a "Comptes" tab added after Excel's own."""
    with zipfile.ZipFile(excel_file) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/workbook.xml":
                body = body.replace(
                    b"</sheets>", b'<sheet name="Comptes" sheetId="90" r:id="rIdComptes"/></sheets>'
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                target = ACCOUNTS_PART.removeprefix("xl/")
                rel = f'<Relationship Id="rIdComptes" Type="{_WORKSHEET}" Target="{target}"/>'
                body = body.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            elif info.filename == "[Content_Types].xml":
                override = f'<Override PartName="/{ACCOUNTS_PART}" ContentType="{_SHEET_TYPE}"/>'
                body = body.replace(b"</Types>", override.encode() + b"</Types>")
            out.writestr(info, body)
        out.writestr(ACCOUNTS_PART, _accounts_sheet(), zipfile.ZIP_DEFLATED)
    return target
