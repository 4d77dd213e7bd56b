"""A team's workbook and its config, for the workbook store's tests."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

from agent.config import Config, load_config
from agent.from_config import load_next_actions, open_store
from agent.sheet_templates import init
from agent.stores.workbook import WorkbookStore
from agent.sync import PassResult, run_pass

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent / "fixtures"
TEAM_FILE = FIXTURES / "team_libreoffice.xlsx"


def team_config(tmp_path: Path, workbook_from: Path | None = TEAM_FILE) -> Config:
    """The startup template's config, its workbook replaced by `workbook_from`."""
    workbook = tmp_path / "comptes.xlsx"
    config_path = tmp_path / "config.toml"
    init("startup", "fr", workbook, config_path)
    if workbook_from is not None:
        shutil.copyfile(workbook_from, workbook)
    return load_config(config_path)


def store_of(config: Config) -> WorkbookStore:
    store = open_store(config)
    assert isinstance(store, WorkbookStore)
    return store


def one_pass(config: Config, now: dt.datetime = NOW) -> PassResult:
    return run_pass(store_of(config), config, now=now, next_actions=load_next_actions(config))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def scores(result: PassResult) -> dict[str, tuple[object, object]]:
    accounts = result.accounts
    return dict(
        zip(
            accounts["key"],
            zip(accounts["shown"].tolist(), accounts["status"].tolist(), strict=True),
            strict=True,
        )
    )
