"""Exactly one digest a week across processes: two senders at once, a slow real SMTP
server on loopback, one message."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest

from agent.config import load_config
from agent.delivery import ledger_for
from agent.sheet_templates import init
from tests import digest_processes
from tests.smtp_fixtures import start_server

MONDAY_9_PARIS = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def slow_server(tmp_path):
    controller, inbox = start_server(tmp_path, delay_s=2.0)  # each message takes 2 s
    yield controller, inbox
    controller.stop()


def sample_with_smtp(tmp_path: Path, port: int) -> Path:
    config_path = tmp_path / "config.toml"
    init("startup", "fr", tmp_path / "comptes.xlsx", config_path)
    text = config_path.read_text(encoding="utf-8")  # init names no recipient: one here
    config_path.write_text(text.replace("to = []", 'to = ["lead@example.com"]'), "utf-8")
    with config_path.open("a", encoding="utf-8") as out:
        out.write(
            f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'sender = "Agent <agent@example.com>"\ntimeout_s = 20\n'
        )
    return config_path


def race(config_path: Path, *targets) -> list[tuple[str, bool, str]]:
    """Start each target in its own process; they send at the same moment."""
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(targets))
    answers = spawn.Queue()
    children = [
        spawn.Process(target=t, args=(config_path, MONDAY_9_PARIS, start, answers)) for t in targets
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert all(child.exitcode == 0 for child in children)
    return sorted(answers.get(timeout=5) for _ in children)


def test_two_digest_commands_at_once_send_one_message(tmp_path, slow_server):
    controller, inbox = slow_server
    config_path = sample_with_smtp(tmp_path, controller.port)
    answers = race(config_path, digest_processes.manual_digest, digest_processes.manual_digest)
    assert len(inbox.messages) == 1
    assert sorted(sent for _, sent, _ in answers) == [False, True]
    assert {reason for _, sent, reason in answers if not sent} <= {"being sent", "already sent"}
    assert ledger_for(load_config(config_path)).state("default", "2026-W50") == "sent"


def test_run_and_a_manual_digest_at_once_send_one_message(tmp_path, slow_server):
    controller, inbox = slow_server
    config_path = sample_with_smtp(tmp_path, controller.port)
    answers = race(config_path, digest_processes.agent_digest, digest_processes.manual_digest)
    assert len(inbox.messages) == 1
    assert sorted(sent for _, sent, _ in answers) == [False, True]
