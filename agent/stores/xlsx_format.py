"""The agent's own formatting in a worksheet's XML: status colours, the score in its
status's colour, input dropdowns, the frozen header row; and the style entries they need.
The agent columns' shade and wrapping are `workbook_look`'s.

Rules and dropdowns a person made are never removed or duplicated: the agent's are
recognised by their place (the status and score columns) and their shape (a status
label's formula; a score rule's `AND(ISNUMBER(..),..)` formula, or the colour scale
through the agent's three fills that it wrote before; a dropdown titled "health-agent").
New elements go where ECMA-376 puts them (Excel refuses a worksheet whose elements are out
of order, LibreOffice forgives it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.labels import KNOWN_STATUS_LABELS, STATUS_FILLS
from agent.plan import Formatting, ScoreScale
from agent.stores.workbook_look import apply_look
from agent.stores.xlsx_cells import column_letters, escape

LAST_ROW = 1048576  # rules cover the whole column, so rows a CSM adds get them too
FONTS = {"green": "006100", "orange": "7A4A00", "red": "9C0006"}
_SCALE_FILLS = (STATUS_FILLS["red"], STATUS_FILLS["orange"], STATUS_FILLS["green"])
_KNOWN_STATUS_FORMULAS = {f'"{label}"' for label in KNOWN_STATUS_LABELS}
# the agent's score rules: a number (a blank is no score, never red) against a threshold
_SCORE_FORMULA = re.compile(r"AND\(ISNUMBER\(([A-Z]{1,3})2\),\1(?:2)(>=|<)(-?[0-9.]+)\)")
# CT_Worksheet's children after sheetData, in order
AFTER_SHEET_DATA = [
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
]
_STYLE_ORDER = [
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
]
_HEADER_PANE = b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'


def _header_only(pane: bytes) -> bool:
    """A pane freezing the header row alone (the agent's before it froze the key, or the
    one openpyxl writes for a template, `<pane ... />` with a space): widened to the key."""
    attributes = dict(re.findall(rb'(\w+)="([^"]*)"', pane))
    return (
        attributes.get(b"ySplit") == b"1"
        and attributes.get(b"xSplit", b"0") == b"0"
        and attributes.get(b"state") == b"frozen"
    )


_CF_BLOCK = re.compile(rb"<conditionalFormatting\b[^>]*>.*?</conditionalFormatting>", re.S)
_CF_RULE = re.compile(rb"<cfRule\b[^>]*?(?:/>|>.*?</cfRule>)", re.S)
_DV_BLOCK = re.compile(rb"<dataValidations\b[^>]*?(?:/>|>.*?</dataValidations>)", re.S)
_DV = re.compile(rb"<dataValidation\b[^>]*?(?:/>|>.*?</dataValidation>)", re.S)
_SQREF = re.compile(rb'\ssqref="([^"]*)"')


def dxf_xml(colour: str) -> bytes:
    """The differential style of a status colour: its font colour and fill."""
    fill, font = STATUS_FILLS[colour], FONTS[colour]
    return (
        f'<dxf><font><color rgb="FF{font}"/></font><fill><patternFill patternType="solid">'
        f'<fgColor rgb="FF{fill}"/><bgColor rgb="FF{fill}"/></patternFill></fill></dxf>'
    ).encode()


def _element(raw: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(raw)
    except ET.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _status_identity(rule: ET.Element) -> str | None:
    formulas = [e.text for e in rule if _local(e.tag) == "formula"]
    formula = formulas[0] if formulas else None
    if rule.get("type") == "cellIs" and formula in _KNOWN_STATUS_FORMULAS:
        return formula
    return None


def _scale_identity(rule: ET.Element) -> tuple[object, ...] | None:
    if rule.get("type") != "colorScale":
        return None
    scale = next((e for e in rule if _local(e.tag) == "colorScale"), None)
    if scale is None:
        return None
    values = tuple(
        (e.get("type"), float(e.get("val") or 0) if e.get("val") is not None else None)
        for e in scale
        if _local(e.tag) == "cfvo"
    )
    colours = tuple((e.get("rgb") or "")[-6:].upper() for e in scale if _local(e.tag) == "color")
    return (values, colours) if colours == _SCALE_FILLS else None


def _score_identity(rule: ET.Element) -> tuple[object, ...] | None:
    """A score rule of the agent's as (comparison, threshold, dxf), or the colour scale it
    wrote before (then never among the wanted rules: replaced)."""
    if rule.get("type") == "colorScale":
        return _scale_identity(rule)
    formulas = [e.text for e in rule if _local(e.tag) == "formula"]
    found = _SCORE_FORMULA.fullmatch(formulas[0] or "") if formulas else None
    if rule.get("type") != "expression" or found is None:
        return None
    try:
        return ("score", found[2], float(found[3]), rule.get("dxfId"))
    except ValueError:
        return None


def _score_rules(
    letter: str, scale: ScoreScale, ids: dict[str, int], priority: int
) -> dict[object, bytes]:
    """The score cell in its status's own fill: green from the green threshold, orange from
    the orange one, red below; a blank cell (no score) is none of them. Green first: Excel
    gives a cell both matching fills' by priority, LibreOffice the first that matches."""
    wanted: dict[object, bytes] = {}
    for i, (colour, op, value) in enumerate(
        (("green", ">=", scale.green), ("orange", ">=", scale.orange), ("red", "<", scale.orange))
    ):
        formula = f"AND(ISNUMBER({letter}2),{letter}2{op}{value:g})"
        identity = ("score", op, float(f"{value:g}"), str(ids[colour]))
        wanted[identity] = (
            f'<cfRule type="expression" dxfId="{ids[colour]}" priority="{priority + i}">'
            f"<formula>{escape(formula)}</formula></cfRule>"
        ).encode()
    return wanted


