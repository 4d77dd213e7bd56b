"""The store interface: read a sheet's tabs, write back the agent's cells.

A store knows nothing about scoring. It hands out what the sheet shows (`Snapshot`)
and applies a `WritePlan` made by the pure core. Agent cells are addressed by the
account key, never by the row position seen at read time, so a CSM who sorts or
inserts rows during a pass never gets a score on the wrong account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from agent.cells import CellValue
from agent.plan import WritePlan, WriteReport


@dataclass
class Tab:
    """One tab as the sheet shows it: its header row, then its data rows (ragged allowed)."""

    title: str
    header: list[str]
    rows: list[list[CellValue]]


@dataclass
class Snapshot:
    """What one read of the sheet returns: the accounts tab and the history tab if any."""

    accounts: Tab
    history: Tab | None = None


class Store(Protocol):
    """A place where the accounts sheet lives."""

    def read(self) -> Snapshot:
        """Return the accounts tab and the history tab (None when it does not exist yet).

        The rows may be the ones the store keeps for its next write: read them, do not
        change them."""
        ...

    def write(self, plan: WritePlan) -> WriteReport:
        """Apply the plan; write nothing when the plan is empty and formatting is current."""
        ...

    def location(self) -> str:
        """A link or path a person can open to see the sheet."""
        ...


def tab_named(titles: Iterable[str], wanted: str | None) -> str | None:
    """The tab a configured name means: the tab of that exact title, else the one whose
    title differs only in case. Google Sheets and Excel hold tab names unique ignoring case
    (a second "historique" beside "Historique" is refused), so there is at most one."""
    if wanted is None:
        return None
    titles = list(titles)
    if wanted in titles:
        return wanted
    return next((t for t in titles if t.casefold() == wanted.casefold()), None)
