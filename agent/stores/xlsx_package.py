"""An .xlsx file as the zip package it is: find its tabs, read its strings and number
formats, and write a copy where only the agent's parts changed.

Every part the agent does not change (charts, images, comments, other tabs, the
drawing of a dashboard, the calculation chain) is copied as its compressed bytes, in
its place in the zip: a program that reads the result finds exactly what it wrote.
"""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, BinaryIO

from agent.stores.xlsx_cells import CellKinds, string_items

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET_TYPE = _REL_NS + "/worksheet"
_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_PERCENT_FORMATS = frozenset([9, 10])
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str | None:
    """An attribute by its local name, whatever its namespace (r:id)."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def format_kind(code: str) -> str | None:
    """ "date" or "percent" for a number format code, else None."""
    bare = _QUOTED.sub("", code.split(";")[0]).lower()
    if "%" in bare:
        return "percent"
    if bare and bare != "general" and any(ch in bare for ch in "dmyhs"):
        return "date"
    return None


@dataclass
class Package:
    """A workbook's zip, opened from its bytes."""

    data: bytes
    zf: zipfile.ZipFile = field(init=False)
    workbook_part: str = field(init=False)
    sheets: dict[str, str] = field(init=False)  # tab title -> part name, in tab order
    _strings: list[str] | None = field(init=False, default=None)
    _kinds: CellKinds | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.zf = zipfile.ZipFile(io.BytesIO(self.data))
        self.workbook_part = self._workbook_part()
        self.sheets = self._sheets()

    def read(self, part: str) -> bytes:
        return self.zf.read(part)

    def open(self, part: str) -> IO[bytes]:
        """A part's content as a stream (a part can be tens of MB once inflated)."""
        return self.zf.open(part)

    def has(self, part: str) -> bool:
        return part in self.zf.NameToInfo

    def _workbook_part(self) -> str:
        rels = ET.fromstring(self.read("_rels/.rels"))
        for rel in rels:
            if (rel.get("Type") or "").endswith("/officeDocument"):
                return (rel.get("Target") or "").lstrip("/")
        return "xl/workbook.xml"

    def rels_part(self, part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", name + ".rels")

    def _sheets(self) -> dict[str, str]:
        folder = posixpath.dirname(self.workbook_part)
        targets = {}
        for rel in ET.fromstring(self.read(self.rels_part(self.workbook_part))):
            if rel.get("Type") == _WORKSHEET_TYPE:
                target = rel.get("Target") or ""
                path = (
                    target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                )
                targets[rel.get("Id")] = posixpath.normpath(path)
        out = {}
        for sheet in ET.fromstring(self.read(self.workbook_part)).iter():
            if _local(sheet.tag) == "sheet":
                part = targets.get(_attr(sheet, "id"))
                if part is not None:
                    out[sheet.get("name") or ""] = part
        return out

    def _related(self, kind: str) -> str | None:
        folder = posixpath.dirname(self.workbook_part)
        for rel in ET.fromstring(self.read(self.rels_part(self.workbook_part))):
            if (rel.get("Type") or "").endswith("/" + kind):
                target = rel.get("Target") or ""
                if target.startswith("/"):
                    return target.lstrip("/")
                return posixpath.normpath(posixpath.join(folder, target))
        return None

    def styles_part(self) -> str | None:
        return self._related("styles")

    def strings(self) -> list[str]:
        if self._strings is None:
            part = self._related("sharedStrings")
            self._strings = string_items(self.read(part)) if part and self.has(part) else []
        return self._strings

    def kinds(self) -> CellKinds:
        """Which cell styles show a date, which a percentage."""
        if self._kinds is None:
            self._kinds = self._read_kinds()
        return self._kinds

    def _read_kinds(self) -> CellKinds:
        book = self.read(self.workbook_part)
        date1904 = bool(re.search(rb'date1904="(1|true)"', book))
        part = self.styles_part()
        if part is None or not self.has(part):
            return CellKinds(date1904=date1904)
        root = ET.fromstring(self.read(part))
        codes: dict[int, str | None] = {i: "date" for i in _DATE_FORMATS}
        codes.update({i: "percent" for i in _PERCENT_FORMATS})
        xfs: list[int] = []
        for element in root:
            if _local(element.tag) == "numFmts":
                for fmt in element:
                    codes[int(fmt.get("numFmtId") or 0)] = format_kind(fmt.get("formatCode") or "")
            elif _local(element.tag) == "cellXfs":
                xfs = [int(xf.get("numFmtId") or 0) for xf in element]
        dates = frozenset(i for i, f in enumerate(xfs) if codes.get(f) == "date")
        percents = frozenset(i for i, f in enumerate(xfs) if codes.get(f) == "percent")
        return CellKinds(dates, percents, date1904)


# a part's new content: its bytes, or pieces written one after the other
Body = bytes | Iterable[bytes | memoryview]


def write_package(source: Package, changed: dict[str, Body], out: BinaryIO) -> None:
    """Write `source` to `out` with the parts of `changed` replaced or added (added ones
    at the end); every other part copied as its stored bytes, in its place."""
    data = source.data
    with zipfile.ZipFile(out, "w") as zout:
        for info in source.zf.infolist():
            if info.filename in changed:
                _write_part(zout, info.filename, changed[info.filename], like=info)
                continue
            _copy_raw(zout, out, data, info)
        for name, body in changed.items():
            if name not in source.zf.NameToInfo:
                _write_part(zout, name, body, like=None)


def _write_part(zout: zipfile.ZipFile, name: str, body: Body, like: zipfile.ZipInfo | None) -> None:
    info = zipfile.ZipInfo(name, like.date_time if like else (1980, 1, 1, 0, 0, 0))
    info.compress_type = like.compress_type if like else zipfile.ZIP_DEFLATED
    if like is not None:
        info.external_attr = like.external_attr
        info.create_system = like.create_system
    # the fastest deflate: a year of history is tens of MB of XML, written on every pass
    # that changes a history row; level 1 costs a few more bytes than the default
    if isinstance(body, bytes):
        zout.writestr(info, body, compresslevel=1)
        return
    info._compresslevel = 1  # type: ignore[attr-defined]  # what writestr sets
    with zout.open(info, "w") as part:
        for piece in body:
            part.write(piece)


def _copy_raw(zout: zipfile.ZipFile, out: BinaryIO, data: bytes, info: zipfile.ZipInfo) -> None:
    """Copy a part's local header, compressed bytes and data descriptor as they are.

    zipfile has no public call for this; it writes its central directory from
    `filelist` at `start_dir` on close, so a part copied by hand is recorded there."""
    start = info.header_offset
    name_length, extra_length = (
        int.from_bytes(data[start + 26 : start + 28], "little"),
        (int.from_bytes(data[start + 28 : start + 30], "little")),
    )
    end = start + 30 + name_length + extra_length + info.compress_size
    if info.flag_bits & 0x08:  # a data descriptor follows the data
        signed = data[end : end + 4] == b"PK\x07\x08"
        end += (4 if signed else 0) + (20 if info.file_size >= 0xFFFFFFFF else 12)
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    for attribute in (
        "compress_type",
        "comment",
        "extra",
        "create_system",
        "create_version",
        "extract_version",
        "flag_bits",
        "volume",
        "internal_attr",
        "external_attr",
        "CRC",
        "compress_size",
        "file_size",
    ):
        setattr(copy, attribute, getattr(info, attribute))
    out.seek(zout.start_dir)
    copy.header_offset = out.tell()
    out.write(data[start:end])
    zout.start_dir = out.tell()
    zout.filelist.append(copy)
    zout.NameToInfo[copy.filename] = copy
    zout._didModify = True  # type: ignore[attr-defined]
