"""Build what a config names: the store, the playbooks, the bundled folders."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import Config
from agent.ratelimit import RateLimit
from agent.stores.base import Store

if TYPE_CHECKING:
    from agent.schedule import Agent, DigestSender
    from agent.state import AgentStatus
    from agent.sync import PassResult


def bundled(folder: str) -> Path:
    """A folder shipped with the agent (sheet_templates, playbooks), installed or in a clone."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled" / folder, here.parent / folder):
        if candidate.is_dir():
            return candidate
    return here.parent / folder


def open_store(
    config: Config, sleep: Callable[[float], None] = time.sleep, rate_limit: RateLimit | None = None
) -> Store:
    """The store the config's `[sheet] backend` names (`sleep`: the wait between retries)."""
    sheet = config.sheet
    if sheet.backend == "google":
        from agent.stores.google import GoogleStore

        return GoogleStore.from_config(config, sleep=sleep, rate_limit=rate_limit)
    from agent.stores.workbook import WorkbookStore

    assert sheet.workbook is not None
    return WorkbookStore(
        sheet.workbook,
        worksheet=sheet.worksheet,
        key_column=sheet.key_column,
        history_worksheet=sheet.history_worksheet,
        language=config.language,
    )


def load_next_actions(config: Config) -> Any:
    """The playbook set of `[playbooks] dir`, or None when no folder is configured."""
    if config.playbooks_dir is None:
        return None
    from agent.playbooks import load_playbooks

    return load_playbooks(config.playbooks_dir)


def sheet_location(config: Config) -> str:
    """A link (Google) or a path (workbook) a person can open to see the sheet."""
    if config.sheet.backend == "google":
        from agent.stores.google import sheet_url

        return sheet_url(config.sheet.spreadsheet_id or "")  # the config requires an id
    return str(config.sheet.workbook)


def digest_sender(config: Config) -> DigestSender:
    """What the agent calls when a digest may be due: deliver it if it is."""
    from agent.delivery import deliver

    def send(now: dt.datetime, result: PassResult | None, status: AgentStatus) -> str | None:
        if result is None:
            return None
        outcome = deliver(
            config,
            result,
            now=now,
            location=sheet_location(config),
            last_synced=status.last_success_time(),
        )
        return outcome.week if outcome.sent else None

    return send


def build_agent(config: Config, rate_limit: RateLimit | None = None) -> Agent:
    """The unattended agent for a config: its store, playbooks and digest."""
    from agent.schedule import Agent

    return Agent(
        config,
        open_store=lambda sleep: open_store(config, sleep, rate_limit),
        next_actions=lambda: load_next_actions(config),  # re-read every pass
        send_digest=digest_sender(config),
    )
