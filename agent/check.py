"""`health-agent check`: the config, access to the sheet, its columns, the room left in a
Google spreadsheet and the playbooks, checked in that order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.accounts import check_columns
from agent.config import Config
from agent.from_config import load_next_actions, open_store
from agent.history import history_header


def check_setup(config: Config, say: Callable[[str], None]) -> bool:
    """Check everything a pass needs, saying one line per check as it passes.

    False when a line says what to fix (Google's access check); a check that cannot go on
    raises the error that says what to fix. The lines come as each check ends, so a caller
    printing them shows the progress of a slow check.
    """
    say(
        f"config: {config.path} ok ({len(config.model.criteria)} criteria, "
        f"scale {config.model.scale:g}, model {config.model.version()})"
    )
    if config.sheet.backend == "google":
        from agent.stores.google import check_access

        lines = check_access(config)
        for line in lines:
            say(line)
        if any("problem:" in line for line in lines):
            return False  # the line above says what to fix
    store = open_store(config)
    snapshot = store.read()
    check_columns(snapshot.accounts, config)
    say(
        f'sheet: {store.location()} ok, tab "{snapshot.accounts.title}", '
        f"{len(snapshot.accounts.rows)} rows, every criterion column found"
    )
    if config.sheet.backend == "google":
        say(_cell_room(config, store, len(snapshot.accounts.rows)))
    if config.playbooks_dir is not None:
        load_next_actions(config)
        say(f"playbooks: {config.playbooks_dir} ok")
    return True


def _cell_room(config: Config, store: Any, accounts: int) -> str:
    """What `check` says of Google's 10 million cells: used now, and needed once the
    history tab holds every week `sheet.history_keep_weeks` keeps."""
    from agent.stores.google import GOOGLE_CELL_LIMIT, history_cells, weeks_that_fit

    other, history_now, history_columns = store.grid_cells()
    keep = config.sheet.history_keep_weeks
    # a row of the history tab costs every column of its grid, used or not
    width = max(
        len(history_header(config.model, config.sheet.key_column, config.language)),
        history_columns,
    )
    need = other + max(history_now, history_cells(accounts, keep, width))
    if need <= GOOGLE_CELL_LIMIT:
        return (
            f"cells: {other + history_now:,} of Google's {GOOGLE_CELL_LIMIT:,} used; "
            f"{keep} weeks of history for {accounts:,} accounts will need about {need:,}"
        )
    fit = weeks_that_fit(GOOGLE_CELL_LIMIT - other, accounts, width)
    advice = (
        f"set `sheet.history_keep_weeks` to {fit} or less"
        if fit >= 1
        else "empty unused rows and columns of the other tabs (their grids count too)"
    )
    return (
        f"cells: warning: {keep} weeks of history for {accounts:,} accounts need about "
        f"{need:,} cells with the other tabs, over Google's limit of {GOOGLE_CELL_LIMIT:,} a "
        f"spreadsheet: the agent could not add its history rows once there; {advice}."
    )
