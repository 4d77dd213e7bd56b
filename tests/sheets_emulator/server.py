"""A local emulator of the Google Sheets API v4, served over real HTTP on 127.0.0.1.

Real gspread and google-auth code talks to it: a token endpoint that verifies the
service account's RS256 JWT, the spreadsheets and values endpoints the agent uses with
Google's response shapes, every body and enum query parameter checked against Google's
discovery document, 401/403/404 like Google, fault injection, hooks that let a test
change the sheet between two calls (a CSM at work), and counters of calls and bytes.
Tests only: nothing here talks to Google.
"""

from __future__ import annotations

import base64
import copy
import gzip
import itertools
import json
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sheets_emulator import cell_updates, looks
from tests.sheets_emulator.grid import (
    EMPTY,
    ApiError,
    GridRange,
    Spreadsheet,
    Tab,
    Value,
    bad_request,
    column_letters,
    entered,
    format_kept,
    grid_data,
    parse_range,
    quote_title,
    rendered,
    trimmed,
)
from tests.sheets_emulator.schema import Invalid, validate_body, validate_query

GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"  # google-auth's JWT audience
SPREADSHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_BODY = 10 * 1024 * 1024  # Google refuses larger request bodies
GZIP_LEVEL = 1  # the emulator's own choice: fast; the bytes it counts are the ones it sends
MAX_CELLS = 10_000_000  # Google's limit on a spreadsheet's grid cells, all tabs together
KINDS = ("token", "metadata", "read", "write", "format")
UPDATABLE_SHEET_FIELDS = frozenset(
    {
        "*",
        "gridProperties",
        "gridProperties.frozenRowCount",
        "gridProperties.frozenColumnCount",
        "gridProperties.rowCount",
        "gridProperties.columnCount",
        "title",
    }
)
PROTECTED = (  # Google's refusal of an edit in a range the caller may not edit (gspread
    # issues quote it with status 400 INVALID_ARGUMENT)
    "You are trying to edit a protected cell or object. Please contact the spreadsheet "
    "owner to remove protection if you need to edit."
)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
# Google's messages for the statuses a test injects
MAX_CELL_CHARS = 50_000  # Google refuses a longer text in one cell ("Invalid data[4]: Your
# input contains more than the maximum of 50000 characters in a single cell.", a public log)

FAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
    "minute per user' of service 'sheets.googleapis.com' for consumer "
    "'project_number:000000000000'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
}
NO_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass
class Fault:
    """What a coming call gets instead of its answer.

    `status`: answer with Google's error body for this code (429, 500, 503...);
    `reset`: close the connection without a word; `delay`: seconds to wait first;
    `kinds`: only calls of these kinds take the fault (default: any API call, not token);
    `after`: the call is served first (its changes made), and only its answer is lost,
    as when a connection drops while Google answers; `message`: Google's words for a
    refusal with another cause than the usual one of its status (an API not enabled...).
    """

    status: int | None = None
    reset: bool = False
    delay: float = 0.0
    kinds: frozenset[str] | None = None
    after: bool = False
    message: str | None = None

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds if self.kinds is not None else kind != "token"


@dataclass
class Call:
    """One request as the emulator received it."""

    kind: str  # token, metadata, read, write, format
    method: str
    path: str  # unquoted path after /v4/spreadsheets/{id}, or /token
    query: dict[str, list[str]]
    raw: bytes  # the body as received
    size: int  # bytes of the body
    status: int = 0  # what the emulator answered (0: no answer, the connection was reset)

    @property
    def body(self) -> Any:
        """The body parsed, each time it is asked for: JSON (the form for /token), None when
        empty or not JSON. The record keeps bytes only, so a benchmark's process does not
        carry millions of parsed cells that Google would never put in the agent's memory."""
        if self.kind == "token":
            return urllib.parse.parse_qs(self.raw.decode("utf-8", "replace"))
        try:
            return json.loads(self.raw) if self.raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None


Hook = Callable[[Call, "SheetsEmulator"], None]


