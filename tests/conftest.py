"""Shared fixtures: the seed model, a sample config, hypothesis profiles."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from agent.config import Config, parse_config
from tests.sheets_emulator import SheetsEmulator

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def example_config(tmp_path: Path, **sheet: object) -> Config:
    """config.example.toml, with its paths moved into tmp_path."""
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["sheet"].update({"workbook": str(tmp_path / "comptes.xlsx"), **sheet})
    data["playbooks"]["dir"] = str(ROOT / "playbooks" / data.get("language", "fr"))
    data["digest"]["outbox"] = str(tmp_path / "outbox")
    data["state"]["dir"] = str(tmp_path / "state")
    return parse_config(data, tmp_path / "config.toml")


@pytest.fixture
def seed_config(tmp_path: Path) -> Config:
    return example_config(tmp_path)


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """A command run in a test sets its own log handler on the root logger, writing to that
    test's captured stderr; a server thread logging after the test would write to a closed
    stream ("--- Logging error ---"). Each test leaves the root logger as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def emulator() -> Iterator[SheetsEmulator]:
    """The Sheets API emulator on a loopback port, stopped after the test."""
    with SheetsEmulator() as running:
        yield running
