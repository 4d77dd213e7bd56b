"""What runs in the child processes of tests/test_digest_once.py (importable by spawn)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from agent.config import load_config
from agent.delivery import deliver
from agent.from_config import build_agent, load_next_actions, open_store, sheet_location
from agent.state import StateFolder
from agent.sync import run_pass


def manual_digest(config_path: Path, now: dt.datetime, start: Any, answers: Any) -> None:
    """`health-agent digest` (cli.cmd_digest's library call), started with the others."""
    config = load_config(config_path)
    result = run_pass(
        open_store(config), config, now=now, next_actions=load_next_actions(config), dry_run=True
    )
    start.wait(timeout=60)
    outcome = deliver(
        config, result, now=now, location=sheet_location(config), last_synced=now, by_hand=True
    )
    answers.put(("manual", outcome.sent, outcome.reason))


def agent_digest(config_path: Path, now: dt.datetime, start: Any, answers: Any) -> None:
    """`health-agent run` at its digest time: a pass, then the digest if due."""
    config = load_config(config_path)
    agent = build_agent(config)
    agent.sync(now)
    start.wait(timeout=60)
    week = agent.digest(now)
    status = StateFolder(config.state_dir).read_status()
    answers.put(("run", week is not None, status.last_digest_week or "not sent"))
