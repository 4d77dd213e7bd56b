"""How the agent's columns look in a workbook: shaded whole, "why" and the next action
wrapped at a readable width, as Google's (`google/look.py`), in the worksheet's XML and
its styles.

A cell's look is its style (an `<xf>` of `cellXfs`): each agent cell gets a style derived
from its own, with the shade when it has no fill of its own (a colour a person gave a cell
stays; the status colours are rules drawn over it), below the header its text read from
the top and, in a wrapped column, wrapping. The key column's cells read from the top too
(when they have no vertical alignment of their own), so an account and its answer start
on the same line. The column's own style (`<col style>`) gets the same, so a row a CSM
adds looks alike, and a wrapped column is at least its width. A style that already has
all this is kept as it is, whoever wrote it (LibreOffice rewrites every style its own way
on save): a pass that finds the look in place changes nothing. Each account's row is
given the height of its wrapped text (`fit_rows`): LibreOffice does not measure it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.labels import AGENT_FILL
from agent.plan import Formatting
from agent.stores.xlsx_cells import column_index

_FILL = re.compile(rb"<fill\b[^>]*?(?:/>|>.*?</fill>)", re.S)
_XF = re.compile(rb"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.S)
_COL = re.compile(rb"<col\b[^>]*?/>")
_CELL_HEAD = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"([^>]*?)(/?)>')
_STYLE = re.compile(rb'\ss="(\d+)"')
_NO_FILL = re.compile(rb'patternType="(?:none|gray125)"')
_SHADE = re.compile(rb'<fgColor\b[^>]*\srgb="(?:FF)?' + AGENT_FILL.encode() + rb'"', re.I)
_WRAPS = re.compile(rb'\swrapText="(?:1|true)"')
_TOP = re.compile(rb'\svertical="top"')
SHADE_FILL = (
    b'<fill><patternFill patternType="solid"><fgColor rgb="FF'
    + AGENT_FILL.encode()
    + b'"/><bgColor indexed="64"/></patternFill></fill>'
)
DEFAULT_WIDTH = 9.140625  # Excel's column width when a sheet names none
CHARACTERS_PER_DIGIT = 1.2  # letters of ordinary text in the width of one digit


def width_of(pixels: int) -> float:
    """A width in pixels as a column width in characters (Excel: 7 px a character of the
    default font, plus 5 px of margin)."""
    return round(max(pixels - 5, 7) / 7, 2)


def set_attr(head: bytes, name: bytes, value: bytes) -> bytes:
    """An element's start tag (`<x a="1"/>` or `<x a="1">`) with `name` set to `value`."""
    found = re.search(rb"\s" + name + rb'="[^"]*"', head)
    if found is not None:
        return head[: found.start()] + b" " + name + b'="' + value + b'"' + head[found.end() :]
    end = len(head) - (2 if head.endswith(b"/>") else 1)
    return head[:end].rstrip() + b" " + name + b'="' + value + b'"' + head[end:]


def _attr(element: bytes, name: bytes) -> bytes | None:
    head = element[: element.find(b">") + 1]
    found = re.search(rb"\s" + name + rb'="([^"]*)"', head)
    return found[1] if found else None


def _has_fill(fill: bytes) -> bool:
    """Whether a fill paints anything (not none, not the gray125 Excel reserves)."""
    if b"<gradientFill" in fill:
        return True
    return b"patternType=" in fill and _NO_FILL.search(fill) is None