@dataclass
class SheetFormat:
    """What a formatting pass changed: the worksheet's XML and the styles' dxfs."""

    xml: bytes
    styles: bytes | None
    changed: bool


def insert_in_order(xml: bytes, name: str, element: bytes, order: Sequence[str]) -> bytes:
    """`xml` with `element` placed before the first sibling that must follow `name`."""
    later = order[order.index(name) + 1 :]
    tail_start = xml.find(b"</sheetData>")
    tail_start = tail_start if tail_start >= 0 else 0
    best = None
    for tag in later:
        found = re.search(rb"<" + tag.encode() + rb"[\s/>]", xml[tail_start:])
        if found and (best is None or found.start() < best):
            best = found.start()
    at = tail_start + best if best is not None else xml.rfind(b"</")
    return xml[:at] + element + xml[at:]


class Formatter:
    """Brings one worksheet's agent formatting up to date, with the styles it needs."""

    def __init__(self, xml: bytes, styles: bytes | None) -> None:
        self.xml = xml
        self.styles = styles
        self.styles_changed = False
        self.changed = False

    def _dxf_ids(self) -> dict[str, int]:
        """The dxf index of each status colour, added to the styles when missing."""
        styles = self.styles or b""
        block = re.search(rb"<dxfs\b[^>]*?(?:/>|>(.*?)</dxfs>)", styles, re.S)
        existing = re.findall(rb"<dxf>.*?</dxf>|<dxf/>", block[1] or b"", re.S) if block else []
        ids: dict[str, int] = {}
        added: list[bytes] = []
        for colour in ("green", "orange", "red"):
            wanted = dxf_xml(colour)
            if wanted in existing:
                ids[colour] = existing.index(wanted)
            else:
                ids[colour] = len(existing) + len(added)
                added.append(wanted)
        if added and self.styles is not None:
            every = b"".join(existing + added)
            new = b'<dxfs count="%d">' % (len(existing) + len(added)) + every + b"</dxfs>"
            if block is not None:
                self.styles = styles[: block.start()] + new + styles[block.end() :]
            else:
                self.styles = _insert_style_block(styles, new)
            self.styles_changed = True
        return ids

    def conditional(
        self, sqref: str, wanted: dict[object, bytes], ours: Callable[[ET.Element], object]
    ) -> None:
        """Make the agent's rules on `sqref` exactly `wanted` (identity -> rule XML)."""
        target = sqref.encode()
        blocks = [b for b in _CF_BLOCK.finditer(self.xml) if _same_column(_sqref(b[0]), target)]
        present: set[object] = set()
        keep: list[bytes] = []
        dropped = False
        for block in blocks:
            for rule in _CF_RULE.finditer(block[0]):
                element = _element(rule[0])
                identity = ours(element) if element is not None else None
                if identity is None or (identity in wanted and identity not in present):
                    present.add(identity)
                    keep.append(rule[0])
                else:
                    dropped = True
        missing = [xml for identity, xml in wanted.items() if identity not in present]
        if not dropped and not missing:
            return
        new = b'<conditionalFormatting sqref="' + target + b'">'
        new += b"".join(keep + missing) + b"</conditionalFormatting>"
        for block in reversed(blocks):
            self.xml = self.xml[: block.start()] + self.xml[block.end() :]
        self.xml = insert_in_order(self.xml, "conditionalFormatting", new, AFTER_SHEET_DATA)
        self.changed = True

    def _priority(self) -> int:
        found = [int(p) for p in re.findall(rb'<cfRule\b[^>]*\spriority="(\d+)"', self.xml)]
        return max(found, default=0) + 1

    def status_rules(self, column: int, formatting: Formatting) -> None:
        letter = column_letters(column)
        labels = formatting.status_labels
        wanted_labels = {"green": labels.green, "orange": labels.orange, "red": labels.red}
        sqref = f"{letter}2:{letter}{LAST_ROW}"
        formulas = {f'"{text}"' for text in wanted_labels.values()}
        if self._has_rules(sqref, formulas):
            return
        ids = self._dxf_ids()
        priority = self._priority()
        wanted: dict[object, bytes] = {}
        for i, (colour, text) in enumerate(wanted_labels.items()):
            formula = escape(f'"{text}"').replace('"', "&quot;")
            wanted[f'"{text}"'] = (
                f'<cfRule type="cellIs" dxfId="{ids[colour]}" priority="{priority + i}" '
                f'operator="equal"><formula>{formula}</formula></cfRule>'
            ).encode()
        self.conditional(sqref, wanted, _status_identity)

    def _has_rules(self, sqref: str, formulas: set[str]) -> bool:
        """Whether the status rules are there exactly (no dxf needs adding then)."""
        target = sqref.encode()
        found: list[str | None] = []
        for block in _CF_BLOCK.finditer(self.xml):
            if _same_column(_sqref(block[0]), target):
                for rule in _CF_RULE.finditer(block[0]):
                    element = _element(rule[0])
                    found.append(_status_identity(element) if element is not None else None)
        ours = [f for f in found if f is not None]
        return sorted(ours) == sorted(formulas)

    def score_rules(self, column: int, scale: ScoreScale) -> None:
        letter = column_letters(column)
        wanted = _score_rules(letter, scale, self._dxf_ids(), self._priority())
        self.conditional(f"{letter}2:{letter}{LAST_ROW}", wanted, _score_identity)

    def dropdown(self, column: int, allowed: tuple[str, ...]) -> None:
        if any("," in a or '"' in a for a in allowed) or sum(len(a) + 1 for a in allowed) > 250:
            return  # Excel's inline lists cannot hold these; leave the column free
        letter = column_letters(column)
        sqref = f"{letter}2:{letter}{LAST_ROW}".encode()
        formula = '"' + ",".join(allowed) + '"'
        block = _DV_BLOCK.search(self.xml)
        rules = [m[0] for m in _DV.finditer(block[0])] if block else []
        existing = [(r, _element(r)) for r in rules if _same_column(_sqref(r), sqref)]
        if any(e is not None and _formula1(e) == formula for _, e in existing):
            return
        ours = [
            r
            for r, e in existing
            if e is not None and e.get("type") == "list" and e.get("promptTitle") == "health-agent"
        ]
        if len(ours) != len(existing):
            return  # a person's own validation stands
        kept = [r for r in rules if r not in ours]
        new_rule = (
            '<dataValidation type="list" allowBlank="1" showErrorMessage="0" '
            f'promptTitle="health-agent" sqref="{sqref.decode()}">'
            f"<formula1>{escape(formula)}</formula1></dataValidation>"
        ).encode()
        kept.append(new_rule)
        new = b'<dataValidations count="%d">' % len(kept) + b"".join(kept) + b"</dataValidations>"
        if block is not None:
            self.xml = self.xml[: block.start()] + new + self.xml[block.end() :]
        else:
            self.xml = insert_in_order(self.xml, "dataValidations", new, AFTER_SHEET_DATA)
        self.changed = True

    def _set_validations(self, block: re.Match[bytes] | None, rules: list[bytes]) -> None:
        new = b'<dataValidations count="%d">' % len(rules) + b"".join(rules)
        new += b"</dataValidations>"
        if block is not None:
            self.xml = self.xml[: block.start()] + new + self.xml[block.end() :]
        else:
            self.xml = insert_in_order(self.xml, "dataValidations", new, AFTER_SHEET_DATA)
        self.changed = True

    def input_messages(
        self, columns: list[int], text: str, score: int | None = None, line: str | None = None
    ) -> None:
        """A message shown on selecting a cell of an agent column (a validation of type
        "none": nothing refused, so a pass never fights a person), saying the agent
        writes it. The agent's are known by their title and type, one per column however
        LibreOffice merged them; a person's own validation on a column stands. With a
        `line` (a tab whose comments are a person's: no header note of the agent's), the
        score column's message begins with the freshness line; "" keeps the line it has."""
        block = _DV_BLOCK.search(self.xml)
        rules = [m[0] for m in _DV.finditer(block[0])] if block else []
        ours, wanted = [], []
        for rule in rules:
            element = _element(rule)
            if element is not None and (element.get("promptTitle"), element.get("type")) == (
                "health-agent",
                "none",
            ):
                ours.append(rule)
        theirs = [r for r in rules if r not in ours and b'promptTitle="health-agent"' not in r]
        for column in columns:
            letter = column_letters(column)
            sqref = f"{letter}2:{letter}{LAST_ROW}".encode()
            if any(_same_column(_sqref(r), sqref) for r in theirs):
                continue
            said = text
            if column == score and line is not None:
                said = f"{line}\n{text}" if line else _kept_line(ours, sqref, text)
            prompt = escape(said).replace('"', "&quot;").replace("\n", "&#10;")
            wanted.append(
                (
                    '<dataValidation type="none" allowBlank="1" showInputMessage="1" '
                    f'promptTitle="health-agent" prompt="{prompt}" sqref="{sqref.decode()}"/>'
                ).encode()
            )
        if sorted(ours) == sorted(wanted):
            return
        self._set_validations(block, [r for r in rules if r not in ours] + wanted)

    def autofilter(self, last_column: int) -> None:
        """An autofilter on the header, over every column to the last one the agent knows;
        a filter of a person's (any other range) stays as it is."""
        ref = f"A1:{column_letters(last_column)}{LAST_ROW}".encode()
        wanted = b'<autoFilter ref="' + ref + b'"/>'
        found = re.search(rb"<autoFilter\b[^>]*?(?:/>|>.*?</autoFilter>)", self.xml, re.S)
        if found is not None:
            ours = re.fullmatch(rb'<autoFilter ref="A1:[A-Z]{1,3}1048576"/>', found[0])
            if found[0] == wanted or ours is None:
                return
            self.xml = self.xml[: found.start()] + wanted + self.xml[found.end() :]
        else:
            self.xml = insert_in_order(self.xml, "autoFilter", wanted, AFTER_SHEET_DATA)
        self.changed = True

    def freeze_header(self, key: int | None = None) -> None:
        """Freeze the header row and the columns up to the key's (1-based `key`), unless
        the sheet has a pane of its own; the header-only pane the agent made before is
        widened to the key."""
        if key is not None and key >= 1:
            right = column_letters(key + 1)
            pane = (
                f'<pane xSplit="{key}" ySplit="1" topLeftCell="{right}2" '
                'activePane="bottomRight" state="frozen"/>'
            ).encode()
        else:
            pane = _HEADER_PANE
        found = re.search(rb"<pane\b[^>]*/>", self.xml)
        if found is not None and _header_only(found[0]) and pane != _HEADER_PANE:
            self.xml = self.xml[: found.start()] + pane + self.xml[found.end() :]
            self.changed = True
            return
        if re.search(rb"<pane\b", self.xml):
            return
        view = re.search(rb"<sheetView\b[^>]*?(/?)>", self.xml)
        if view is not None:
            if view[1]:  # <sheetView .../>: open it
                head = view[0][:-2] + b">"
                element = head + pane + b"</sheetView>"
                self.xml = self.xml[: view.start()] + element + self.xml[view.end() :]
            else:
                self.xml = self.xml[: view.end()] + pane + self.xml[view.end() :]
        else:
            views = b'<sheetViews><sheetView workbookViewId="0">' + pane
            views += b"</sheetView></sheetViews>"
            after = re.search(rb"<dimension\b[^>]*/>|<sheetPr\b.*?(?:</sheetPr>|/>)", self.xml)
            if after is None:
                after = re.search(rb"<worksheet\b[^>]*>", self.xml)
            assert after is not None
            self.xml = self.xml[: after.end()] + views + self.xml[after.end() :]
        self.changed = True