class SheetsEmulator:
    """The emulated Google service: its spreadsheets, accounts, tokens, faults and counters.

    Use as a context manager, or `start()`/`stop()`. `url` is the base URL to give the
    store; `/token` on it is the OAuth token endpoint.
    """

    def __init__(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.accounts: dict[str, rsa.RSAPublicKey] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expires at)
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self.calls: Counter[str] = Counter()
        self.requests: list[Call] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1_000_001, 7919)
        self.bounded_rule_ranges = False  # give rule ranges back with the grid's end row
        self.protection_makers: dict[int, str] = {}  # who added each protected range
        self.caller_email = ""  # the caller of the request being served
        # for benchmarks: time added to each call, and a bandwidth for its bodies
        self.latency_s = 0.0
        self.bandwidth_bytes_s = 0.0
        self.network_delay_s = 0.0  # the time those added, all calls together
        self.answered_bytes = 0  # bytes of the API's answers (token answers too)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # set-up -----------------------------------------------------------------------------------

    def add_service_account(self, email: str, public_key: rsa.RSAPublicKey) -> None:
        """Register a service account: its JWTs must verify against this public key."""
        self.accounts[email] = public_key

    def add_spreadsheet(
        self,
        spreadsheet_id: str,
        tabs: dict[str, list[list[Value]]],
        *,
        shared_with: set[str] | None = None,
        viewers: set[str] | None = None,
        title: str = "Comptes clients",
        row_count: int = 1000,
        column_count: int = 26,
        locale: str = "fr_FR",
    ) -> Spreadsheet:
        """A spreadsheet with these tabs (title -> rows, header first), shared as Editor with
        `shared_with`; grids are at least `row_count` x `column_count`, like a new sheet."""
        book = Spreadsheet(
            spreadsheet_id, title, [], set(shared_with or ()), set(viewers or ()), locale
        )
        for i, (name, rows) in enumerate(tabs.items()):
            width = max((len(r) for r in rows), default=0)
            book.tabs.append(
                Tab(
                    0 if i == 0 else next(self._ids),
                    name,
                    [list(r) for r in rows],
                    row_count=max(row_count, len(rows)),
                    column_count=max(column_count, width),
                )
            )
        self.spreadsheets[spreadsheet_id] = book
        return book

    def tab(self, spreadsheet_id: str, title: str) -> Tab:
        """A tab of a spreadsheet, for a test to look at or change (under `lock`)."""
        found = self.spreadsheets[spreadsheet_id].tab(title)
        if found is None:
            raise KeyError(title)
        return found

    # faults and hooks -----------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults: each is taken by the next call it applies to."""
        with self.lock:
            self.faults.extend(faults)

    def fail_next(self, n: int, status: int | None = None, *, reset: bool = False) -> None:
        """The next `n` API calls fail with `status` (or a connection reset)."""
        self.inject(*[Fault(status=status, reset=reset) for _ in range(n)])

    def before_call(self, callback: Hook) -> Callable[[], None]:
        """Run `callback(call, emulator)` before every call is served, holding `lock`.

        Returns a function that removes the hook.
        """
        with self.lock:
            self.hooks.append(callback)

        def remove() -> None:
            with self.lock:
                if callback in self.hooks:
                    self.hooks.remove(callback)

        return remove

    def between(
        self, first: str, then: str, action: Callable[[SheetsEmulator], None]
    ) -> Callable[[], bool]:
        """Run `action` once, after a `first`-kind call was served and before the next
        `then`-kind call is (e.g. between the agent's write and its re-read: "write",
        "read"); `first` may be "" for "before the next `then` call". Returns a function
        that tells whether the action ran."""
        state = {"armed": not first, "done": False}

        def hook(call: Call, emulator: SheetsEmulator) -> None:
            if state["done"]:
                return
            if state["armed"] and call.kind == then:
                state["done"] = True
                action(emulator)
                remove()
            elif call.kind == first:
                state["armed"] = True  # this one is served first; the next `then` fires

        remove = self.before_call(hook)
        return lambda: state["done"]

    def clear_hooks(self) -> None:
        with self.lock:
            self.hooks.clear()

    # counters ---------------------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Forget calls counted and requests recorded so far."""
        with self.lock:
            self.calls.clear()
            self.requests.clear()
            self.answered_bytes = 0

    def api_calls(self) -> int:
        """Calls to the Sheets API (token requests not counted)."""
        return sum(n for kind, n in self.calls.items() if kind != "token")

    def bodies(self, kind: str | None = None) -> list[Any]:
        """The parsed bodies of the recorded requests, of one kind or all."""
        return [c.body for c in self.requests if kind is None or c.kind == kind]

    def sizes(self, kind: str | None = None) -> list[int]:
        """Bytes received per recorded request, of one kind or all."""
        return [c.size for c in self.requests if kind is None or c.kind == kind]

    @property
    def max_body_size(self) -> int:
        """The largest request body received since the counters were reset."""
        return max(self.sizes(), default=0)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (the next call gets 401)."""
        with self.lock:
            self.tokens.clear()

    # serving ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 address, as bound in start()
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def start(self) -> SheetsEmulator:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="sheets-emulator",
            daemon=True,
            kwargs={"poll_interval": 0.05},
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SheetsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # OAuth token endpoint -----------------------------------------------------------------------

    def issue_token(self, form: dict[str, list[str]]) -> dict[str, Any]:
        """Verify a service account's JWT bearer assertion and issue an opaque access token."""

        def refuse(description: str, error: str = "invalid_grant") -> ApiError:
            return ApiError(400, description, error)

        if form.get("grant_type") != [JWT_BEARER]:
            raise refuse(
                "Invalid grant_type: " + ",".join(form.get("grant_type", [])),
                "unsupported_grant_type",
            )
        assertion = (form.get("assertion") or [""])[0]
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
            signature = _b64(sig_b64)
        except (ValueError, json.JSONDecodeError):
            raise refuse("Invalid JWT: Failed to parse the assertion.") from None
        key = self.accounts.get(str(claims.get("iss", "")))
        if header.get("alg") != "RS256" or key is None:
            raise refuse("Invalid JWT Signature.")
        try:
            key.verify(
                signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise refuse("Invalid JWT Signature.") from None
        if claims.get("aud") != GOOGLE_TOKEN_AUD:
            raise refuse("Invalid JWT: Failed audience check.")
        now = time.time()
        iat, exp = int(claims.get("iat", 0)), int(claims.get("exp", 0))
        if exp <= now or iat > now + 300 or exp - iat > 3600:
            raise refuse(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim."
            )
        scopes = str(claims.get("scope", "")).split()
        if not scopes or any(s != SPREADSHEETS_SCOPE for s in scopes):
            raise refuse(
                f"Invalid OAuth scope or ID token audience provided: {scopes}", "invalid_scope"
            )
        token = "ya29.emu-" + secrets.token_urlsafe(48)
        self.tokens[token] = (str(claims["iss"]), now + 3599)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    # the Sheets API -----------------------------------------------------------------------------

    def caller(self, authorization: str | None) -> str:
        """The service-account email behind an Authorization header, or 401."""
        if not authorization:
            raise ApiError(401, NO_CREDENTIALS, "UNAUTHENTICATED")
        token = authorization.removeprefix("Bearer ").strip()
        email, expires = self.tokens.get(token, ("", 0.0))
        if not email or expires < time.time():
            raise ApiError(401, FAULT_MESSAGES[401], "UNAUTHENTICATED")
        return email

    def book_for(self, spreadsheet_id: str, email: str, writing: bool) -> Spreadsheet:
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, FAULT_MESSAGES[404], "NOT_FOUND")
        allowed = book.editors if writing else book.editors | book.viewers
        if email not in allowed:
            raise ApiError(403, FAULT_MESSAGES[403], "PERMISSION_DENIED")
        return book

    def metadata(
        self,
        book: Spreadsheet,
        ranges: list[str],
        with_data: bool = False,
        mask: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """spreadsheets.get as Google shapes it; with grid data, each range's cells (values,
        formatted values and number formats) in its tab's `data`. With ranges, only the
        tabs they fall on (the discovery document: "The ranges to retrieve")."""
        grids = [parse_range(book, r)[0] for r in ranges]
        keep = cell_mask(mask)
        wanted = {g.tab.title for g in grids} if ranges else None
        sheets = []
        for i, tab in enumerate(book.tabs):
            if wanted is not None and tab.title not in wanted:
                continue
            grid: dict[str, Any] = {"rowCount": tab.row_count, "columnCount": tab.column_count}
            if tab.frozen_rows:
                grid["frozenRowCount"] = tab.frozen_rows
            if tab.frozen_columns:
                grid["frozenColumnCount"] = tab.frozen_columns
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
                sheet["conditionalFormats"] = copy.deepcopy(tab.conditional_formats)
            if tab.protected_ranges:
                sheet["protectedRanges"] = copy.deepcopy(tab.protected_ranges)
            if tab.basic_filter is not None:
                # a basic filter's range comes back bounded to the grid (endRowIndex), as in
                # the recording WorksheetTest.test_... of gspread; Sheet.basicFilter
                found = as_stored(copy.deepcopy(tab.basic_filter))
                found.setdefault("range", {}).setdefault("endRowIndex", tab.row_count)
                found["range"]["sheetId"] = tab.sheet_id
                sheet["basicFilter"] = as_stored(found)
            if tab.filter_views:  # Sheet.filterViews: "The filter views in this sheet."
                sheet["filterViews"] = [as_stored(v) for v in copy.deepcopy(tab.filter_views)]
            if tab.merges:  # Sheet.merges in the discovery document
                sheet["merges"] = [as_stored(dict(m, sheetId=tab.sheet_id)) for m in tab.merges]
            if with_data:
                whole = [GridRange(tab, 0, 0, tab.row_count, tab.column_count)]
                sheet["data"] = [
                    grid_data(g, book.locale, keep, cell_fields(mask))
                    for g in ([g for g in grids if g.tab is tab] or whole)
                ]
            sheets.append(sheet)
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {
                "title": book.title,
                "locale": book.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": book.time_zone,
            },
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    def read_range(
        self,
        book: Spreadsheet,
        text: str,
        render: str = "FORMATTED_VALUE",
        dates: str = "SERIAL_NUMBER",
        major: str = "ROWS",
    ) -> dict[str, Any]:
        """One ValueRange: the range Google reports, then the values if there are any."""
        grid, whole_tab = parse_range(book, text)
        tab = grid.tab
        if grid.row0 >= tab.row_count or grid.col0 >= tab.column_count:
            # wholly outside the grid (rows deleted since): refused, as pygsheets issues 416
            # and 528 quote Google ("Range ('tab01'!TAB1) exceeds grid limits")
            raise bad_request(
                f"Range ({grid.a1()}) exceeds grid limits. Max rows: {tab.row_count}, "
                f"max columns: {tab.column_count}"
            )
        row1, col1 = min(grid.row1, tab.row_count), min(grid.col1, tab.column_count)
        rows = trimmed(
            [
                [rendered(v, render, dates, book.locale) for v in tab.rows[r][grid.col0 : col1]]
                for r in range(grid.row0, min(row1, len(tab.rows)))
            ]
        )
        if whole_tab and rows:
            # a whole tab comes back as the rectangle that holds data (Sheet1!A1:D4)
            row1, col1 = len(rows), max(len(r) for r in rows)
        shown = GridRange(tab, grid.row0, grid.col0, row1, col1)
        answer: dict[str, Any] = {"range": shown.a1(), "majorDimension": major}
        if rows and major == "COLUMNS":
            width = max(len(r) for r in rows)
            columns = [[r[c] if c < len(r) else EMPTY for r in rows] for c in range(width)]
            rows = [list(c) for c in trimmed([list(c) for c in columns])]
        if rows:
            answer["values"] = rows
        return answer

    def _planned_write(
        self, book: Spreadsheet, text: str, values: list[list[Any]], where: str
    ) -> GridRange:
        grid, whole_tab = parse_range(book, text)
        tab = grid.tab
        height = len(values)
        width = max((len(r) for r in values), default=0)
        explicit_end = not whole_tab and (":" in text.rsplit("!", 1)[-1])
        if explicit_end and (height > grid.row1 - grid.row0 or width > grid.col1 - grid.col0):
            raise bad_request(
                f"Requested writing within range [{text}], but tried writing to "
                + (
                    f"row [{grid.row0 + height}]"
                    if height > grid.row1 - grid.row0
                    else f"column [{column_letters(grid.col0 + width - 1)}]"
                )
            )
        if grid.row0 + height > tab.row_count or grid.col0 + width > tab.column_count:
            raise bad_request(
                f"Range ({quote_title(tab.title)}!{column_letters(grid.col0)}{grid.row0 + 1}"
                f":{column_letters(grid.col0 + max(width, 1) - 1)}{grid.row0 + max(height, 1)}) "
                f"exceeds grid limits. Max rows: {tab.row_count}, max columns: {tab.column_count}"
            )
        for i, row in enumerate(values):
            if not isinstance(row, list):
                raise bad_request(
                    f"Invalid value at '{where}.values[{i}]' "
                    f"(type.googleapis.com/google.protobuf.ListValue), {json.dumps(row)}"
                )
            for j, cell in enumerate(row):
                if isinstance(cell, dict | list):
                    raise bad_request(f"Invalid values[{i}][{j}]: {json.dumps(cell)}")
                if type(cell) is str and len(cell) > MAX_CELL_CHARS:
                    raise bad_request(
                        "Your input contains more than the maximum of 50000 characters in a "
                        "single cell."
                    )
        return grid

    def check_protected(self, grid: GridRange, values: list[list[Any]], email: str) -> None:
        """Refuse a values write into a protected range the caller may not edit (neither a
        warning only, nor among its editors, nor the one who protected it)."""
        tab = grid.tab
        height, width = len(values), max((len(r) for r in values), default=0)
        rows, cols = (grid.row0, grid.row0 + height), (grid.col0, grid.col0 + width)
        for protected in tab.protected_ranges:
            editors = (protected.get("editors") or {}).get("users", [])
            maker = self.protection_makers.get(int(protected.get("protectedRangeId", 0)))
            if protected.get("warningOnly") or email in editors or maker == email:
                continue
            rng = protected.get("range", {})
            r0, r1 = int(rng.get("startRowIndex", 0)), int(rng.get("endRowIndex", tab.row_count))
            c0 = int(rng.get("startColumnIndex", 0))
            c1 = int(rng.get("endColumnIndex", tab.column_count))
            if r0 < rows[1] and rows[0] < r1 and c0 < cols[1] and cols[0] < c1:
                raise bad_request(PROTECTED)

    def write_range(
        self, book: Spreadsheet, grid: GridRange, values: list[list[Any]], option: str
    ) -> dict[str, Any]:
        """Write values (null cells skipped, "" clears a cell) and answer like values.update."""
        tab = grid.tab
        cells = 0
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue  # the API's rule: null leaves the cell as it is
                at = (grid.row0 + i, grid.col0 + j)
                tab.set(*at, format_kept(tab.cell(*at), entered(value, option, book.locale)))
                cells += 1
        height = len(values)
        width = max((len(r) for r in values), default=0)
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
        """spreadsheets.batchUpdate: every request applies, or none does (atomic, like Google)."""
        saved = [(tab, tab.save()) for tab in book.tabs]
        tabs = list(book.tabs)
        replies: list[Any] = []
        try:
            for i, request in enumerate(requests):
                [(kind, body)] = [(k, v) for k, v in request.items() if v is not None]
                try:
                    replies.append(self._apply(book, kind, body))
                except ApiError as exc:
                    if exc.code == 400 and not exc.message.startswith("Invalid requests["):
                        exc.message = f"Invalid requests[{i}].{kind}: {exc.message}"
                    raise
        except Exception:
            book.tabs[:] = tabs
            for tab, state in saved:
                tab.restore(state)
            raise
        return replies

    def _apply(self, book: Spreadsheet, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_do_{kind}", None)
        if handler is None:
            raise bad_request(f"the emulator does not implement {kind}")
        before = book.cell_count()
        reply = dict(handler(book, body))
        if book.cell_count() > max(before, MAX_CELLS):  # growing past the limit
            raise bad_request(
                "This action would increase the number of cells in the workbook above the "
                f"limit of {MAX_CELLS} cells."
            )
        return reply

    def _do_addSheet(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        props = body.get("properties", {})
        title = props.get("title") or f"Sheet{len(book.tabs) + 1}"
        if book.title_taken(title):
            raise bad_request(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        grid = props.get("gridProperties", {})
        sheet_id = int(props.get("sheetId", next(self._ids)))
        if any(t.sheet_id == sheet_id for t in book.tabs):
            raise bad_request(f"Sheet with id {sheet_id} already exists.")
        tab = Tab(
            sheet_id,
            title,
            row_count=int(grid.get("rowCount", 1000)),
            column_count=int(grid.get("columnCount", 26)),
            frozen_rows=int(grid.get("frozenRowCount", 0)),
        )
        book.tabs.insert(int(props.get("index", len(book.tabs))), tab)
        answer_grid: dict[str, Any] = {"rowCount": tab.row_count, "columnCount": tab.column_count}
        if tab.frozen_rows:
            answer_grid["frozenRowCount"] = tab.frozen_rows
        properties = {
            "sheetId": tab.sheet_id,
            "title": tab.title,
            "index": book.tabs.index(tab),
            "sheetType": "GRID",
            "gridProperties": answer_grid,
        }
        return {"addSheet": {"properties": properties}}

    def _do_updateSheetProperties(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        props = body.get("properties", {})
        fields = body.get("fields")
        if not fields:
            raise bad_request("At least one field must be updated, but 'fields' is empty.")
        tab = book.tab_by_id(props.get("sheetId", 0))
        names = {f.strip().replace("/", ".") for f in fields.split(",")}
        unmodelled = sorted(names - UPDATABLE_SHEET_FIELDS)
        if unmodelled:
            # answered 200 and ignored before: a test could believe a property was set
            raise bad_request(f"the emulator does not model sheet properties: {unmodelled}")
        grid = props.get("gridProperties", {})
        if names & {"*", "gridProperties", "gridProperties.frozenRowCount"}:
            frozen = int(grid.get("frozenRowCount", 0))
            if frozen >= tab.row_count:
                raise bad_request("You can't freeze all visible rows on the sheet.")
            # Google Sheets cannot freeze across a merged cell (dream-num/univer issue 724
            # compares: "Google sheet cannot cross the freeze"; the browser refuses it with
            # this sentence), so a merge over rows 1-2 makes a frozen header impossible
            for merge in tab.merges:
                if int(merge.get("startRowIndex", 0)) < frozen < int(merge.get("endRowIndex", 0)):
                    raise bad_request(
                        "You can't freeze rows which contain only part of a merged cell."
                    )
            tab.frozen_rows = frozen
        if names & {"*", "gridProperties", "gridProperties.frozenColumnCount"}:
            frozen = int(grid.get("frozenColumnCount", 0))
            if frozen >= tab.column_count:
                raise bad_request("You can't freeze all visible columns on the sheet.")
            for merge in tab.merges:
                start, end = (
                    int(merge.get("startColumnIndex", 0)),
                    int(merge.get("endColumnIndex", 0)),
                )
                if start < frozen < end:
                    raise bad_request(
                        "You can't freeze columns which contain only part of a merged cell."
                    )
            tab.frozen_columns = frozen
        if names & {"*", "gridProperties", "gridProperties.rowCount"} and "rowCount" in grid:
            tab.row_count = int(grid["rowCount"])
        if names & {"*", "gridProperties", "gridProperties.columnCount"} and "columnCount" in grid:
            tab.column_count = int(grid["columnCount"])
        if names & {"*", "title"} and "title" in props:
            if book.title_taken(props["title"], by_other_than=tab):
                raise bad_request(
                    f'A sheet with the name "{props["title"]}" already exists. '
                    "Please enter another name."
                )
            tab.title = props["title"]
        return {}

    def _do_appendDimension(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        tab = book.tab_by_id(body.get("sheetId", 0))
        length = int(body.get("length", 0))
        if length <= 0:
            raise bad_request("length must be positive")
        if body.get("dimension") == "COLUMNS":
            tab.column_count += length
        else:
            tab.row_count += length
        return {}

    def _dimension(
        self, book: Spreadsheet, rng: dict[str, Any], inserting: bool = False
    ) -> tuple[Tab, bool, int, int]:
        """The tab, whether the span is of columns, and its bounds (DimensionRange)."""
        if rng.get("dimension") not in ("ROWS", "COLUMNS"):
            raise bad_request("Invalid dimension: expected ROWS or COLUMNS")
        columns = rng["dimension"] == "COLUMNS"
        tab = book.tab_by_id(rng.get("sheetId", 0))
        size = tab.column_count if columns else tab.row_count
        start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
        if not 0 <= start < end <= size + (1 if inserting else 0):
            raise bad_request(f"Invalid dimension range: {start}..{end}")
        return tab, columns, start, end

    def _do_insertDimension(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        rng = body.get("range", {})
        tab, columns, start, end = self._dimension(book, rng, "inheritFromBefore" in body)
        for _ in range(end - start):
            if columns:
                tab.insert_column(start)
            else:
                tab.insert_row(start, [])
        return {}

    def _do_deleteDimension(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        tab, columns, start, end = self._dimension(book, body.get("range", {}))
        for _ in range(end - start):
            if columns:
                tab.delete_column(start)
            else:
                tab.delete_row(start)
        return {}

    def _do_moveDimension(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        """Columns moved as a person drags them (`columns.py` says how, from the discovery
        document's MoveDimensionRequest); rows are not modelled."""
        tab, columns, start, end = self._dimension(book, body.get("source", {}))
        if not columns:
            raise bad_request("the emulator only moves COLUMNS")
        destination = int(body.get("destinationIndex", -1))
        if not 0 <= destination <= tab.column_count:
            raise bad_request(f"Invalid destinationIndex: {destination}")
        tab.move_columns(start, end, destination)
        return {}

    def _do_addConditionalFormatRule(
        self, book: Spreadsheet, body: dict[str, Any]
    ) -> dict[str, Any]:
        rule = body.get("rule") or {}
        ranges = rule.get("ranges") or []
        if not ranges:
            raise bad_request("Conditional format rule must have at least one range.")
        tabs = {book.tab_by_id(r.get("sheetId", 0)).sheet_id for r in ranges}
        if len(tabs) != 1:
            raise bad_request("All ranges must be on the same sheet.")
        if ("booleanRule" in rule) == ("gradientRule" in rule):
            raise bad_request("Exactly one of booleanRule or gradientRule must be set.")
        gradient = rule.get("gradientRule")
        if gradient is not None and not (gradient.get("minpoint") and gradient.get("maxpoint")):
            # the discovery document: GradientRule's minpoint and maxpoint are required
            # ("The starting interpolation point", "The final interpolation point")
            raise bad_request("A gradient rule must have both a minpoint and a maxpoint.")
        for rng in ranges:
            within_grid(book, rng)
        condition = rule.get("booleanRule", {}).get("condition")
        if (
            condition is not None
            and condition.get("type") == "TEXT_EQ"
            and len(condition.get("values", [])) != 1
        ):
            raise bad_request("TEXT_EQ condition requires exactly one value.")
        tab = book.tab_by_id(ranges[0].get("sheetId", 0))
        index = int(body.get("index", 0))  # Google's default index is 0: the rule goes first
        if index > len(tab.conditional_formats):
            raise bad_request(f"Invalid index: {index}")
        stored = as_stored(rule)
        if self.bounded_rule_ranges:
            # Google may give a range back bounded to the grid (a basic filter's range comes
            # back with endRowIndex in the recordings): model it, so the agent must cope
            for rng in stored["ranges"]:
                rng.setdefault("endRowIndex", tab.row_count)
        tab.conditional_formats.insert(index, stored)
        return {}

    def _do_updateConditionalFormatRule(
        self, book: Spreadsheet, body: dict[str, Any]
    ) -> dict[str, Any]:
        tab = book.tab_by_id(body.get("sheetId", 0))
        index = int(body.get("index", 0))
        if index >= len(tab.conditional_formats):
            raise bad_request(f"No conditional format on sheet: {tab.sheet_id} at index: {index}")
        old = tab.conditional_formats[index]
        if "rule" in body:
            tab.conditional_formats[index] = as_stored(body["rule"])
        elif "newIndex" in body:
            tab.conditional_formats.insert(
                int(body["newIndex"]), tab.conditional_formats.pop(index)
            )
        new_index = int(body.get("newIndex", index))
        reply = {"oldRule": old, "oldIndex": index, "newIndex": new_index}
        reply["newRule"] = tab.conditional_formats[new_index]
        return {"updateConditionalFormatRule": reply}

    def _do_deleteConditionalFormatRule(
        self, book: Spreadsheet, body: dict[str, Any]
    ) -> dict[str, Any]:
        tab = book.tab_by_id(body.get("sheetId", 0))
        index = int(body.get("index", 0))
        if index >= len(tab.conditional_formats):
            raise bad_request(f"No conditional format on sheet: {tab.sheet_id} at index: {index}")
        return {"deleteConditionalFormatRule": {"rule": tab.conditional_formats.pop(index)}}

    def _do_setDataValidation(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        rng = as_stored(body.get("range") or {})
        tab = book.tab_by_id(rng.get("sheetId", 0))
        within_grid(book, rng)
        tab.validations = [v for v in tab.validations if v["range"] != rng]
        rule = body.get("rule")
        if rule:
            condition = rule.get("condition") or {}
            if condition.get("type") == "ONE_OF_LIST" and not condition.get("values"):
                raise bad_request("ONE_OF_LIST condition requires at least one value.")
            if condition.get("type") == "ONE_OF_LIST" and any(
                str(v.get("userEnteredValue", ""))[:1] in ("=", "+")
                for v in condition.get("values", [])
            ):
                # a list of items takes text, not formulas (ONE_OF_RANGE is for those):
                # the issue's evidence, an admin's label starting with = failed every pass
                raise bad_request("Formulas are not supported for ONE_OF_LIST.")
            tab.validations.append({"range": rng, "rule": copy.deepcopy(rule)})
        return {}

    def _do_addProtectedRange(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        protected = as_stored(body.get("protectedRange") or {})
        rng = protected.get("range")
        if rng is None:
            raise bad_request("ProtectedRange must have a range or a namedRangeId.")
        tab = book.tab_by_id(rng.get("sheetId", 0))
        within_grid(book, rng)
        protected["protectedRangeId"] = next(self._ids)
        self.protection_makers[protected["protectedRangeId"]] = self.caller_email
        protected["requestingUserCanEdit"] = True
        if not protected.get("warningOnly"):
            protected.setdefault("editors", {"users": ["owner@example.com"]})
        tab.protected_ranges.append(protected)
        return {"addProtectedRange": {"protectedRange": copy.deepcopy(protected)}}

    def _do_updateCells(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        grid, rows = cell_updates.update_cells(book, body)
        self.check_protected(grid, rows, self.caller_email)
        tab = grid.tab
        for i, row in enumerate(rows):
            at = grid.row0 + i
            if at < len(tab.rows):  # a fresh list: a failed batch puts the saved one back
                tab.rows[at] = list(tab.rows[at])
            for j, value in enumerate(row):  # fields is userEnteredValue: the format stays
                tab.set(at, grid.col0 + j, format_kept(tab.cell(at, grid.col0 + j), value))
        return {}  # Google's reply to an updateCells is empty (Response has no field for it)

    def _do_repeatCell(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        within_grid(book, body.get("range") or {})
        return looks.repeat_cell(book, body)

    def _do_updateDimensionProperties(
        self, book: Spreadsheet, body: dict[str, Any]
    ) -> dict[str, Any]:
        return looks.update_dimension_properties(book, body)

    def _do_addFilterView(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        within_grid(book, (body.get("filter") or {}).get("range") or {})
        return looks.add_filter_view(book, body, self._ids)

    def _do_deleteFilterView(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        return looks.delete_filter_view(book, body)

    def _do_deleteProtectedRange(self, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
        wanted = int(body.get("protectedRangeId", 0))
        for tab in book.tabs:
            for p in tab.protected_ranges:
                if p["protectedRangeId"] == wanted:
                    tab.protected_ranges.remove(p)
                    return {}
        raise bad_request(f"No protected range with id: {wanted}")


def spreadsheet_answer(
    emu: SheetsEmulator,
    book: Spreadsheet,
    ranges: list[str],
    with_data: bool,
    mask: dict[str, Any] | None,
) -> dict[str, Any]:
    """A Spreadsheet resource as spreadsheets.get answers it (and a batchUpdate's
    `updatedSpreadsheet`): masked, the cells masked as they are made."""
    answer = emu.metadata(book, ranges, with_data, mask)
    grids = [sheet.pop("data", None) for sheet in answer["sheets"]]
    out = masked(answer, mask)  # the cells are masked already, as they were made
    data_mask = ((mask or {}).get("sheets") or {}).get("data", {}) if mask else None
    for sheet, data in zip(out.get("sheets", []), grids, strict=False):
        if data is not None and (data_mask is None or data_mask or "data" in mask_of(mask)):
            sheet["data"] = [
                {
                    k: v if k == "rowData" or not data_mask else masked(v, data_mask[k])
                    for k, v in d.items()
                    if not data_mask or k in data_mask
                }
                for d in data
            ]
    return out


def within_grid(book: Spreadsheet, rng: dict[str, Any]) -> None:
    """Refuse a GridRange of a batchUpdate request that goes past its tab's grid."""
    tab = book.tab_by_id(rng.get("sheetId", 0))
    rows = int(rng.get("endRowIndex", tab.row_count))
    columns = int(rng.get("endColumnIndex", tab.column_count))
    if rows > tab.row_count or columns > tab.column_count:
        a1 = GridRange(
            tab,
            int(rng.get("startRowIndex", 0)),
            int(rng.get("startColumnIndex", 0)),
            rows,
            columns,
        ).a1()
        raise bad_request(
            f"Range ({a1}) exceeds grid limits. Max rows: {tab.row_count}, max columns: "
            f"{tab.column_count}"
        )


def as_rows(value_range: dict[str, Any]) -> list[Any]:
    """A written ValueRange's values as rows: with majorDimension COLUMNS each inner list is
    a column, and a column shorter than the others leaves the cells below it as they are."""
    values = value_range.get("values") or []
    if value_range.get("majorDimension") != "COLUMNS" or not all(
        isinstance(c, list) for c in values
    ):
        return values  # ROWS, or a malformed body that the row checks answer
    height = max((len(c) for c in values), default=0)
    return [[c[i] if i < len(c) else None for c in values] for i in range(height)]


def as_stored(value: Any) -> Any:
    """A piece of formatting as Google gives it back: proto3 JSON drops zero numbers in
    grid ranges and colours, and every colour gets its `...ColorStyle` twin."""
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if (
            key
            in (
                "sheetId",
                "startRowIndex",
                "endRowIndex",
                "startColumnIndex",
                "endColumnIndex",
                "red",
                "green",
                "blue",
            )
            and item == 0
        ):
            continue
        if key in ("red", "green", "blue", "alpha") and isinstance(item, int | float):
            # Google keeps a colour's components at 8 bits: 0.3 comes back 0.29803923
            item = round(round(float(item) * 255) / 255, 8)
        out[key] = as_stored(item)
    for colour in ("backgroundColor", "foregroundColor"):
        if colour in out and f"{colour}Style" not in out:
            out[f"{colour}Style"] = {"rgbColor": copy.deepcopy(out[colour])}
    return out


def cell_mask(mask: dict[str, Any] | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What a field mask keeps of one CellData (masking cells as they are made, not the
    whole answer after: a 100k-row tab is millions of them)."""
    tree: Any = mask
    for name in ("sheets", "data", "rowData", "values"):
        if tree is None or "*" in tree:
            return lambda cell: cell
        tree = tree.get(name, {})
    cells: dict[str, Any] = tree
    if cells is None:
        return lambda cell: cell
    plain = {k for k, v in cells.items() if v is None}

    def keep(cell: dict[str, Any]) -> dict[str, Any]:
        return {k: v if k in plain else masked(v, cells[k]) for k, v in cell.items() if k in cells}

    return keep


def cell_fields(mask: dict[str, Any] | None) -> frozenset[str] | None:
    """The CellData fields a mask asks for (None: all)."""
    tree: Any = mask
    for name in ("sheets", "data", "rowData", "values"):
        if tree is None or "*" in tree:
            return None
        tree = tree.get(name, {})
    return None if tree is None else frozenset(tree)


def mask_of(mask: dict[str, Any] | None) -> dict[str, Any]:
    """The `sheets` part of a field mask (every field when the mask is None or *)."""
    sheets = (mask or {}).get("sheets")
    return sheets if isinstance(sheets, dict) else {"data": None}


def wants_grid_data(query: dict[str, list[str]]) -> bool:
    """Whether a spreadsheets.get asks for cells: a field mask naming `data` (which makes
    Google ignore includeGridData, the discovery document says), else includeGridData."""
    fields = (query.get("fields") or [""])[0]
    if fields.strip() not in ("", "*"):
        return re.search(r"(^|[(,./\s])data([(,./)\s]|$)", fields) is not None
    return (query.get("includeGridData") or ["false"])[0].lower() == "true"


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def field_mask(text: str) -> dict[str, Any] | None:
    """Parse a `fields` partial-response mask ("a,b(c,d/e),f.g") into a tree; None = all."""
    if text.strip() in ("", "*"):
        return None
    pos = 0
    name = re.compile(r"\s*([A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*)\s*")

    def parse() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while True:
            match = name.match(text, pos)
            if match is None:
                raise bad_request(f"Invalid field selection {text}")
            pos = match.end()
            parts = re.split(r"[./]", match.group(1))
            node = tree
            for part in parts[:-1]:
                if part in node and node[part] is None:
                    break
                node = node.setdefault(part, {})
            else:
                if pos < len(text) and text[pos] == "(":
                    pos += 1
                    sub = parse()
                    if pos >= len(text) or text[pos] != ")":
                        raise bad_request(f"Invalid field selection {text}")
                    pos += 1
                    if node.get(parts[-1], {}) is not None:
                        node.setdefault(parts[-1], {}).update(sub)
                else:
                    node[parts[-1]] = None
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse()
    if pos != len(text):
        raise bad_request(f"Invalid field selection {text}")
    return tree


def masked(value: Any, tree: dict[str, Any] | None) -> Any:
    """Keep only the fields a mask selects."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [masked(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, tree[k]) for k, v in value.items() if k in tree}
    return value


# --- HTTP --------------------------------------------------------------------------------------

_BOOK = re.compile(r"^/v4/spreadsheets/([^/:]+)(:batchUpdate)?$")
_VALUES_BATCH = re.compile(r"^/v4/spreadsheets/([^/:]+)/values(:batchGet|:batchUpdate)$")
_VALUES = re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+?)(:append|:clear)?$")


def _route(method: str, path: str) -> tuple[str, str, str, str]:
    """(kind, method name in the discovery document, spreadsheet id, range) of a request."""
    if match := _BOOK.match(path):
        if method == "GET" and not match.group(2):
            return "metadata", "get", match.group(1), ""
        if method == "POST" and match.group(2):
            return "format", "batchUpdate", match.group(1), ""
    elif match := _VALUES_BATCH.match(path):
        if method == "GET" and match.group(2) == ":batchGet":
            return "read", "values.batchGet", match.group(1), ""
        if method == "POST" and match.group(2) == ":batchUpdate":
            return "write", "values.batchUpdate", match.group(1), ""
    elif match := _VALUES.match(path):
        target = urllib.parse.unquote(match.group(2))
        suffix = match.group(3)
        if method == "GET" and not suffix:
            return "read", "values.get", match.group(1), target
        if method == "PUT" and not suffix:
            return "write", "values.update", match.group(1), target
        if method == "POST" and suffix == ":append":
            return "write", "values.append", match.group(1), target
        if method == "POST" and suffix == ":clear":
            return "write", "values.clear", match.group(1), target
    raise ApiError(404, "Method not found.", "NOT_FOUND")


class _Handler(BaseHTTPRequestHandler):
    owner: SheetsEmulator
    protocol_version = "HTTP/1.1"  # keep-alive, like Google's front end
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # quiet: tests read counters, not access logs

    def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        try:
            data = orjson.dumps(payload)  # compact UTF-8, as json.dumps below, but faster
        except orjson.JSONEncodeError:  # a lone surrogate in a cell: UTF-8 cannot carry it,
            # a JSON escape can (\udc80), as a UTF-16 string serialised by Google's servers
            data = json.dumps(payload, separators=(",", ":")).encode()
        headers = dict(headers or {})
        if self._gzip_asked():
            data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        with self.owner.lock:
            self.owner.answered_bytes += len(data)
        self._network(len(data), latency=False)
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.close_connection = True

    def _gzip_asked(self) -> bool:
        """Google compresses an answer with gzip when the client asks in both of the ways
        its performance guide names ("Compression using gzip": an `Accept-Encoding: gzip`
        header, and a user agent that contains the string `gzip`)."""
        accepted = (self.headers.get("Accept-Encoding") or "").lower()
        agent = (self.headers.get("User-Agent") or "").lower()
        return "gzip" in accepted and "gzip" in agent

    def _error(self, error: ApiError, call: Call | None) -> None:
        if call is not None:
            call.status = error.code
        if call is not None and call.kind == "token":
            # the OAuth endpoint answers in RFC 6749's shape, not the API's
            self._send(error.code, {"error": error.status, "error_description": error.message})
            return
        body: dict[str, Any] = {
            "code": error.code,
            "message": error.message,
            "status": error.status,
        }
        if error.field is not None:
            body["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": error.field, "description": error.message}],
                }
            ]
        headers = (
            {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
            if (error.code == 401)
            else None
        )
        self._send(error.code, {"error": body}, headers)

    def _network(self, size: int, latency: bool = True) -> None:
        """Wait as a network would: the emulator's per-call latency (once, on the way in)
        and the time `size` bytes take at its bandwidth (none set: no wait at all)."""
        emu = self.owner
        wait = (emu.latency_s if latency else 0.0) + (
            size / emu.bandwidth_bytes_s if emu.bandwidth_bytes_s else 0.0
        )
        if wait > 0:
            with emu.lock:
                emu.network_delay_s += wait
            time.sleep(wait)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: what a dropped connection looks like
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _read_body(self) -> tuple[bytes, int]:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= MAX_BODY:
            return (self.rfile.read(length) if length else b""), length
        left = length
        while left > 0:  # drain it, so the client reads our answer instead of a broken pipe
            left -= len(self.rfile.read(min(left, 1 << 20)) or b"x" * left)
        self.close_connection = True
        return b"", length

    def _fail(self, fault: Fault, call: Call) -> bool:
        """Answer with the fault (after its delay); False when it only delays."""
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset:
            self._reset()
            return True
        if fault.status:
            self._error(
                ApiError(
                    fault.status,
                    fault.message or FAULT_MESSAGES.get(fault.status, "Error"),
                    STATUS_NAMES.get(fault.status, "UNKNOWN"),
                ),
                call,
            )
            return True
        return False

    def _handle(self, method: str) -> None:
        emu = self.owner
        raw, size = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        call = Call("", method, urllib.parse.unquote(url.path), query, raw, size)
        try:
            if url.path == "/token" and method == "POST":
                call.kind = "token"
            else:
                call.kind, name, spreadsheet_id, target = _route(method, url.path)
                if name == "get" and wants_grid_data(query):
                    call.kind = "read"  # cells, not only the tabs' properties
                if name == "batchUpdate" and b'"updateCells"' in raw:
                    call.kind = "write"  # it writes cells (with formatting, maybe)
        except ApiError as exc:
            self._error(exc, call)
            return
        with emu.lock:
            for hook in list(emu.hooks):
                hook(call, emu)
            emu.calls[call.kind] += 1
            emu.requests.append(call)
            fault = next((f for f in emu.faults if f.applies_to(call.kind)), None)
            if fault is not None:
                emu.faults.remove(fault)
        self._network(size)
        if fault is not None and not fault.after and self._fail(fault, call):
            return
        if size > MAX_BODY:
            self._error(
                ApiError(
                    400,
                    f"Request payload size exceeds the limit: {MAX_BODY} bytes.",
                    "INVALID_ARGUMENT",
                ),
                call,
            )
            return
        if call.kind == "token":
            try:
                with emu.lock:
                    answer = emu.issue_token(call.body)
                call.status = 200
                self._send(200, answer)
            except ApiError as exc:
                self._error(exc, call)
            return
        try:
            with emu.lock:
                email = emu.caller(self.headers.get("Authorization"))
                try:
                    body = json.loads(raw) if raw else None
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise ApiError(
                        400,
                        "Invalid JSON payload received. Unexpected token.",
                        "INVALID_ARGUMENT",
                    ) from None
                validate_query(name, query)
                answer = self._serve(name, spreadsheet_id, target, query, body, email)
            if fault is not None and fault.after and self._fail(fault, call):
                return  # served, its answer lost
            call.status = 200
            self._send(200, answer)
        except Invalid as exc:
            self._error(ApiError(400, str(exc), "INVALID_ARGUMENT", exc.field), call)
        except ApiError as exc:
            self._error(exc, call)

    def _serve(
        self,
        name: str,
        spreadsheet_id: str,
        target: str,
        query: dict[str, list[str]],
        body: Any,
        email: str,
    ) -> Any:
        emu = self.owner

        def one(key: str, default: str) -> str:
            return (query.get(key) or [default])[0]

        writing = name not in ("get", "values.get", "values.batchGet")
        schema = {
            "batchUpdate": ("BatchUpdateSpreadsheetRequest", ""),
            "values.batchUpdate": ("BatchUpdateValuesRequest", ""),
            "values.update": ("ValueRange", "data"),
            "values.append": ("ValueRange", "data"),
            "values.clear": ("ClearValuesRequest", ""),
        }.get(name)
        if schema is not None:
            validate_body(schema[0], body or {}, schema[1])
        book = emu.book_for(spreadsheet_id, email, writing)
        emu.caller_email = email
        if name == "get":
            mask = field_mask(one("fields", "*"))
            return spreadsheet_answer(
                emu, book, query.get("ranges", []), wants_grid_data(query), mask
            )
        if name == "batchUpdate":
            requests = (body or {}).get("requests") or []
            if (body or {}).get("includeSpreadsheetInResponse"):
                # a range it cannot read back makes the request invalid, and "if any
                # request is not valid, no requests will be applied" (the discovery
                # document): checked before any change, as a bad range of a values write
                for text in body.get("responseRanges") or []:
                    parse_range(book, text)
            replies = emu.batch_update(book, requests)
            answer: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
            mask = field_mask(one("fields", "*"))
            if (body or {}).get("includeSpreadsheetInResponse"):
                # BatchUpdateSpreadsheetRequest in the discovery document: the spreadsheet
                # after the updates, limited to `responseRanges`, with grid data when
                # `responseIncludeGridData` (ignored when a field mask is set: the mask says)
                inner = None if mask is None else mask.get("updatedSpreadsheet") or None
                with_data = (
                    bool(body.get("responseIncludeGridData"))
                    if mask is None
                    else inner is not None and "data" in (inner.get("sheets") or {})
                )
                answer["updatedSpreadsheet"] = spreadsheet_answer(
                    emu, book, list(body.get("responseRanges") or []), with_data, inner
                )
            if mask:  # the spreadsheet is masked already, as it was made
                return masked(
                    answer, {k: None if k == "updatedSpreadsheet" else v for k, v in mask.items()}
                )
            return answer
        render = one("valueRenderOption", "FORMATTED_VALUE")
        dates = one("dateTimeRenderOption", "SERIAL_NUMBER")
        major = one("majorDimension", "ROWS")
        if name == "values.batchGet":
            return {
                "spreadsheetId": book.spreadsheet_id,
                "valueRanges": [
                    emu.read_range(book, r, render, dates, major) for r in query.get("ranges", [])
                ],
            }
        if name == "values.get":
            return emu.read_range(book, target, render, dates, major)
        if name == "values.batchUpdate":
            option = body.get("valueInputOption")
            if option not in ("RAW", "USER_ENTERED"):
                raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
            data = body.get("data") or []
            grids = [as_rows(d) for d in data]
            # check every range first: the batch is atomic; Google names the range at fault
            # first ("Invalid data[0]: Unable to parse range: ...", gspread issues 792, 1601)
            planned = []
            for i, (d, values) in enumerate(zip(data, grids, strict=True)):
                try:
                    grid_range = emu._planned_write(book, d.get("range", ""), values, f"data[{i}]")
                except ApiError as exc:
                    if exc.message.startswith("Invalid value at "):  # a JSON type: unprefixed
                        raise
                    raise bad_request(f"Invalid data[{i}]: {exc.message}") from None
                emu.check_protected(grid_range, values, email)
                planned.append(grid_range)
            responses = [
                emu.write_range(book, target, grid, option)
                for target, grid in zip(planned, grids, strict=True)
            ]
            if body.get("includeValuesInResponse"):
                # BatchUpdateValuesRequest.includeValuesInResponse in the discovery document:
                # each response's `updatedData`; "if the range to write was larger than the
                # range actually written, the response includes all values in the requested
                # range (excluding trailing empty rows and columns)"
                shown = body.get("responseValueRenderOption") or "FORMATTED_VALUE"
                shown_dates = body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"
                for d, response in zip(data, responses, strict=True):
                    text = d.get("range", "")
                    asked = text if ":" in text.rsplit("!", 1)[-1] else response["updatedRange"]
                    response["updatedData"] = emu.read_range(book, asked, shown, shown_dates)
            return {
                "spreadsheetId": book.spreadsheet_id,
                "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in responses}),
                "responses": responses,
            }
        option = one("valueInputOption", "")
        if name in ("values.update", "values.append") and option not in ("RAW", "USER_ENTERED"):
            raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        values = as_rows(body or {})
        if name == "values.update":
            grid = emu._planned_write(book, target, values, "data")
            emu.check_protected(grid, values, email)
            return emu.write_range(book, grid, values, option)
        if name == "values.clear":
            grid, _ = parse_range(book, target)
            for r in range(grid.row0, min(grid.row1, len(grid.tab.rows))):
                line = grid.tab.rows[r]
                for c in range(grid.col0, min(grid.col1, len(line))):
                    line[c] = EMPTY
            return {"spreadsheetId": book.spreadsheet_id, "clearedRange": grid.a1()}
        # values.append: after the table (contiguous non-empty rows) the range starts at
        grid, _ = parse_range(book, target)
        tab = grid.tab
        last = grid.row0
        while last < len(tab.rows) and any(v != EMPTY for v in tab.rows[last][grid.col0 :]):
            last += 1
        appended: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
        if last > grid.row0:
            width = max(len(r) for r in tab.rows[grid.row0 : last])
            appended["tableRange"] = GridRange(tab, grid.row0, grid.col0, last, width).a1()
        start = max(last, grid.row0)
        if one("insertDataOption", "OVERWRITE") == "INSERT_ROWS":
            for _ in values:
                tab.insert_row(start, [])
        tab.row_count = max(tab.row_count, start + len(values))  # append grows the grid
        a1 = f"{quote_title(tab.title)}!{column_letters(grid.col0)}{start + 1}"
        below = emu._planned_write(book, a1, values, "data")
        appended["updates"] = emu.write_range(book, below, values, option)
        return appended


def new_service_account_key(
    email: str, token_uri: str, key: rsa.RSAPrivateKey | None = None
) -> tuple[dict[str, Any], rsa.RSAPrivateKey]:
    """A service-account JSON key shaped like Google's, with a fresh RSA key (never committed)
    unless `key` is given."""
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    project = email.split("@", 1)[-1].split(".", 1)[0]
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(100000000000000000000 + secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + urllib.parse.quote(email),
        "universe_domain": "googleapis.com",
    }
    return info, key