class Styles:
    """A styles part's fills and cell styles, with the agent's derived ones added."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.changed = False
        fills = re.search(rb"<fills\b[^>]*?(?:/>|>(.*?)</fills>)", xml, re.S)
        xfs = re.search(rb"<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)", xml, re.S)
        self.usable = fills is not None and xfs is not None
        self.fills = [m[0] for m in _FILL.finditer(fills[1] or b"")] if fills else []
        self.xfs = [m[0] for m in _XF.finditer(xfs[1] or b"")] if xfs else []
        self._added_fills = 0
        self._added_xfs = 0
        self._shade: int | None = None
        self._looks: dict[tuple[int, bool, bool, bool, bool], int] = {}

    def shade(self) -> int:
        """The index of the shade's fill, added when the styles have none."""
        if self._shade is None:
            found = [i for i, f in enumerate(self.fills) if _SHADE.search(f) and b'"solid"' in f]
            if found:
                self._shade = found[0]
            else:
                self.fills.append(SHADE_FILL)
                self._added_fills += 1
                self._shade = len(self.fills) - 1
        return self._shade

    def _fine(self, xf: bytes, shade: bool, wrap: bool, top: bool, center: bool) -> bool:
        if shade:
            fill_id = int(_attr(xf, b"fillId") or b"0")
            if fill_id >= len(self.fills) or not _has_fill(self.fills[fill_id]):
                return False
        alignment = re.search(rb"<alignment\b[^>]*>", xf)
        if wrap and (
            alignment is None or not (_WRAPS.search(alignment[0]) and _TOP.search(alignment[0]))
        ):
            return False
        if center and (alignment is None or b" horizontal=" not in alignment[0]):
            return False
        return not (top and (alignment is None or b" vertical=" not in alignment[0]))

    def look(
        self,
        index: int,
        *,
        shade: bool,
        wrap: bool = False,
        top: bool = False,
        center: bool = False,
    ) -> int:
        """The style of a cell styled `index`, with the shade (when it has no fill of its
        own), the wrapping from the top, and the text read from the top (when it has no
        vertical alignment of its own), centred (the score: apart from the status beside it,
        when it has no horizontal alignment of its own) asked: `index` itself when it has
        them already."""
        key = (index, shade, wrap, top, center)
        if key in self._looks:
            return self._looks[key]
        xf = self.xfs[index] if index < len(self.xfs) else (self.xfs[0] if self.xfs else b"")
        if not xf or self._fine(xf, shade, wrap, top, center):
            self._looks[key] = index
            return index
        head_end = xf.find(b">") + 1
        head, rest = xf[:head_end], xf[head_end:]
        fill_id = int(_attr(xf, b"fillId") or b"0")
        if shade and (fill_id >= len(self.fills) or not _has_fill(self.fills[fill_id])):
            head = set_attr(head, b"fillId", b"%d" % self.shade())
            head = set_attr(head, b"applyFill", b"1")
        alignment = re.search(rb"<alignment\b[^>]*?/?>", rest)
        wanted = [(b"vertical", b"top"), (b"wrapText", b"1")] if wrap else []
        if top and not wrap and (alignment is None or b" vertical=" not in alignment[0]):
            wanted = [(b"vertical", b"top")]
        if center and (alignment is None or b" horizontal=" not in alignment[0]):
            wanted.append((b"horizontal", b"center"))
        if wanted:
            head = set_attr(head, b"applyAlignment", b"1")
            if alignment is not None:
                new = alignment[0]
                for name, value in wanted:
                    new = set_attr(new, name, value)
                rest = rest[: alignment.start()] + new + rest[alignment.end() :]
            else:
                element = b"<alignment" + b"".join(b' %s="%s"' % pair for pair in wanted) + b"/>"
                if head.endswith(b"/>"):
                    head, rest = head[:-2] + b">", element + b"</xf>"
                else:
                    rest = element + rest
        derived = head + rest
        if derived in self.xfs:
            found = self.xfs.index(derived)
        else:
            self.xfs.append(derived)
            self._added_xfs += 1
            found = len(self.xfs) - 1
        self._looks[key] = found
        return found

    def result(self) -> bytes | None:
        """The styles part with what was added, or None when nothing was."""
        if not (self._added_fills or self._added_xfs):
            return None
        xml = self.xml
        for tag, items, added in (
            (b"cellXfs", self.xfs, self._added_xfs),
            (b"fills", self.fills, self._added_fills),
        ):
            if not added:
                continue
            block = re.search(rb"<" + tag + rb"\b[^>]*?(?:/>|>.*?</" + tag + rb">)", xml, re.S)
            assert block is not None
            new = b'<%s count="%d">' % (tag, len(items)) + b"".join(items) + b"</" + tag + b">"
            xml = xml[: block.start()] + new + xml[block.end() :]
        return xml


@dataclass
class _Column:
    shade: bool
    wrap: bool
    width: float | None  # at least this wide, in characters
    top: bool = True  # below the header, read from the top like a wrapped answer beside it
    center: bool = False  # the score, centred: "8" apart from "En bonne santé" beside it