def _kept_line(ours: list[bytes], sqref: bytes, text: str) -> str:
    """The score column's message as the agent left it, when it holds a freshness line
    before `text`; else `text`."""
    for rule in ours:
        element = _element(rule)
        refs = (_sqref(rule) or b"").split()
        if element is not None and any(_same_column(ref, sqref) for ref in refs):
            prompt = element.get("prompt") or ""
            if prompt.endswith("\n" + text):
                return prompt
    return text


def _formula1(element: ET.Element) -> str | None:
    found = [e.text for e in element if _local(e.tag) == "formula1"]
    return found[0] if found else None


def _same_column(found: bytes | None, wanted: bytes) -> bool:
    """Whether a range is the agent's column range `wanted` (X2:X1048576), to whatever row
    it ends: LibreOffice saves a dropdown's range cut to the rows in use (X2:X1005)."""
    if found is None:
        return False
    if found == wanted:
        return True
    head = wanted[: wanted.index(b":") + 1]
    letters = head[: len(head.rstrip(b"0123456789:"))]
    return bool(re.fullmatch(re.escape(head + letters) + rb"\d+", found))


def _sqref(xml: bytes) -> bytes | None:
    head = xml[: xml.find(b">") + 1]
    found = _SQREF.search(head)
    return found[1] if found else None


