"""Config validation: every malformed file gets a message naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from tests.conftest import ROOT

EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads_and_is_the_seed_grid():
    config = load_config(ROOT / "config.example.toml")
    assert config.language == "fr"
    assert [c.id for c in config.model.criteria] == [
        "usage",
        "responsiveness",
        "feedback",
        "adoption",
    ]
    assert config.model.scale == 8
    assert (config.model.green, config.model.orange) == (6, 3)
    assert config.sheet.workbook == ROOT / ".health-agent" / "comptes.xlsx"  # a copy: see README


MALFORMED = [
    # (what the admin did, replace this, with this, the key the message must name)
    ("typo in a top key", 'language = "fr"', 'langage = "fr"', "langage", "language"),
    (
        "typo in a table key",
        'key_column = "Client"',
        'key_colum = "Client"',
        "sheet.key_colum",
        "key_column",
    ),
    ("unknown language", 'language = "fr"', 'language = "de"', "language", None),
    ("scale as text", "scale = 8", 'scale = "huit"', "model.scale", None),
    (
        "negative weight",
        'label = "Réactivité"\nweight = 1',
        'label = "Réactivité"\nweight = -1',
        "model.criteria[1].weight",
        None,
    ),
    (
        "both points and bands",
        'id = "usage"',
        'id = "usage"\nbands = [ { min = 1, points = 1 } ]',
        "model.criteria[0]",
        None,
    ),
    (
        "missing criterion column",
        'column = "Feedback client"\n',
        "",
        "model.criteria[2].column",
        None,
    ),
    (
        "thresholds upside down",
        "thresholds = { green = 6, orange = 3 }",
        "thresholds = { green = 3, orange = 6 }",
        "model.thresholds",
        None,
    ),
    (
        "bad missing mode",
        'missing = "renormalize"',
        'missing = "renormalise"',
        "model.missing",
        "renormalize",
    ),
    ("unknown backend", 'backend = "workbook"', 'backend = "excel"', "sheet.backend", None),
    (
        "history in the accounts tab",
        'history_worksheet = "Historique"',
        'history_worksheet = "comptes"',
        "sheet.history_worksheet",
        None,
    ),
    ("bad digest day", 'day = "mon"', 'day = "monday"', "digest.day", None),
    ("bad time", 'time = "08:00"', 'time = "8h"', "digest.time", None),
    ("bad timezone", 'timezone = "Europe/Paris"', 'timezone = "Paris"', "digest.timezone", None),
    (
        "points label worth text",
        '"Inactif" = 0',
        '"Inactif" = "zéro"',
        'model.criteria[0].points."Inactif"',
        None,
    ),
    ("duplicate criterion id", 'id = "adoption"', 'id = "usage"', "model.criteria[3].id", None),
    (
        "unknown key in a criterion",
        'label = "Adoption"',
        'labl = "Adoption"',
        "model.criteria[3].labl",
        "label",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "key", "hint"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_config_names_the_file_and_the_key(tmp_path, case, old, new, key, hint):
    assert old in EXAMPLE, case
    path = write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"`{key}`" in message
    if hint:
        assert f'"{hint}"' in message  # the "did you mean" or the allowed values


def test_invalid_toml_says_where(tmp_path):
    path = write(tmp_path, EXAMPLE.replace('language = "fr"', "language = fr"))
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*line"):
        load_config(path)


def test_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigError, match="config.example.toml"):
        load_config(tmp_path / "nope.toml")


def test_a_password_in_the_file_is_refused(tmp_path):
    text = EXAMPLE + '\n[smtp]\nhost = "smtp.example.com"\npassword = "hunter2"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert "hunter2" not in str(caught.value)
    assert "password_env" in str(caught.value)


def test_relative_paths_are_taken_from_the_config_folder(tmp_path):
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.sheet.workbook == tmp_path / ".health-agent" / "comptes.xlsx"
    assert config.state_dir == tmp_path / ".health-agent"