def _wanted(columns: dict[str, int], formatting: Formatting) -> dict[int, _Column]:
    """The look of each agent column, and of the key's: read from the top, so an account
    and its answer start on the same line of a row made tall by a wrapped "why"."""
    wrapped = {name: px for name, px in formatting.wrapped}
    wanted: dict[int, _Column] = {}
    key = columns.get(formatting.key_column or "")
    if key is not None and wrapped:
        wanted[key] = _Column(False, False, None)
    for name in dict.fromkeys(formatting.agent_columns):
        if name in columns:
            px = wrapped.get(name)
            wanted[columns[name]] = _Column(
                True,
                px is not None,
                width_of(px) if px else None,
                center=name == formatting.score_column,
            )
    return wanted


def _restyle_cells(xml: bytes, wanted: dict[int, _Column], styles: Styles) -> bytes:
    """Every addressed cell of an agent column with its look; the header is shaded, not
    wrapped."""
    start = xml.find(b"<sheetData")
    end = xml.find(b"</sheetData>")
    if start < 0 or end < 0:
        return xml
    letters: dict[bytes, int] = {}

    def restyle(cell: re.Match[bytes]) -> bytes:
        column = letters.get(cell[1])
        if column is None:
            column = letters[cell[1]] = column_index(cell[1])
        want = wanted.get(column)
        if want is None:
            return cell[0]
        found = _STYLE.search(cell[3])
        current = int(found[1]) if found else 0
        body = cell[2] != b"1"
        new = styles.look(
            current,
            shade=want.shade,
            wrap=want.wrap and body,
            top=want.top and body,
            center=want.center and body,
        )
        if new == current:
            return cell[0]
        attrs = set_attr(cell[3] + b">", b"s", b"%d" % new)[:-1]
        return b'<c r="' + cell[1] + cell[2] + b'"' + attrs + cell[4] + b">"

    body = _CELL_HEAD.sub(restyle, xml[start:end])
    return xml[:start] + body + xml[end:]


def _bounded(col: bytes, low: int, high: int) -> bytes:
    """A `<col>` covering `low`..`high` (a piece of one that covered more)."""
    return set_attr(set_attr(col, b"min", b"%d" % low), b"max", b"%d" % high)


def _default_width(xml: bytes) -> float:
    found = re.search(rb'<sheetFormatPr\b[^>]*\sdefaultColWidth="([0-9.]+)"', xml)
    return float(found[1]) if found else DEFAULT_WIDTH


def _column_looks(xml: bytes, wanted: dict[int, _Column], styles: Styles) -> bytes:
    """The `<cols>` with each agent column's style (and width, for a wrapped one); a
    `<col>` covering several columns is split only when one of the agent's needs a
    change."""
    block = re.search(rb"<cols>(.*?)</cols>", xml, re.S)
    cols = [m[0] for m in _COL.finditer(block[1])] if block else []
    changed = False
    for column, want in sorted(wanted.items()):
        bounds = [(int(_attr(c, b"min") or 0), int(_attr(c, b"max") or 0)) for c in cols]
        at = next((i for i, (lo, hi) in enumerate(bounds) if lo <= column <= hi), None)
        if at is None:
            col = b'<col min="%d" max="%d" width="%s"/>' % (
                column,
                column,
                f"{_default_width(xml):g}".encode(),
            )
        else:
            col = cols[at]
        style = int(_attr(col, b"style") or b"0")
        new = set_attr(
            col,
            b"style",
            b"%d"
            % styles.look(
                style, shade=want.shade, wrap=want.wrap, top=want.top, center=want.center
            ),
        )
        hidden = _attr(col, b"hidden") in (b"1", b"true")
        width = float(_attr(col, b"width") or 0)
        if want.width is not None and not hidden and width < want.width:
            new = set_attr(new, b"width", f"{want.width:g}".encode())
            new = set_attr(new, b"customWidth", b"1")
        if at is not None and new == col:
            continue
        changed = True
        if at is None:
            after = [i for i, (lo, _) in enumerate(bounds) if lo > column]
            cols.insert(after[0] if after else len(cols), new)
        else:
            lo, hi = bounds[at]
            pieces = [_bounded(new, column, column)]
            if lo < column:
                pieces.insert(0, _bounded(col, lo, column - 1))
            if column < hi:
                pieces.append(_bounded(col, column + 1, hi))
            cols[at : at + 1] = pieces
    if not changed:
        return xml
    new_block = b"<cols>" + b"".join(cols) + b"</cols>"
    if block is not None:
        return xml[: block.start()] + new_block + xml[block.end() :]
    at_data = xml.find(b"<sheetData")
    return xml[:at_data] + new_block + xml[at_data:]


