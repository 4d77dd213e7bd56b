"""The notes on the agent columns' headers in a workbook, as real cell comments: that the
agent writes the column, and on the score's header how fresh the scores are ("Scores du
07/12 à 09:41 · prochain passage 09:51"), as Google's (`google/look.py`).

A cell comment is three things: a comments part (the texts), a VML drawing (where each
note's box is: Excel shows no note without it) and the worksheet's `<legacyDrawing>`
pointing at the drawing, with their relationships and content types. The agent adds them
when the accounts tab has no comments, and rewrites them while every comment in them is
one of its notes. A tab with a person's comments keeps their parts byte for byte (the
agent's notes are then the input message each agent cell shows,
`xlsx_format.Formatter.input_messages`); once a person comments a tab that has the
agent's notes, only the texts of the agent's notes change in the part they share.

The freshness line is written only by a pass that writes the file anyway: a pass with
nothing to write keeps the line it finds.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.labels import AGENT_NOTE
from agent.plan import Formatting
from agent.stores.xlsx_cells import column_letters, escape, unescape
from agent.stores.xlsx_format import AFTER_SHEET_DATA, insert_in_order
from agent.stores.xlsx_package import Package

AUTHOR = "health-agent"
_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_COMMENTS_TYPE = _RELS_NS + "/comments"
_VML_TYPE = _RELS_NS + "/vmlDrawing"
_COMMENTS_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_CONTENT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*?/>")
_COMMENT = re.compile(rb"<comment\b([^>]*)>(.*?)</comment>", re.S)
_TEXT = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_LEGACY = re.compile(rb"<legacyDrawing\b[^>]*/>")


def _attr(element: bytes, name: bytes) -> str | None:
    found = re.search(rb"\s" + name + rb'="([^"]*)"', element)
    return found[1].decode() if found else None


@dataclass
class HeaderNotes:
    """The worksheet with its `<legacyDrawing>`, and the other parts the notes change."""

    xml: bytes
    parts: dict[str, bytes] = field(default_factory=dict)


def _target(sheet_part: str, relation: bytes) -> str:
    target = _attr(relation, b"Target") or ""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(sheet_part), target))


def _text(inner: bytes) -> str:
    return "".join(unescape(t[1] or b"") for t in _TEXT.finditer(inner))


def _is_note(text: str) -> bool:
    return any(text == note or text.endswith("\n" + note) for note in AGENT_NOTE.values())


def agents_comments(comments: bytes, headers: set[str]) -> tuple[dict[str, re.Match[bytes]], bool]:
    """The agent's notes in a comments part, by cell (`J1`), and whether a person's
    comment is there too. A note is known by its place and its words (an agent header,
    the agent's sentence last), not by its author: LibreOffice saves every author blank."""
    ours: dict[str, re.Match[bytes]] = {}
    theirs = False
    for comment in _COMMENT.finditer(comments):
        ref = _attr(comment[1], b"ref") or ""
        if ref in headers and ref not in ours and _is_note(_text(comment[2])):
            ours[ref] = comment
        else:
            theirs = True
    return ours, theirs


def _spliced(comments: bytes, ours: dict[str, re.Match[bytes]], notes: dict[str, str]) -> bytes:
    """A comments part shared with a person's: only the agent's notes' texts replaced,
    every other byte kept."""
    changes = sorted(
        (m.start(2), m.end(2), notes[ref])
        for ref, m in ours.items()
        if ref in notes and _text(m[2]) != notes[ref]
    )
    for start, end, text in reversed(changes):
        inner = f'<text><t xml:space="preserve">{escape(text)}</t></text>'.encode()
        comments = comments[:start] + inner + comments[end:]
    return comments


def comments_xml(notes: dict[str, str]) -> bytes:
    """A comments part holding `notes` (cell -> text), all by the agent."""
    items = "".join(
        f'<comment ref="{ref}" authorId="0"><text><t xml:space="preserve">{escape(text)}'
        "</t></text></comment>"
        for ref, text in notes.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<comments xmlns="{_MAIN_NS}"><authors><author>{AUTHOR}</author></authors>'
        f"<commentList>{items}</commentList></comments>"
    ).encode()


def vml_xml(notes: dict[str, str], columns_of: dict[str, int]) -> bytes:
    """The VML drawing of the notes' boxes: hidden until the cell is pointed at, right of
    their cell, as Excel draws a new note."""
    shapes = []
    for i, ref in enumerate(notes):
        column = columns_of[ref] - 1  # 0-based in VML
        shapes.append(
            f'<v:shape id="_x0000_s{1025 + i}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:180pt;'
            f'height:60pt;z-index:{i + 1};visibility:hidden" fillcolor="#ffffe1" '
            'o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
            '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{column + 1}, 15, 0, 2, {column + 4}, 15, 4, 16</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>0</x:Row><x:Column>{column}</x:Column>"
            "</x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes)
        + "</xml>"
    ).encode()


def wanted_notes(
    columns: dict[str, int], formatting: Formatting, line: str, before: dict[str, str]
) -> dict[str, str]:
    """Each agent column's header note; the score's begins with the freshness `line`, or
    keeps the line it had when there is none to write."""
    notes: dict[str, str] = {}
    note = formatting.agent_note
    for name in dict.fromkeys(formatting.agent_columns):
        if name not in columns:
            continue
        ref = f"{column_letters(columns[name])}1"
        text = note
        if name == formatting.score_column:
            kept = before.get(ref, "")
            if line:
                text = f"{line}\n{note}"
            elif kept.endswith("\n" + note):
                text = kept
        notes[ref] = text
    return notes


def _comments_relation(
    package: Package, current: Callable[[str], bytes | None], sheet_part: str
) -> tuple[bytes | None, list[bytes], bytes | None]:
    """The tab's relationships part, its relationships, and the one to its comments."""
    rels = current(package.rels_part(sheet_part))
    relations = [m[0] for m in _RELATIONSHIP.finditer(rels or b"")]
    comments_rel = next((r for r in relations if _attr(r, b"Type") == _COMMENTS_TYPE), None)
    return rels, relations, comments_rel


def header_refs(columns: dict[str, int], formatting: Formatting) -> set[str]:
    return {f"{column_letters(columns[n])}1" for n in formatting.agent_columns if n in columns}


def notes_are_comments(
    package: Package,
    current: Callable[[str], bytes | None],
    sheet_part: str,
    xml: bytes,
    headers: set[str],
) -> bool:
    """Whether the header notes can be comments: the tab has none yet, or the agent's
    notes are among them. Else (a person's comments only) they are the input messages."""
    _, _, comments_rel = _comments_relation(package, current, sheet_part)
    legacy = _LEGACY.search(xml)
    if comments_rel is None:
        return legacy is None
    if legacy is None:
        return False
    ours, theirs = agents_comments(current(_target(sheet_part, comments_rel)) or b"", headers)
    return bool(ours) or not theirs


def header_notes(
    package: Package,
    current: Callable[[str], bytes | None],
    sheet_part: str,
    xml: bytes,
    columns: dict[str, int],
    formatting: Formatting,
    line: str,
) -> HeaderNotes | None:
    """The parts that bring the header notes up to date, or None when they are (or when
    the comments of the tab are a person's). `current(part)` is a part as this write
    leaves it so far (None when absent): the content types may change for the history
    tab too."""
    if not formatting.agent_note:
        return None
    rels, relations, comments_rel = _comments_relation(package, current, sheet_part)
    legacy = _LEGACY.search(xml)
    headers = header_refs(columns, formatting)
    before: dict[str, str] = {}
    if comments_rel is not None:
        if legacy is None:
            return None
        comments_part = _target(sheet_part, comments_rel)
        comments = current(comments_part) or b""
        ours, theirs = agents_comments(comments, headers)
        before = {ref: _text(m[2]) for ref, m in ours.items()}
        if theirs:  # a person's comments: theirs untouched, the agent's texts kept fresh
            notes = wanted_notes(columns, formatting, line, before)
            spliced = _spliced(comments, ours, notes)
            return HeaderNotes(xml, {comments_part: spliced}) if spliced != comments else None
    elif legacy is not None:
        return None  # a drawing of a person's (form controls): left as it is
    notes = wanted_notes(columns, formatting, line, before)
    if not notes or notes == before:
        return None
    refs = {f"{column_letters(c)}1": c for c in columns.values()}
    if comments_rel is not None and legacy is not None:
        legacy_id = _attr(legacy[0], rb"\w+:id")
        vml_rel = next((r for r in relations if _attr(r, b"Id") == legacy_id), None)
        if vml_rel is None:
            return None
        return HeaderNotes(
            xml,
            {
                _target(sheet_part, comments_rel): comments_xml(notes),
                _target(sheet_part, vml_rel): vml_xml(notes, refs),
            },
        )
    return _added(package, current, sheet_part, xml, notes, refs, rels)


def _added(
    package: Package,
    current: Callable[[str], bytes | None],
    sheet_part: str,
    xml: bytes,
    notes: dict[str, str],
    refs: dict[str, int],
    rels: bytes | None,
) -> HeaderNotes:
    """The notes of a tab that had no comments: their parts, relationships and types."""
    folder = posixpath.dirname(package.workbook_part)
    stem = posixpath.splitext(posixpath.basename(sheet_part))[0]
    comments_part = posixpath.join(folder, f"comments/health-agent-{stem}.xml")
    vml_part = posixpath.join(folder, f"drawings/health-agent-{stem}.vml")
    rels = rels or (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="' + _PACKAGE_RELS_NS.encode() + b'"></Relationships>'
    )
    taken = set(re.findall(rb'\sId="([^"]*)"', rels))
    comments_id, vml_id = (_free_id(taken, b"rIdHealthAgent%d" % n) for n in (1, 2))
    sheet_dir = posixpath.dirname(sheet_part)
    added = (
        f'<Relationship Id="{comments_id}" Type="{_COMMENTS_TYPE}" '
        f'Target="{posixpath.relpath(comments_part, sheet_dir)}"/>'
        f'<Relationship Id="{vml_id}" Type="{_VML_TYPE}" '
        f'Target="{posixpath.relpath(vml_part, sheet_dir)}"/>'
    ).encode()
    rels = rels.replace(b"</Relationships>", added + b"</Relationships>")
    types = current("[Content_Types].xml") or b""
    types = types.replace(
        b"</Types>",
        (
            f'<Override PartName="/{comments_part}" ContentType="{_COMMENTS_CONTENT}"/>'
            f'<Override PartName="/{vml_part}" ContentType="{_VML_CONTENT}"/></Types>'
        ).encode(),
    )
    prefix = re.search(rb'xmlns:(\w+)="' + re.escape(_RELS_NS.encode()) + rb'"', xml[:2000])
    if prefix is not None:
        element = b"<legacyDrawing " + prefix[1] + b':id="' + vml_id.encode() + b'"/>'
    else:
        element = (
            b'<legacyDrawing xmlns:r="' + _RELS_NS.encode() + b'" r:id="' + vml_id.encode() + b'"/>'
        )
    xml = insert_in_order(xml, "legacyDrawing", element, AFTER_SHEET_DATA)
    return HeaderNotes(
        xml,
        {
            package.rels_part(sheet_part): rels,
            "[Content_Types].xml": types,
            comments_part: comments_xml(notes),
            vml_part: vml_xml(notes, refs),
        },
    )


def _free_id(taken: set[bytes], wanted: bytes) -> str:
    while wanted in taken:
        wanted += b"x"
    taken.add(wanted)
    return wanted.decode()