def _insert_style_block(styles: bytes, block: bytes) -> bytes:
    later = _STYLE_ORDER[_STYLE_ORDER.index("dxfs") + 1 :]
    positions = [
        m.start() for tag in later if (m := re.search(rb"<" + tag.encode() + rb"[\s/>]", styles))
    ]
    at = min(positions) if positions else styles.rfind(b"</styleSheet>")
    return styles[:at] + block + styles[at:]


def apply_formatting(
    xml: bytes,
    styles: bytes | None,
    columns: dict[str, int],
    formatting: Formatting,
    score_line: str | None = None,
) -> SheetFormat:
    """The worksheet with the agent's formatting brought up to date; `score_line` is the
    freshness line for the score column's input message (see `input_messages`)."""
    formatter = Formatter(xml, styles)
    status = columns.get(formatting.status_column)
    if status is not None:
        formatter.status_rules(status, formatting)
    score = columns.get(formatting.score_column)
    if score is not None and formatting.score_scale is not None:
        formatter.score_rules(score, formatting.score_scale)
    for column, allowed in formatting.dropdowns:
        col = columns.get(column)
        if col is not None and allowed:
            formatter.dropdown(col, allowed)
    if formatting.agent_note:
        owned = [columns[n] for n in dict.fromkeys(formatting.agent_columns) if n in columns]
        formatter.input_messages(
            owned, formatting.agent_note, columns.get(formatting.score_column), score_line
        )
    formatter.autofilter(max(columns.values(), default=1))
    formatter.freeze_header(columns.get(formatting.key_column or ""))
    looked, styles_looked = apply_look(formatter.xml, formatter.styles, columns, formatting)
    if looked != formatter.xml or styles_looked is not None:
        formatter.xml = looked
        formatter.changed = True
    if styles_looked is not None:
        formatter.styles, formatter.styles_changed = styles_looked, True
    styles_out = formatter.styles if formatter.styles_changed else None
    return SheetFormat(formatter.xml, styles_out, formatter.changed)
