"""A Google Sheet through gspread 6 and google-auth, within a fixed budget of API calls.

One pass costs a constant number of calls whatever the number of rows:

- `read()`: one spreadsheets.get for the metadata (tabs, grid sizes, the formatting the
  sheet holds) and the accounts and history tabs' cells, each with the type of its number
  format (`typed.py`: a typed `80 %` is handed out as 80.0); answers come gzipped;
- `write(plan)`: nothing at all when the plan is empty and the formatting is current;
  otherwise one spreadsheets.batchUpdate carrying the grid changes (new columns, a
  missing history tab), the agent's formatting when it differs, and the cells as
  updateCells, which reads the keys back in its own reply (`cell_updates.py`). Past
  `CELLS_IN_ONE_CALL` cells (a first pass, a week's history on a big sheet) the cells go
  instead as a values:batchUpdate (RAW, a quarter of the bytes) after the formatting call,
  reading the keys back in its own answer; bodies stay under 2 MB, split when needed.

An unchanged pass costs 1 call, a pass that changes cells 2, a first pass 2 or 3. Rows
are addressed by their key. The keys read back with the write catch rows a CSM
sorted, inserted or deleted while the pass ran; the agent cells that went to the wrong
rows are rewritten to the right ones (after a read of the whole column), a bounded
number of times.

Network calls have a timeout; 429, 5xx and dropped connections are retried with capped,
jittered exponential backoff a bounded number of times (through the injected `sleep`);
400/401/403/404 are not retried and become a sentence that says what to do.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gspread
import requests
from google.auth.exceptions import RefreshError
from gspread.exceptions import APIError
from gspread.urls import (
    SPREADSHEET_BATCH_UPDATE_URL,
    SPREADSHEET_URL,
)
from gspread.utils import rowcol_to_a1

from agent.cells import key_text_list
from agent.errors import SheetError, TransientError, UnsureWrite
from agent.plan import WritePlan, WriteReport
from agent.stores.base import Snapshot, Tab, tab_named
from agent.stores.google import (
    capacity,
    cell_updates,
    formatting,
    look,
    refusals,
    rules_put_back,
    typed,
    views,
)
from agent.stores.google.client import (
    AgentHTTPClient,
    Params,
    backoff,
    http_client_class,
    load_credentials,
    sheets_base_url,
)
from agent.stores.google.ranges import (
    MAX_BODY_BYTES,
    Json,
    cells_at_key_rows,
    column_ranges,
    history_ranges,
    keyless_rows_cleared,
    quote,
    to_tab,
)
from agent.stores.google.rows_moved import AccountsAsRead, MovedRows, ReadBack
from agent.stores.google.unsure_writes import CellsSender

if TYPE_CHECKING:
    from agent.config import Config

log = logging.getLogger("agent.google")

METADATA_FIELDS = (
    "sheets(properties(sheetId,title,index,gridProperties),conditionalFormats,protectedRanges,"
    "merges,filterViews)"
)
# the metadata and, in the same call, each cell's value and number format type (typed.py)
# past this many cells a write goes as values (about 40 bytes less a cell than as
# updateCells: 20,000 cells are some 800 KB, what one more call costs at 20 Mbit/s)
CELLS_IN_ONE_CALL = 20_000
READ_FIELDS = METADATA_FIELDS[:-1] + "," + typed.CELL_DATA_FIELDS + ")"


def opened_answer(answer: Json, rows: int) -> Json:
    """A batchUpdate reply with the rule a delete names opened at the bottom."""
    deleted = answer.get("deleteConditionalFormatRule", {}).get("rule")
    if deleted is None:
        return answer
    return {"deleteConditionalFormatRule": {"rule": formatting.open_rule(deleted, rows)}}


def sheet_url(spreadsheet_id: str) -> str:
    """The address a person opens to see the spreadsheet."""
    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"


class GoogleStore:
    """The accounts and history tabs of one Google Sheet, read and written by key."""

    def __init__(
        self,
        *,
        spreadsheet_id: str,
        worksheet: str,
        key_column: str,
        history_worksheet: str | None,
        credentials: Path | None,
        endpoint: str | None = None,
        timeout_s: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        max_tries: int = 5,
        rng: random.Random | None = None,
        rate_limit: Any = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        rewrite_tries: int = 3,
        cells_in_one_call: int = CELLS_IN_ONE_CALL,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet  # the tabs as the config names them
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        # their titles as the sheet spells them (the same but for case), once read
        self.accounts_title, self.history_title = worksheet, history_worksheet
        self.credentials_path = credentials
        self.max_body_bytes = max_body_bytes
        self.rewrite_tries = rewrite_tries
        self.cells_in_one_call = cells_in_one_call
        self.base_url = sheets_base_url(endpoint)
        self.client_class = http_client_class(
            endpoint, timeout_s, sleep, max_tries, rng or random.Random(), rate_limit
        )
        self._http: AgentHTTPClient | None = None
        self.sender = CellsSender(
            self.call, self.client, spreadsheet_id, max_body_bytes, self._titles
        )
        # what the last read saw; write() addresses rows through it
        self.metadata: Json | None = None
        self._header: list[str] = []
        self._accounts: AccountsAsRead | None = None
        self._history: Tab | None = None
        self._tabs_seen: tuple[str, str] | None = None  # both tabs, as the last read saw them
        self._whole_metadata = False  # whether the last read saw every tab

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rate_limit: Any = None,
        max_tries: int = 5,
    ) -> GoogleStore:
        """The store a config's `[sheet]` and `[google]` tables name."""
        sheet, google_ = config.sheet, config.google
        assert sheet.spreadsheet_id is not None
        return cls(
            spreadsheet_id=sheet.spreadsheet_id,
            worksheet=sheet.worksheet,
            key_column=sheet.key_column,
            history_worksheet=sheet.history_worksheet,
            credentials=google_.credentials,
            endpoint=google_.endpoint,
            timeout_s=google_.timeout_s,
            sleep=sleep,
            max_tries=max_tries,
            rate_limit=rate_limit,
        )

    # plumbing ----------------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """HTTP requests this store sent to the Sheets API (retries included)."""
        return int(self.client_class.calls)

    def location(self) -> str:
        return sheet_url(self.spreadsheet_id)

    def client(self) -> AgentHTTPClient:
        """The HTTP client, signed in with the credentials at the first call."""
        if self._http is None:
            credentials = load_credentials(self.credentials_path)
            client = gspread.Client(credentials, http_client=self.client_class)
            assert isinstance(client.http_client, AgentHTTPClient)  # the class given above
            self._http = client.http_client
        return self._http

    def service_account_email(self) -> str:
        """The address to share the sheet with (or a description for other credentials)."""
        credentials = self.client().auth
        email = getattr(credentials, "service_account_email", None)
        return str(email) if email and email != "default" else "the agent's Google account"

    def call(self, func: Callable[[AgentHTTPClient], Any]) -> Any:
        """One API call; Google's refusals become sentences that say what to do."""
        client = self.client()
        try:
            return func(client)
        except RefreshError as exc:
            raise refusals.sign_in_refused(exc) from None
        except APIError as exc:
            raise refusals.refusal(
                exc,
                spreadsheet_id=self.spreadsheet_id,
                base_url=self.base_url,
                account_email=self.service_account_email(),
            ) from None
        except requests.exceptions.JSONDecodeError:  # a web page, not the API's answer
            raise refusals.not_the_sheets_api(self.base_url) from None

    # read --------------------------------------------------------------------------------------

    def read_metadata(self) -> Json:
        """The spreadsheet's tabs, grid sizes, rules and protected ranges: one call."""
        params: Params = {"includeGridData": "false", "fields": METADATA_FIELDS}
        found = dict(self.call(lambda c: c.fetch_sheet_metadata(self.spreadsheet_id, params)))
        found["sheets"] = [formatting.open_ended(s) for s in found.get("sheets", [])]
        return found

    def tab_properties(self, title: str | None) -> Json | None:
        """The metadata of the tab of this title, or of this title in other case (Google
        holds tab titles unique ignoring case: it refuses a "historique" beside a
        "Historique"), as the last metadata read saw it."""
        if title is None or self.metadata is None:
            return None
        sheets = self.metadata.get("sheets", [])
        titles = [s["properties"]["title"] for s in sheets]
        found = tab_named(titles, title)
        return None if found is None else sheets[titles.index(found)]

    def read_spreadsheet(self) -> tuple[Json, dict[str, list[list[Any]]]]:
        """The metadata and the tabs' cells, with their number formats (`typed.py`): one
        spreadsheets.get. Only the accounts and history tabs when the last read saw both
        ("Limiting the range returns only the portions of the spreadsheet that intersect
        the requested ranges", the discovery document's spreadsheets.get); else every tab
        (a first read, a history tab not made yet), and again so when a tab of the last
        read is gone or renamed ("Unable to parse range")."""
        url = SPREADSHEET_URL % self.spreadsheet_id
        ranged = self._tabs_seen is not None

        def get(client: AgentHTTPClient) -> Json | None:
            params: Params = {"fields": READ_FIELDS}
            if ranged and self._tabs_seen is not None:
                params["ranges"] = [quote(t) for t in self._tabs_seen]
            try:
                return typed.loads(client.request("get", url, params=params).content)
            except APIError as exc:
                if ranged and exc.response.status_code == 400 and "Unable to parse" in str(exc):
                    return None
                raise

        answer = self.call(get)
        if answer is None:
            self._tabs_seen, ranged = None, False
            answer = self.call(get)
        tabs = typed.rows_by_title(answer)
        for sheet in answer.get("sheets", []):
            sheet.pop("data", None)
        answer["sheets"] = [formatting.open_ended(s) for s in answer.get("sheets", [])]
        self._whole_metadata = not ranged
        return answer, tabs

    def read(self) -> Snapshot:
        """The accounts tab and the history tab (None if it does not exist yet): one call."""
        self.metadata, tabs = self.read_spreadsheet()
        worksheet, history_worksheet = self.worksheet, self.history_worksheet
        accounts_sheet = self.tab_properties(worksheet)
        if accounts_sheet is None:
            names = ", ".join(s["properties"]["title"] for s in self.metadata.get("sheets", []))
            raise SheetError(
                f'No tab named "{worksheet}" in the spreadsheet (its tabs: {names}). '
                "Fix `sheet.worksheet` in the config, or rename the tab."
            )
        self.accounts_title = accounts_sheet["properties"]["title"]
        history_sheet = self.tab_properties(history_worksheet)
        has_history = history_sheet is not None
        self.history_title = (
            history_sheet["properties"]["title"] if history_sheet else history_worksheet
        )
        accounts = to_tab(self.accounts_title, tabs.get(self.accounts_title, []))
        if self.key_column not in accounts.header:
            raise SheetError(
                f'The key column "{self.key_column}" is not in the header (first row) of tab '
                f'"{self.accounts_title}". Fix `sheet.key_column` in the config, or name the '
                "column."
            )
        self._header = list(accounts.header)
        at = self._header.index(self.key_column)
        # the key cells as Google gives them (a blank one as ""), and as they are matched
        key_cells = [r[at] if at < len(r) else "" for r in accounts.rows]
        self._accounts = AccountsAsRead(
            self.accounts_title, self.key_column, accounts.rows, key_cells, key_text_list(key_cells)
        )
        self._history = None
        self._tabs_seen = None
        if has_history and self.history_title is not None:
            self._history = to_tab(self.history_title, tabs.get(self.history_title, []))
            self._tabs_seen = (self.accounts_title, self.history_title)
        # the snapshot shares the rows the store keeps: readers must not change them
        return Snapshot(accounts, self._history)

    def grid_cells(self) -> tuple[int, int, int]:
        """Cells of the spreadsheet's grids as last read, as Google counts them for its limit:
        every tab's but the history tab's, the history tab's, and the history tab's columns
        (0 when it does not exist yet: each row it grows costs that many cells)."""
        if self.metadata is None:
            self.read()
        if not self._whole_metadata:  # the last read had only the agent's two tabs
            self.metadata, self._whole_metadata = self.read_metadata(), True
        return capacity.grid_cells(self.metadata or {}, self.history_title)

    # write -------------------------------------------------------------------------------------

    def write(self, plan: WritePlan) -> WriteReport:
        """Apply the plan in one call (two with many cells), the keys read back in it."""
        report = WriteReport()
        if self.metadata is None or self._accounts is None:
            self.read()
        assert self._accounts is not None
        read = self._accounts
        header = list(self._header)
        new_columns = [c for c in dict.fromkeys(plan.new_columns) if c not in header]
        if new_columns:  # right of every cell: a CSM's column with no name keeps its cells
            header += [""] * (max(map(len, read.rows), default=0) - len(header))
        columns = header + new_columns

        history_data: list[Json] = []
        rows_needed: int | None = None
        if (plan.history_rows or plan.history_oldest_week) and self.history_title:
            history_data, report.history_rows_written, rows_needed = history_ranges(
                self.history_title, self._history, plan
            )
        data: list[Json] = []  # ValueRanges: where each cell goes, as a values write says it
        if new_columns:
            start = rowcol_to_a1(1, len(header) + 1)
            data.append({"range": f"{quote(self.accounts_title)}!{start}", "values": [new_columns]})
            report.columns_added = len(new_columns)
        by_column = cells_at_key_rows(
            plan, columns, read.keys, key_column=self.key_column, title=self.accounts_title
        )
        if plan.formatting is not None:
            owned = [header.index(c) for c in plan.formatting.agent_columns if c in header]
            by_column = keyless_rows_cleared(by_column, read.rows, read.keys, owned)
        data += column_ranges(self.accounts_title, by_column)
        report.cells_written = sum(len(rows) for rows, _ in by_column.values())
        data += history_data
        moved = MovedRows(
            self.call, self.send_values, self.spreadsheet_id, read, self.rewrite_tries
        )
        moved.read_width = len(header)
        # the key cells of the rows written (and the header), read back in the same call
        read_back = moved.read_back_ranges(columns, by_column) if by_column else []
        report.formatting_written, found = self._update_sheet(
            plan, columns, rows_needed, data, read_back
        )
        if data:
            self._header = columns
            if history_data and self.history_title is not None:
                self._tabs_seen = (self.accounts_title, self.history_title)
            if by_column:
                report.rewrites = moved.put_right(
                    plan, columns, by_column, len(header) if new_columns else None, found
                )
        # the sheet changed or may change: the next write starts from a fresh read, and
        # what this one read is the caller's snapshot's alone
        self.metadata = None
        self._accounts, self._history = None, None
        return report

    def send_values(self, data: list[Json]) -> None:
        """One values:batchUpdate (RAW), split by size, never sent twice blindly."""
        self.sender.send_values(data)

    def values_not_landed(self, sent: list[Json]) -> list[Json]:
        return self.sender.values_not_landed(sent)

    def _titles(self) -> set[str]:
        return {s["properties"]["title"] for s in (self.metadata or {}).get("sheets", [])}

    def _layout_requests(
        self, accounts: Json, plan: WritePlan, columns: list[str], rows_needed: int | None
    ) -> tuple[list[Json], list[Json]]:
        """The grid changes (columns, the history tab and its rows) and the formatting
        requests that would bring the tabs up to date."""
        changes = capacity.grow_columns_requests(accounts, len(columns))
        if plan.formatting is not None and plan.freshness and not plan.is_empty():
            sheet_id = int(accounts["properties"].get("sheetId", 0))
            changes += look.freshness_requests(sheet_id, columns, plan.formatting, plan.freshness)
        history = self.tab_properties(self.history_title)
        if rows_needed is not None and self.history_title is not None:
            made_id = (
                None if history else capacity.free_sheet_id(self.metadata or {}, self.history_title)
            )
            grown = capacity.history_tab_requests(
                history, self.history_title, plan, rows_needed, sheet_id=made_id
            )
            changes += grown
            # the tab as it will be after these changes: its columns sized in the same call
            history = capacity.history_after(history, grown)
        wanted = (
            formatting.formatting_requests(accounts, columns, plan.formatting, history)
            + views.view_requests(accounts, columns, plan.formatting, plan.owners)
            if plan.formatting is not None
            else []
        )
        return changes, wanted

    def _update_sheet(
        self,
        plan: WritePlan,
        columns: list[str],
        rows_needed: int | None,
        cells: list[Json],
        read_back: list[str],
    ) -> tuple[bool, ReadBack | None]:
        """Make room for the cells (columns, the history tab and its rows), bring the
        formatting up to date and write the cells, in one spreadsheets.batchUpdate that
        reads `read_back` again in its reply (`cell_updates.py`); more than one only when
        the cells do not fit in 2 MB. Whether formatting went, and the reply that read back.

        That call deletes rules and ranges by position and id: made twice, the second time
        could fall on a person's rule. So it is not sent again blindly when its answer is
        lost: the metadata is read again, and the cells it carried (read back by the values
        API), and what still differs is sent (bounded tries). Formatting Google refuses (a
        freeze a merged cell forbids) is left out and the call made again without it: the
        cells still land.
        """
        many = sum(len(line) for item in cells for line in item.get("values", ()))
        if many > self.cells_in_one_call:
            return self._write_many(plan, columns, rows_needed, cells, read_back)
        client = self.client()
        tries = client.max_tries
        maybe_made = False
        refused: set[str] = set()  # formatting Google refused this pass: left out
        left = list(cells)  # the cells not known to have landed
        for attempt in range(tries + 1):  # the last round only looks
            accounts = self.tab_properties(self.accounts_title)
            if accounts is None:  # renamed or deleted since the read
                raise TransientError(
                    f'The tab "{self.accounts_title}" is gone since the pass read it; the next '
                    "pass will look again."
                )
            changes, wanted = self._layout_requests(accounts, plan, columns, rows_needed)
            wanted = [w for w in wanted if json.dumps(w, sort_keys=True) not in refused]
            if not changes and not wanted and not left:
                return maybe_made, None
            if attempt == tries:
                raise TransientError(
                    f"Google Sheets did not confirm the agent's changes after {tries} tries (or "
                    "a person kept changing the rules meanwhile); the next pass will look again."
                )
            theirs = [
                (i, r)
                for i, r in enumerate(accounts.get("conditionalFormats", []))
                if not formatting.is_agent_rule(r)
            ]
            ids = self._sheet_ids(changes)
            requests_ = changes + wanted
            [(first, carried), *more] = cell_updates.bodies(
                requests_, left, ids, read_back, self.max_body_bytes
            )
            try:
                reply = self.sender.send_batch(first)
            except UnsureWrite as exc:
                maybe_made = maybe_made or bool(wanted)
                log.info("Sheet update unconfirmed (%s); reading what landed", exc)
                if attempt < tries - 1:
                    client.sleep(backoff(attempt, client.rng))
                left = self._after_unsure(theirs, left[:carried]) + left[carried:]
                continue
            except SheetError as exc:
                self._refused(exc, requests_, len(changes), refused)
                continue
            answers = self._answers(reply, accounts, requests_)
            left = left[carried:]
            if rules_put_back.put_back(self, formatting.persons_rules_deleted(requests_, answers)):
                maybe_made = True  # the agent's rules may now be there twice: look again
                continue
            last: Json | None = reply
            if more:  # cells that did not fit in the first call
                last = self.sender.send_cells(left, ids, read_back)
            back = None if last is None else cell_updates.read_back_rows(last, self.accounts_title)
            made = bool(wanted) or maybe_made
            return made, ReadBack(back, typed=True) if back is not None and read_back else None
        raise AssertionError("unreachable: the last round returns or raises")

    def _refused(
        self, exc: SheetError, requests_: list[Json], first: int, refused: set[str]
    ) -> None:
        """A batchUpdate Google refused (all or nothing: it made no change). Formatting the
        cells can go without (a freeze a merged cell forbids, a dropdown Google will not
        take) joins `refused`, left out of the next try; a rule or protection a person
        deleted since the read has the metadata read again; anything else is raised."""
        left_out = refusals.refused_formatting(str(exc), requests_, first)
        if left_out is not None:
            log.warning("Formatting left out this pass: %s", exc)
            refused.add(json.dumps(left_out, sort_keys=True))
            return
        if not refusals.changed_meanwhile(str(exc)):
            raise exc
        log.info("Formatting changed during the pass (%s); reading it again", exc)
        self.metadata = self.read_metadata()

    def _answers(self, reply: Json, accounts: Json, requests_: list[Json]) -> list[Json]:
        """The replies to `requests_` (the cells' own, empty, left out), the rules a delete
        names opened at the bottom; a tab the call added joins the metadata."""
        rows = int(accounts["properties"].get("gridProperties", {}).get("rowCount", 0))
        answers = [opened_answer(a, rows) for a in reply.get("replies", [])][: len(requests_)]
        for answer in answers:
            if "addSheet" in answer and self.metadata is not None:
                self.metadata.setdefault("sheets", []).append(
                    {"properties": answer["addSheet"]["properties"]}
                )
        return answers

    def _write_many(
        self,
        plan: WritePlan,
        columns: list[str],
        rows_needed: int | None,
        cells: list[Json],
        read_back: list[str],
    ) -> tuple[bool, ReadBack | None]:
        """Many cells (a first pass, a week's history): the grid changes and the formatting
        in a call of their own, then the cells as a values write, a quarter of the bytes of
        updateCells, reading the keys back in its answer."""
        made, _ = self._update_sheet(plan, columns, rows_needed, [], [])
        ask = [] if self._read_back_refusable() else read_back
        found = self.sender.send_values(cells, ask)
        return made, None if found is None else ReadBack(found, typed=False)

    def _after_unsure(self, theirs: list[formatting.Place], sent: list[Json]) -> list[Json]:
        """After a batchUpdate whose answer was lost: the metadata read again, a person's
        rule gone since put back (one a delete fell on, if the call was made: its answer,
        which names the rules it deleted, is lost), and the cells it carried that did not
        land (all of them or none: the call is atomic)."""
        self.metadata = self.read_metadata()
        now = (self.tab_properties(self.accounts_title) or {}).get("conditionalFormats", [])
        rules_put_back.put_back(
            self, formatting.persons_rules_gone(theirs, now), read_just_now=True
        )
        return self.values_not_landed(sent)

    def _read_back_refusable(self) -> bool:
        """Whether a person's protected range on the accounts tab might refuse the nulls a
        values write reads the keys back with (what Google makes of nulls there is not
        written anywhere): then the keys are read in a call of their own."""
        tab = self.tab_properties(self.accounts_title) or {}
        return any(
            not p.get("warningOnly")
            and not str(p.get("description", "")).startswith(formatting.AGENT_MARK)
            for p in tab.get("protectedRanges", [])
        )

    def _sheet_ids(self, changes: list[Json]) -> dict[str, int]:
        """Each tab's id by title; a tab `changes` adds gets one here, so that its cells can
        be written in the same call."""
        ids = {
            s["properties"]["title"]: int(s["properties"].get("sheetId", 0))
            for s in (self.metadata or {}).get("sheets", [])
        }
        for change in changes:
            if "addSheet" in change:
                made = change["addSheet"]["properties"]
                made.setdefault("sheetId", cell_updates.new_sheet_id(made["title"], ids.values()))
                ids[made["title"]] = made["sheetId"]
        return ids

    def send_formatting(self, body: Json) -> Any:
        """One spreadsheets.batchUpdate, never sent twice by the client (UnsureWrite when
        its answer is lost)."""
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id
        return self.call(lambda c: c.request("post", url, json=body, replayable=False).json())
