"""Writing cells when Google's answer may be lost: never sent twice blindly.

A write whose answer is lost (a timeout, a 5xx after it was sent) may have landed. The
cells it names are read back (values API, one call), and only the ranges that do not hold
what was sent go again, a bounded number of times. The cells go as a values:batchUpdate
(RAW, the rewrites of rows moved) or as updateCells in a spreadsheets.batchUpdate
(`cell_updates.py`, the pass's own write).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_UPDATE_URL
from gspread.utils import a1_to_rowcol, rowcol_to_a1

from agent.errors import TransientError, UnsureWrite
from agent.stores.google import cell_updates, typed
from agent.stores.google.client import AgentHTTPClient, Params, backoff
from agent.stores.google.ranges import Json, bodies

log = logging.getLogger("agent.google")

RAW_HEAD = b'{"valueInputOption":"RAW",'  # how `ranges.bodies` starts a values body
# A values write that reads ranges back in its answer: a range written with nulls only
# ("Null values will be skipped", ValueRange.values) comes back whole ("If the range to
# write was larger than the range actually written, the response includes all values in
# the requested range", BatchUpdateValuesRequest.includeValuesInResponse; both in the
# discovery document, sheets.v4.json)
READ_BACK = (
    b'{"valueInputOption":"RAW","includeValuesInResponse":true,'
    b'"responseValueRenderOption":"UNFORMATTED_VALUE",'
)


def sent_area(sent: Json) -> str:
    """The whole area a ValueRange wrote: its range may name its first cell only."""
    title, cells = sent["range"].rsplit("!", 1)
    row, col = a1_to_rowcol(cells.split(":")[0])
    values = sent.get("values", [])
    height, width = len(values), max((len(v) for v in values), default=1)
    if sent.get("majorDimension") == "COLUMNS":
        height, width = width, height
    last = rowcol_to_a1(row + max(height, 1) - 1, col + max(width, 1) - 1)
    return f"{title}!{rowcol_to_a1(row, col)}:{last}"


def landed(sent: Json, now: list[list[Any]]) -> bool:
    """Whether cells read back (rows) hold what a ValueRange sent (RAW)."""
    rows = sent.get("values", [])
    if sent.get("majorDimension") == "COLUMNS":
        height = max((len(c) for c in rows), default=0)
        rows = [[c[i] if i < len(c) else None for c in rows] for i in range(height)]
    for r, row in enumerate(rows):
        got = now[r] if r < len(now) else []
        for c, value in enumerate(row):
            if value is None:
                continue  # null leaves a cell as it is
            there = got[c] if c < len(got) else ""
            if there != value and not (
                isinstance(value, int | float) and isinstance(there, int | float) and there == value
            ):
                return False
    return True


@dataclass
class CellsSender:
    """Sends cells and reads back what landed when an answer is lost."""

    call: Callable[[Callable[[AgentHTTPClient], Any]], Any]  # one API call, refusals explained
    client: Callable[[], AgentHTTPClient]
    spreadsheet_id: str
    max_body_bytes: int
    titles: Callable[[], set[str]]  # the tabs that exist, as last read

    def send_values(
        self, data: list[Json], read_back: list[str] | None = None
    ) -> list[list[list[Any]]] | None:
        """values:batchUpdate (RAW: text stays text), split so no body exceeds the limit;
        the last body reads `read_back` again (`READ_BACK`), and the rows of each of those
        ranges are returned (None when nothing was read back).

        A body whose answer is lost (a timeout, a 5xx after it was sent) may have landed:
        it is not sent again blindly. The cells it names are read back, and only the ranges
        that do not hold what was sent go again (bounded tries)."""
        client = self.client()
        asked = [{"range": r, "values": [[None]]} for r in read_back or []]
        found: list[list[list[Any]]] | None = None
        sent = list(bodies(data + asked, self.max_body_bytes - len(READ_BACK)))
        for n, body in enumerate(sent):
            left: bytes | None = body
            if asked and n == len(sent) - 1:
                left = READ_BACK + body[len(RAW_HEAD) :]
            for attempt in range(client.max_tries):
                assert left is not None
                try:
                    answer = self.post_values(left)
                    if left.startswith(READ_BACK):
                        found = [
                            (r.get("updatedData") or {}).get("values", [])
                            for r in (answer.get("responses") or [])[-len(asked) :]
                        ]
                    break
                except UnsureWrite as exc:
                    log.info("Values write unconfirmed (%s); reading what landed", exc)
                    client.sleep(backoff(attempt, client.rng))
                    # the ranges only read back (nulls) hold what they "sent": left out
                    missing = self.values_not_landed(json.loads(left)["data"])
                    if not missing:
                        break
                    left = next(iter(bodies(missing, len(left) + 1)))
            else:
                raise TransientError(
                    f"Google Sheets did not confirm the agent's cells after {client.max_tries} "
                    "tries; the next pass will look again."
                )
        return found if found is not None and len(found) == len(asked) else None

    def post_values(self, body: bytes) -> Any:
        url = SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return self.call(
            lambda c: c.request("post", url, data=body, headers=headers, replayable=False).json()
        )

    def values_not_landed(self, sent: list[Json]) -> list[Json]:
        """The ValueRanges whose cells do not hold what they sent, read back in one call
        (a tab that does not exist now holds none of them)."""
        titles = self.titles()
        there = [item for item in sent if cell_updates.tab_of(item) in titles]
        if not there:
            return list(sent)
        params: Params = {"valueRenderOption": "UNFORMATTED_VALUE", "majorDimension": "ROWS"}
        ranges = [sent_area(item) for item in there]
        answer = self.call(lambda c: c.values_batch_get(self.spreadsheet_id, ranges, params))
        found = answer.get("valueRanges", [])
        landed_ids = {
            id(item)
            for i, item in enumerate(there)
            if i < len(found) and landed(item, found[i].get("values", []))
        }
        return [item for item in sent if id(item) not in landed_ids]

    def send_batch(self, body: bytes) -> Json:
        """One spreadsheets.batchUpdate, never sent twice by the client (UnsureWrite when its
        answer is lost); its reply holds the replies and what it read back."""
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id
        headers = {"Content-Type": "application/json; charset=utf-8"}
        params: Params = {"fields": cell_updates.REPLY_FIELDS}
        return dict(
            self.call(
                lambda c: typed.loads(
                    c.request(
                        "post", url, params=params, data=body, headers=headers, replayable=False
                    ).content
                )
            )
        )

    def send_cells(
        self, cells: list[Json], ids: dict[str, int], read_back: list[str]
    ) -> Json | None:
        """Cells that did not fit in the first call, in calls of under 2 MB, the last one
        reading back; an unsure answer is read back before anything goes again. The last
        reply (None when the cells were found landed: nothing read back)."""
        client = self.client()
        reply: Json | None = None
        while cells:
            [(body, carried), *_] = cell_updates.bodies(
                [], cells, ids, read_back, self.max_body_bytes
            )
            for attempt in range(client.max_tries):
                try:
                    reply = self.send_batch(body)
                    cells = cells[carried:]
                    break
                except UnsureWrite as exc:
                    log.info("Cells write unconfirmed (%s); reading what landed", exc)
                    client.sleep(backoff(attempt, client.rng))
                    sent = self.values_not_landed(cells[:carried])
                    cells, reply = sent + cells[carried:], None
                    if not sent:
                        break
                    [(body, carried), *_] = cell_updates.bodies(
                        [], cells, ids, read_back, self.max_body_bytes
                    )
            else:
                raise TransientError(
                    f"Google Sheets did not confirm the agent's cells after {client.max_tries} "
                    "tries; the next pass will look again."
                )
        return reply