_ROW_HEAD = re.compile(rb'<row r="(\d+)"([^>]*?)(/?)>')


def lines_of(text: str, width: float) -> int:
    """How many lines a wrapped text takes in a column `width` characters wide, words
    wrapped whole. A width counts the default font's digits; ordinary text is narrower,
    about 1.2 characters a digit (a line to spare rather than a line cut)."""
    per_line = max(int(width * CHARACTERS_PER_DIGIT), 1)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0
        for word in paragraph.split(" "):
            size = len(word)
            if used and used + 1 + size > per_line:
                lines += 1 + (size - 1) // per_line
                used = size % per_line or per_line
            elif not used and size > per_line:
                lines += (size - 1) // per_line
                used = size % per_line or per_line
            else:
                used += size + (1 if used else 0)
    return max(lines, 1)


def fit_rows(xml: bytes, lines: dict[int, int]) -> bytes:
    """The rows of `lines` (row number -> lines of wrapped text) as tall as their text:
    LibreOffice keeps a row's height from the file, and a row without one at a single
    line, so the agent says it. A height a person set (`customHeight`) stays; a row back
    to one line loses the height the agent gave it."""
    found = re.search(rb'<sheetFormatPr\b[^>]*\sdefaultRowHeight="([0-9.]+)"', xml)
    line = float(found[1]) if found else 15.0
    start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
    if start < 0 or end < 0 or not lines:
        return xml

    def fit(row: re.Match[bytes]) -> bytes:
        count = lines.get(int(row[1]))
        attrs = row[2]
        if count is None or re.search(rb'\scustomHeight="(?:1|true)"', attrs):
            return row[0]
        height = re.search(rb'\sht="([0-9.]+)"', attrs)
        current = float(height[1]) if height else None
        if count > 1:
            wanted = f"{count * line:g}".encode()
            if height is not None and height[1] == wanted:
                return row[0]
            attrs = set_attr(attrs + b">", b"ht", wanted)[:-1]
        elif current is not None and current > line:
            attrs = set_attr(attrs + b">", b"ht", f"{line:g}".encode())[:-1]
        else:
            return row[0]
        return b'<row r="' + row[1] + b'"' + attrs + row[3] + b">"

    return xml[:start] + _ROW_HEAD.sub(fit, xml[start:end]) + xml[end:]


def wrapped_widths(xml: bytes, columns: dict[str, int], formatting: Formatting) -> dict[int, float]:
    """Each wrapped agent column's width in characters, as the sheet has it now."""
    widths: dict[int, float] = {}
    cols = [m[0] for m in _COL.finditer(xml[: max(xml.find(b"<sheetData"), 0)])]
    for name, px in formatting.wrapped:
        column = columns.get(name)
        if column is None:
            continue
        width = width_of(px)
        for col in cols:
            if int(_attr(col, b"min") or 0) <= column <= int(_attr(col, b"max") or 0):
                width = float(_attr(col, b"width") or width)
        widths[column] = width
    return widths


def apply_look(
    xml: bytes, styles_xml: bytes | None, columns: dict[str, int], formatting: Formatting
) -> tuple[bytes, bytes | None]:
    """The worksheet and styles with the agent's columns shaded whole and wrapped; the
    styles are None when they did not change. A workbook without styles is left as is."""
    wanted = _wanted(columns, formatting)
    if not wanted or styles_xml is None:
        return xml, None
    styles = Styles(styles_xml)
    if not styles.usable:
        return xml, None
    xml = _restyle_cells(xml, wanted, styles)
    xml = _column_looks(xml, wanted, styles)
    return xml, styles.result()
