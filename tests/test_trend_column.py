"""The trend column (issue 21, `output.trend`): the score's change over four weeks as text a
CSM reads ("▲ +2", "▼ −3", "="), blank until the history holds four weeks; over passes
given their day (a fake clock), never the wall clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib

import pytest

from agent.config import Config, OutputColumns, parse_config
from agent.errors import ConfigError
from agent.history import trend_text
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.conftest import ROOT, example_config
from tests.test_scoring import LOW, MID, SEED_COLUMNS, TOP

MONDAY_W45 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HEADER = ["Client", "CSM", *SEED_COLUMNS]


@pytest.mark.parametrize(
    ("delta", "language", "shown"),
    [
        (2.0, "fr", "▲ +2"),
        (-3.0, "fr", "▼ \u22123"),
        (0.0, "en", "="),
        (1.5, "fr", "▲ +1,5"),
        (-0.5, "en", "▼ \u22120.5"),
        (None, "fr", ""),
    ],
)
def test_a_change_reads_as_an_arrow_and_a_signed_number(delta, language, shown) -> None:
    assert trend_text(delta, language) == shown


def with_trend(config: Config, name: str = "Tendance") -> Config:
    out = config.output
    output = OutputColumns(out.score, out.status, out.why, out.next_action, trend=name)
    return dataclasses.replace(config, output=output, playbooks_dir=None)


def trends_of(store: MemoryStore) -> dict[str, str]:
    header = store.accounts.header
    at = header.index("Tendance")
    return {row[0]: (row[at] if at < len(row) else "") for row in store.accounts.rows}


def test_the_trend_stays_blank_until_four_weeks_of_history_then_shows_the_change(
    seed_config: Config,
) -> None:
    config = with_trend(seed_config)
    rows = [["Acme", "Léa", *TOP], ["Boréal", "Léa", *MID], ["Cèdre", "Hugo", *MID]]
    store = MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")
    for week in range(4):  # W45 to W48: no row four weeks back yet
        run_pass(store, config, now=MONDAY_W45 + dt.timedelta(weeks=week))
        assert set(trends_of(store).values()) <= {None, ""}
    assert store.accounts.header[-1] == "Tendance"  # the agent's own column, appended
    store.accounts.rows[0][2:] = LOW  # Acme falls, Cèdre rises, Boréal holds
    store.accounts.rows[2][2:] = TOP
    result = run_pass(store, config, now=MONDAY_W45 + dt.timedelta(weeks=4))  # W49
    scores = result.accounts.set_index("key")["shown"]
    trends = trends_of(store)
    assert trends["Boréal"] == "="
    assert trends["Acme"].startswith("▼ \u2212") and trends["Cèdre"].startswith("▲ +")
    assert trends["Acme"] == trend_text(scores["Acme"] - 8, "fr")  # from TOP's full score
    assert not any(t.startswith("=") and len(t) > 1 for t in trends.values())  # no formula
    again = run_pass(store, config, now=MONDAY_W45 + dt.timedelta(weeks=4, days=1))
    assert not again.plan.cells  # an unchanged pass writes nothing


def test_without_the_key_no_trend_column_is_written(seed_config: Config) -> None:
    config = dataclasses.replace(seed_config, playbooks_dir=None)
    store = MemoryStore(HEADER, [["Acme", "Léa", *TOP]], key_column="Client")
    run_pass(store, config, now=MONDAY_W45)
    assert "Tendance" not in store.accounts.header and len(store.accounts.header) == 10


def test_the_trend_names_its_own_column(tmp_path) -> None:
    assert example_config(tmp_path).output.trend is None
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["output"]["trend"] = "Score"
    with pytest.raises(ConfigError, match="four different column names"):
        parse_config(data, tmp_path / "config.toml")
    data["output"]["trend"] = "Trend"
    assert parse_config(data, tmp_path / "config.toml").output.all()[-1] == "Trend"
