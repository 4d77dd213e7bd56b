"""`health-agent check`: the config, access to the sheet, its columns, the room left in a
Google spreadsheet and the playbooks, checked in that order."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.accounts import check_columns
from agent.config import Config
from agent.contexts import CONTEXT_NAMES
from agent.errors import MailError, PlaybookError
from agent.findings import (
    absent_optional_columns,
    digest_route,
    ignored_playbook_files,
    placeholder_recipients,
    playbooks_in_another_language,
    status_words_in_when,
    unknown_names_sentence,
    unmatched_labels,
    unreadable_numbers,
)
from agent.folders import folder_problems
from agent.from_config import load_next_actions, open_store
from agent.history import history_header
from agent.mail import probe_smtp


def check_setup(
    config: Config, say: Callable[[str], None], env: Mapping[str, str] = os.environ
) -> bool:
    """Check everything a pass needs, saying one line per check as it passes.

    False when a line says what to fix (`problem:`: Google's access, a column, a label, a
    playbook, the digest's route, a folder, the SMTP server); a check that cannot go on
    raises the error that says what to fix. `env` holds the SMTP password's variable. The
    lines come as each check ends, so a caller printing them shows the progress of a slow
    check.
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
    problems = [
        f"sheet: problem: {p}"
        for p in absent_optional_columns(config, snapshot.accounts)
        + unmatched_labels(config, snapshot.accounts)
        + unreadable_numbers(config, snapshot.accounts)
    ]
    for line in problems:
        say(line)
    if config.playbooks_dir is not None:
        load_next_actions(config)
        found = [f"playbooks: problem: {p}" for p in playbook_problems(config)]
        for line in found or [f"playbooks: {config.playbooks_dir} ok"]:
            say(line)
        problems += found
    later = [f"digest: problem: {p}" for p in placeholder_recipients(config) + digest_route(config)]
    for key in ("state.dir", "digest.outbox"):
        later += [f"{key.split('.')[0]}: problem: {p}" for p in folder_problems(config, [key])]
    if config.smtp is not None:
        try:
            later.append(probe_smtp(config.smtp, env))
        except MailError as exc:
            later.append(f"smtp: problem: {exc}")
    for line in later:
        say(line)
    return not problems and not any("problem:" in line for line in later)


def playbook_problems(config: Config) -> list[str]:
    """Playbooks that load but will not do what their author meant: a file the agent
    skips, a name that exists nowhere, a status word of the team's language."""
    assert config.playbooks_dir is not None
    found = playbooks_in_another_language(config) + ignored_playbook_files(config.playbooks_dir)
    return found + meaning_problems(config.playbooks_dir, config.language)


def meaning_problems(directory: Path, language: str, names: bool = True) -> list[str]:
    """Per playbook file that parses: names that exist nowhere (with `names`) and status
    words of the team's language in `when`. A file that does not parse is left to the
    error that says so."""
    from agent.playbooks import make_environment, parse_playbook, playbook_files
    from agent.playbooks.check import unknown_names

    env = make_environment(language)
    known = set(CONTEXT_NAMES) | set(env.globals)
    found = []
    for path in playbook_files(directory):
        try:
            playbook = parse_playbook(path, env)
        except PlaybookError:
            continue
        unknown = unknown_names(playbook, env)
        if names and unknown:
            found.append(unknown_names_sentence(path.name, unknown, known))
        when = env.parse("{{ " + playbook.when_source + " }}")
        found += status_words_in_when(path.name, when)
    return found


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
            f"{keep} weeks of history for {_accounts(accounts)} will need about {need:,}"
        )
    fit = weeks_that_fit(GOOGLE_CELL_LIMIT - other, accounts, width)
    advice = (
        f"set `sheet.history_keep_weeks` to {fit} or less"
        if fit >= 1
        else "empty unused rows and columns of the other tabs (their grids count too)"
    )
    return (
        f"cells: warning: {keep} weeks of history for {_accounts(accounts)} need about "
        f"{need:,} cells with the other tabs, over Google's limit of {GOOGLE_CELL_LIMIT:,} a "
        f"spreadsheet: the agent could not add its history rows once there; {advice}."
    )


def _accounts(n: int) -> str:
    return "1 account" if n == 1 else f"{n:,} accounts"
