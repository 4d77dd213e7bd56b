"""Build what a config names: the store, the playbooks, the bundled folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config import Config
from agent.stores.base import Store


def bundled(folder: str) -> Path:
    """A folder shipped with the agent (sheet_templates, playbooks), installed or in a clone."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled" / folder, here.parent / folder):
        if candidate.is_dir():
            return candidate
    return here.parent / folder


def open_store(config: Config) -> Store:
    """The store the config's `[sheet] backend` names."""
    sheet = config.sheet
    if sheet.backend == "google":
        from agent.stores.google import GoogleStore

        assert sheet.spreadsheet_id is not None
        return GoogleStore(
            spreadsheet_id=sheet.spreadsheet_id,
            worksheet=sheet.worksheet,
            key_column=sheet.key_column,
            history_worksheet=sheet.history_worksheet,
            credentials=config.google.credentials,
            endpoint=config.google.endpoint,
            timeout_s=config.google.timeout_s,
        )
    from agent.stores.workbook import WorkbookStore

    assert sheet.workbook is not None
    return WorkbookStore(
        sheet.workbook,
        worksheet=sheet.worksheet,
        key_column=sheet.key_column,
        history_worksheet=sheet.history_worksheet,
    )


def load_next_actions(config: Config) -> Any:
    """The playbook set of `[playbooks] dir`, or None when no folder is configured."""
    if config.playbooks_dir is None:
        return None
    from agent.playbooks import load_playbooks

    return load_playbooks(config.playbooks_dir)
