"""A local emulator of the Google Sheets API v4, served over real HTTP on 127.0.0.1.

The real gspread and google-auth code talks to it: a token endpoint that verifies the
service account's RS256 JWT, the spreadsheets and values endpoints the agent uses with
Google's response shapes, every body checked against Google's discovery document, 403
for a spreadsheet not shared with the caller, grid limits, fault injection, hooks that
let a test edit the sheet between two calls (a CSM at work), and counters of calls and
bytes. Tests only; nothing here talks to Google.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.emulator.schema import Invalid, validate_body, validate_query

GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
MAX_BODY = 10 * 1024 * 1024  # Google refuses larger bodies; we record sizes for the 2 MB rule

Value = str | int | float | bool


@dataclass
class Tab:
    """One sheet (tab) of a spreadsheet: its grid of values and its formatting."""

    sheet_id: int
    title: str
    rows: list[list[Value]] = field(default_factory=list)
    row_count: int = 1000
    column_count: int = 26
    frozen_rows: int = 0
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)

    def cell(self, row: int, col: int) -> Value | None:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def set(self, row: int, col: int, value: Value | None) -> None:
        while len(self.rows) <= row:
            self.rows.append([])
        line = self.rows[row]
        while len(line) <= col:
            line.append("")
        line[col] = "" if value is None else value


@dataclass
class Spreadsheet:
    """A spreadsheet, its tabs, and the service accounts it is shared with."""

    spreadsheet_id: str
    title: str
    tabs: list[Tab]
    shared_with: set[str]

    def tab(self, title: str) -> Tab | None:
        return next((t for t in self.tabs if t.title == title), None)


@dataclass
class Fault:
    """What the next API call gets instead of its answer."""

    status: int | None = None  # 429, 500, 503...
    reset: bool = False  # close the connection without answering
    delay: float = 0.0  # answer, but late


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
FAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
    "minute per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}


# --- A1 notation ------------------------------------------------------------------------

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letters(index: int) -> str:
    index += 1
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def quote_title(title: str) -> str:
    """How Google writes a tab name in a range: quoted unless plain letters and digits."""
    if re.fullmatch(r"[A-Za-z0-9_]+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass
class GridRange:
    tab: Tab
    row0: int
    col0: int
    row1: int  # exclusive
    col1: int  # exclusive

    def a1(self) -> str:
        start = f"{column_letters(self.col0)}{self.row0 + 1}"
        end = f"{column_letters(self.col1 - 1)}{self.row1}"
        return f"{quote_title(self.tab.title)}!{start}" + ("" if start == end else f":{end}")


def parse_range(book: Spreadsheet, text: str) -> GridRange:
    """'Tab'!A1:D4, Tab!A:A, Tab!2:2, Tab, A1:B2 (first tab)."""
    bad = ApiError(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
    if "!" in text:
        name, cells = text.rsplit("!", 1)
    elif book.tab(text.strip("'").replace("''", "'")) is not None:
        name, cells = text, ""
    else:
        name, cells = quote_title(book.tabs[0].title), text
    if name.startswith("'") and name.endswith("'"):
        name = name[1:-1].replace("''", "'")
    tab = book.tab(name)
    if tab is None:
        raise bad
    if not cells:
        return GridRange(tab, 0, 0, tab.row_count, tab.column_count)
    parts = cells.split(":")
    if len(parts) > 2:
        raise bad
    first = _CELL.match(parts[0])
    last = _CELL.match(parts[-1])
    if first is None or last is None or not (parts[0] and parts[-1]):
        raise bad
    c0 = column_index(first.group(1)) if first.group(1) else 0
    r0 = int(first.group(2)) - 1 if first.group(2) else 0
    c1 = column_index(last.group(1)) + 1 if last.group(1) else tab.column_count
    r1 = int(last.group(2)) if last.group(2) else tab.row_count
    if len(parts) == 1 and first.group(1) and first.group(2):
        c1, r1 = c0 + 1, r0 + 1
    return GridRange(tab, r0, c0, r1, c1)


# --- the emulator ------------------------------------------------------------------------


class SheetsEmulator:
    """The state of the emulated service, and the HTTP server that exposes it."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.accounts: dict[str, rsa.RSAPublicKey] = {}
        self.tokens: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.hooks: list[Callable[[str, SheetsEmulator], None]] = []
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, int]] = []  # (kind, bytes) of every API request
        self.requests: list[tuple[str, str, Any]] = []  # (kind, path, body)
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # set-up ------------------------------------------------------------------------------

    def add_service_account(self, email: str, public_key: rsa.RSAPublicKey) -> None:
        self.accounts[email] = public_key

    def add_spreadsheet(
        self,
        spreadsheet_id: str,
        tabs: dict[str, list[list[Value]]],
        shared_with: set[str] | None = None,
        title: str = "Comptes clients",
        column_count: int = 26,
        row_count: int = 1000,
    ) -> Spreadsheet:
        book = Spreadsheet(spreadsheet_id, title, [], set(shared_with or ()))
        for i, (name, rows) in enumerate(tabs.items()):
            book.tabs.append(
                Tab(
                    0 if i == 0 else next(self._ids),
                    name,
                    [list(r) for r in rows],
                    row_count=max(row_count, len(rows) + 1),
                    column_count=max(column_count, max((len(r) for r in rows), default=0)),
                )
            )
        self.spreadsheets[spreadsheet_id] = book
        return book

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def reset_counters(self) -> None:
        with self.lock:
            self.calls.clear()
            self.bodies.clear()
            self.requests.clear()

    def api_calls(self) -> int:
        return sum(n for kind, n in self.calls.items() if kind != "token")

    def bytes_sent(self) -> int:
        return sum(size for _, size in self.bodies)

    # serving -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SheetsEmulator:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> SheetsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # token -------------------------------------------------------------------------------

    def issue_token(self, form: dict[str, list[str]]) -> dict[str, Any]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            raise ApiError(400, "unsupported_grant_type", "invalid_request")
        assertion = (form.get("assertion") or [""])[0]
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
            signature = _b64(sig_b64)
        except (ValueError, json.JSONDecodeError):
            raise ApiError(400, "Invalid JWT.", "invalid_grant") from None
        key = self.accounts.get(claims.get("iss", ""))
        if header.get("alg") != "RS256" or key is None:
            raise ApiError(400, "Invalid JWT Signature.", "invalid_grant")
        try:
            key.verify(
                signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise ApiError(400, "Invalid JWT Signature.", "invalid_grant") from None
        if claims.get("aud") != GOOGLE_TOKEN_AUD:
            raise ApiError(400, "Invalid JWT: audience.", "invalid_grant")
        if int(claims.get("exp", 0)) < time.time():
            raise ApiError(400, "Invalid JWT: Token must be a short-lived token.", "invalid_grant")
        if claims.get("scope") != SCOPE:
            raise ApiError(400, f"Invalid scope: {claims.get('scope')}", "invalid_scope")
        token = "ya29.emulated-" + base64.urlsafe_b64encode(
            struct.pack(">QQ", next(self._ids), int(time.time() * 1e6))
        ).decode().rstrip("=")
        self.tokens[token] = claims["iss"]
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    # the API -------------------------------------------------------------------------------

    def book_for(self, spreadsheet_id: str, token: str | None) -> Spreadsheet:
        email = self.tokens.get(token or "")
        if email is None:
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth "
                "2 access token, login cookie or other valid authentication "
                "credential.",
                "UNAUTHENTICATED",
            )
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if email not in book.shared_with:
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        return book

    def metadata(self, book: Spreadsheet) -> dict[str, Any]:
        sheets = []
        for i, tab in enumerate(book.tabs):
            grid: dict[str, Any] = {"rowCount": tab.row_count, "columnCount": tab.column_count}
            if tab.frozen_rows:
                grid["frozenRowCount"] = tab.frozen_rows
            sheet: dict[str, Any] = {
                "properties": {
                    "sheetId": tab.sheet_id,
                    "title": tab.title,
                    "index": i,
                    "sheetType": "GRID",
                    "gridProperties": grid,
                }
            }
            if tab.conditional_formats:
                sheet["conditionalFormats"] = json.loads(json.dumps(tab.conditional_formats))
            if tab.protected_ranges:
                sheet["protectedRanges"] = json.loads(json.dumps(tab.protected_ranges))
            sheets.append(sheet)
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {
                "title": book.title,
                "locale": "fr_FR",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Europe/Paris",
            },
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    def read_range(self, book: Spreadsheet, text: str, render: str) -> dict[str, Any]:
        grid = parse_range(book, text)
        tab = grid.tab
        rows: list[list[Any]] = []
        for r in range(grid.row0, min(grid.row1, len(tab.rows))):
            line = tab.rows[r][grid.col0 : grid.col1]
            out = [_render(v, render) for v in line]
            while out and out[-1] == "":
                out.pop()
            rows.append(out)
        while rows and not rows[-1]:
            rows.pop()
        shown = GridRange(
            tab,
            grid.row0,
            grid.col0,
            min(grid.row1, tab.row_count),
            min(grid.col1, tab.column_count),
        )
        answer: dict[str, Any] = {"range": shown.a1(), "majorDimension": "ROWS"}
        if rows:
            answer["values"] = rows
        return answer

    def write_range(
        self, book: Spreadsheet, text: str, values: list[list[Any]], option: str
    ) -> dict[str, Any]:
        grid = parse_range(book, text)
        tab = grid.tab
        height = len(values)
        width = max((len(r) for r in values), default=0)
        if grid.row0 + height > tab.row_count or grid.col0 + width > tab.column_count:
            raise ApiError(
                400,
                f"Range ({text}) exceeds grid limits. Max rows: "
                f"{tab.row_count}, max columns: {tab.column_count}",
                "INVALID_ARGUMENT",
            )
        cells = 0
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue
                tab.set(grid.row0 + i, grid.col0 + j, _input(value, option))
                cells += 1
        updated = GridRange(
            tab, grid.row0, grid.col0, grid.row0 + max(height, 1), grid.col0 + max(width, 1)
        )
        return {
            "spreadsheetId": book.spreadsheet_id,
            "updatedRange": updated.a1(),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": cells,
        }

    def batch_update(self, book: Spreadsheet, requests: list[dict[str, Any]]) -> list[Any]:
        replies: list[Any] = []
        for request in requests:
            [(kind, body)] = request.items()
            replies.append(self._apply(book, kind, body))
        return replies

    def _tab_by_id(self, book: Spreadsheet, sheet_id: int) -> Tab:
        tab = next((t for t in book.tabs if t.sheet_id == int(sheet_id)), None)
        if tab is None:
            raise ApiError(400, f"No grid with id: {sheet_id}", "INVALID_ARGUMENT")
        return tab

    def _apply(self, book: Spreadsheet, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "addSheet":
            props = body.get("properties", {})
            title = props.get("title") or f"Sheet{len(book.tabs) + 1}"
            if book.tab(title):
                raise ApiError(
                    400,
                    f"Invalid requests[0].addSheet: A sheet with the name "
                    f'"{title}" already exists. Please enter another name.',
                    "INVALID_ARGUMENT",
                )
            grid = props.get("gridProperties", {})
            tab = Tab(
                next(self._ids),
                title,
                row_count=grid.get("rowCount", 1000),
                column_count=grid.get("columnCount", 26),
                frozen_rows=grid.get("frozenRowCount", 0),
            )
            book.tabs.append(tab)
            return {
                "addSheet": {
                    "properties": {
                        "sheetId": tab.sheet_id,
                        "title": tab.title,
                        "index": len(book.tabs) - 1,
                        "sheetType": "GRID",
                        "gridProperties": {
                            "rowCount": tab.row_count,
                            "columnCount": tab.column_count,
                        },
                    }
                }
            }
        if kind == "updateSheetProperties":
            props = body["properties"]
            tab = self._tab_by_id(book, props.get("sheetId", 0))
            grid = props.get("gridProperties", {})
            if "frozenRowCount" in grid:
                tab.frozen_rows = int(grid["frozenRowCount"])
            if "title" in props:
                tab.title = props["title"]
            return {}
        if kind == "appendDimension":
            tab = self._tab_by_id(book, body["sheetId"])
            if body["dimension"] == "COLUMNS":
                tab.column_count += int(body["length"])
            else:
                tab.row_count += int(body["length"])
            return {}
        if kind in ("insertDimension", "deleteDimension"):
            rng = body["range"]
            tab = self._tab_by_id(book, rng["sheetId"])
            start, end = int(rng["startIndex"]), int(rng["endIndex"])
            if rng["dimension"] == "ROWS":
                if kind == "insertDimension":
                    for _ in range(end - start):
                        tab.rows.insert(min(start, len(tab.rows)), [])
                    tab.row_count += end - start
                else:
                    del tab.rows[start:end]
                    tab.row_count -= end - start
            return {}
        if kind == "addConditionalFormatRule":
            rule = body["rule"]
            for rng in rule.get("ranges", []):
                self._tab_by_id(book, rng.get("sheetId", 0))
            tab = self._tab_by_id(book, rule["ranges"][0].get("sheetId", 0))
            index = int(body.get("index", len(tab.conditional_formats)))
            tab.conditional_formats.insert(index, rule)
            return {}
        if kind == "deleteConditionalFormatRule":
            tab = self._tab_by_id(book, body["sheetId"])
            index = int(body["index"])
            if index >= len(tab.conditional_formats):
                raise ApiError(
                    400,
                    f"Invalid requests[0].deleteConditionalFormatRule: No "
                    f"conditional format on sheet: {tab.sheet_id} at index: {index}",
                    "INVALID_ARGUMENT",
                )
            return {"deleteConditionalFormatRule": {"rule": tab.conditional_formats.pop(index)}}
        if kind == "setDataValidation":
            rng = body["range"]
            tab = self._tab_by_id(book, rng.get("sheetId", 0))
            tab.validations = [v for v in tab.validations if v["range"] != rng]
            if body.get("rule"):
                tab.validations.append({"range": rng, "rule": body["rule"]})
            return {}
        if kind == "addProtectedRange":
            protected = dict(body["protectedRange"])
            tab = self._tab_by_id(book, protected["range"].get("sheetId", 0))
            protected["protectedRangeId"] = next(self._ids)
            tab.protected_ranges.append(protected)
            return {"addProtectedRange": {"protectedRange": protected}}
        if kind == "deleteProtectedRange":
            for tab in book.tabs:
                tab.protected_ranges = [
                    p
                    for p in tab.protected_ranges
                    if p["protectedRangeId"] != int(body["protectedRangeId"])
                ]
            return {}
        raise ApiError(
            400, f"Request kind {kind} is not supported by the emulator", "INVALID_ARGUMENT"
        )


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _render(value: Value, render: str) -> Any:
    if render == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return value


def _input(value: Any, option: str) -> Value:
    if option == "USER_ENTERED" and isinstance(value, str):
        try:
            return float(value.replace(",", ".")) if value.strip() else value
        except ValueError:
            return value  # formulas would be evaluated by Google; kept as text here
    return value


# --- HTTP --------------------------------------------------------------------------------

_API = re.compile(r"^/v4/spreadsheets/([^/:]+)(.*)$")


class _Handler(BaseHTTPRequestHandler):
    owner: SheetsEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # quiet

    def _send(self, code: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, error: ApiError) -> None:
        if error.status in ("invalid_grant", "invalid_request", "invalid_scope"):
            self._send(error.code, {"error": error.status, "error_description": error.message})
            return
        self._send(
            error.code,
            {"error": {"code": error.code, "message": error.message, "status": error.status}},
        )

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP reset: what a dropped connection looks like
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        emu = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._error(
                ApiError(
                    413,
                    "Request payload size exceeds the limit: 10485760 bytes.",
                    "INVALID_ARGUMENT",
                )
            )
            return
        raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/token":
            with emu.lock:
                emu.calls["token"] += 1
            try:
                self._send(200, emu.issue_token(urllib.parse.parse_qs(raw.decode())))
            except ApiError as exc:
                self._error(exc)
            return
        match = _API.match(urllib.parse.unquote(url.path))
        if match is None:
            self._error(ApiError(404, "Not found", "NOT_FOUND"))
            return
        spreadsheet_id, rest = match.group(1), match.group(2)
        kind = _kind(method, rest)
        for hook in list(emu.hooks):
            hook(kind, emu)
        with emu.lock:
            emu.calls[kind] += 1
            emu.bodies.append((kind, length))
            fault = emu.faults.pop(0) if emu.faults else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                self._reset()
                return
            if fault.status:
                self._error(
                    ApiError(
                        fault.status,
                        FAULT_MESSAGES.get(fault.status, "Error"),
                        STATUS_NAMES.get(fault.status, "UNKNOWN"),
                    )
                )
                return
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            self._error(ApiError(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"))
            return
        with emu.lock:
            emu.requests.append((kind, rest, body))
            try:
                book = emu.book_for(spreadsheet_id, token)
                self._send(200, self._route(book, method, rest, query, body))
            except Invalid as exc:
                self._error(ApiError(400, str(exc), "INVALID_ARGUMENT"))
            except ApiError as exc:
                self._error(exc)

    def _route(
        self, book: Spreadsheet, method: str, rest: str, query: dict[str, list[str]], body: Any
    ) -> Any:
        emu = self.owner

        def one(name: str, default: str) -> str:
            return (query.get(name) or [default])[0]

        if method == "GET" and rest == "":
            validate_query("get", query)
            return emu.metadata(book)
        if method == "POST" and rest == ":batchUpdate":
            validate_query("batchUpdate", query)
            validate_body("BatchUpdateSpreadsheetRequest", body)
            replies = emu.batch_update(book, body.get("requests", []))
            return {"spreadsheetId": book.spreadsheet_id, "replies": replies}
        if method == "GET" and rest == "/values:batchGet":
            validate_query("values.batchGet", query)
            render = one("valueRenderOption", "FORMATTED_VALUE")
            return {
                "spreadsheetId": book.spreadsheet_id,
                "valueRanges": [emu.read_range(book, r, render) for r in query.get("ranges", [])],
            }
        if method == "POST" and rest == "/values:batchUpdate":
            validate_query("values.batchUpdate", query)
            validate_body("BatchUpdateValuesRequest", body)
            option = body.get("valueInputOption")
            if option not in ("RAW", "USER_ENTERED"):
                raise ApiError(
                    400,
                    "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED",
                    "INVALID_ARGUMENT",
                )
            responses = [
                emu.write_range(book, d["range"], d.get("values", []), option)
                for d in body.get("data", [])
            ]
            return {
                "spreadsheetId": book.spreadsheet_id,
                "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in responses}),
                "responses": responses,
            }
        if rest.startswith("/values/"):
            target = rest[len("/values/") :]
            if method == "GET":
                validate_query("values.get", query)
                return emu.read_range(book, target, one("valueRenderOption", "FORMATTED_VALUE"))
            if method == "PUT":
                validate_query("values.update", query)
                validate_body("ValueRange", body)
                return emu.write_range(
                    book, target, body.get("values", []), one("valueInputOption", "RAW")
                )
            if method == "POST" and target.endswith(":clear"):
                validate_query("values.clear", query)
                grid = parse_range(book, target[: -len(":clear")])
                for r in range(grid.row0, min(grid.row1, len(grid.tab.rows))):
                    for c in range(grid.col0, min(grid.col1, len(grid.tab.rows[r]))):
                        grid.tab.rows[r][c] = ""
                return {"spreadsheetId": book.spreadsheet_id, "clearedRange": grid.a1()}
            if method == "POST" and target.endswith(":append"):
                validate_query("values.append", query)
                validate_body("ValueRange", body)
                grid = parse_range(book, target[: -len(":append")])
                start = len(grid.tab.rows)
                while start and not any(v != "" for v in grid.tab.rows[start - 1]):
                    start -= 1
                a1 = f"{quote_title(grid.tab.title)}!{column_letters(grid.col0)}{start + 1}"
                updates = emu.write_range(
                    book, a1, body.get("values", []), one("valueInputOption", "RAW")
                )
                return {"spreadsheetId": book.spreadsheet_id, "updates": updates}
        raise ApiError(404, "Method not found.", "NOT_FOUND")


def _kind(method: str, rest: str) -> str:
    if rest == "":
        return "metadata"
    if rest == ":batchUpdate":
        return "format"
    if method == "GET":
        return "read"
    return "write"


def new_service_account_key(email: str, token_uri: str) -> tuple[dict[str, Any], rsa.RSAPrivateKey]:
    """A service-account JSON key like Google's, with a fresh RSA key (never committed)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "health-agent-tests",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    return info, key
