"""Numbers an admin can mistype (nan, inf, 1e12) are refused when the config loads, with
the file and the key, instead of leaving accounts unscored or ending in a traceback."""

from __future__ import annotations

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from tests.conftest import ROOT

EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
SMTP = '\n[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n'

BAD_NUMBERS = [
    # (what the admin wrote, replace this, with this, the key the message names)
    ("weight nan", "weight = 1\n", "weight = nan\n", "model.criteria[0].weight"),
    ("weight inf", "weight = 1\n", "weight = inf\n", "model.criteria[0].weight"),
    ("weight huge", "weight = 1\n", "weight = 1e300\n", "model.criteria[0].weight"),
    ("green nan", "green = 6,", "green = nan,", "model.thresholds.green"),
    ("orange nan", "orange = 3 }", "orange = nan }", "model.thresholds.orange"),
    ("orange -inf", "orange = 3 }", "orange = -inf }", "model.thresholds.orange"),
    ("scale inf", "scale = 8", "scale = inf", "model.scale"),
    ("keep nan", "history_keep_weeks = 104", "history_keep_weeks = nan", "history_keep_weeks"),
    ("keep inf", "history_keep_weeks = 104", "history_keep_weeks = inf", "history_keep_weeks"),
    ("keep 1e12", "history_keep_weeks = 104", "history_keep_weeks = 1e12", "history_keep_weeks"),
    ("google timeout nan", "timeout_s = 30", "timeout_s = nan", "google.timeout_s"),
    ("every nan", "sync_every_minutes = 10", "sync_every_minutes = nan", "sync_every_minutes"),
    ("every 1e9", "sync_every_minutes = 10", "sync_every_minutes = 1e9", "sync_every_minutes"),
    ("points nan", '"Inactif" = 0', '"Inactif" = nan', '"Inactif"'),
    ("points inf", '"Inactif" = 0', '"Inactif" = inf', '"Inactif"'),
]


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("replace", "with_", "key"),
    [case[1:] for case in BAD_NUMBERS],
    ids=[case[0] for case in BAD_NUMBERS],
)
def test_a_number_that_is_not_finite_or_is_absurd_is_refused_at_load(tmp_path, replace, with_, key):
    assert replace in EXAMPLE
    path = write(tmp_path, EXAMPLE.replace(replace, with_, 1))

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: `") and key in message
    assert "expected" in message


@pytest.mark.parametrize(
    ("line", "sentence"),
    [
        ("timeout_s = nan", "expected a finite number (not nan or inf), got nan."),
        ("timeout_s = inf", "expected a finite number (not nan or inf), got inf."),
        ("timeout_s = 86400", "expected a number no greater than 600, got 86400."),
        ("port = 70000", "expected a number no greater than 65535, got 70000."),
    ],
)
def test_smtp_numbers_out_of_range_are_refused_with_their_key(tmp_path, line, sentence):
    path = write(tmp_path, EXAMPLE + SMTP + line + "\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}: `smtp.{line.split(' ')[0]}`: {sentence}"


def test_a_band_with_a_nan_minimum_is_refused(tmp_path):
    text = EXAMPLE.replace(
        'points = { "Test actif" = 2, "Stagnation" = 1, "Régression" = 0 }',
        "bands = [ { min = nan, points = 2 }, { min = 0, points = 0 } ]",
    )
    with pytest.raises(ConfigError, match=r"`model.criteria\[3\].bands\[0\].min`: expected a fin"):
        load_config(write(tmp_path, text))


def test_the_history_kept_is_refused_past_twenty_years_and_taken_below(tmp_path):
    too_long = EXAMPLE.replace("history_keep_weeks = 104", "history_keep_weeks = 1041")
    with pytest.raises(ConfigError, match="no greater than 1040"):
        load_config(write(tmp_path, too_long))
    ok = EXAMPLE.replace("history_keep_weeks = 104", "history_keep_weeks = 1040")
    assert load_config(write(tmp_path, ok)).sheet.history_keep_weeks == 1040


@pytest.mark.parametrize(
    ("written", "short"), [("lundi", "mon"), ("Monday", "mon"), ("Vendredi", "fri")]
)
def test_a_day_written_in_full_or_in_french_suggests_its_short_name(tmp_path, written, short):
    text = EXAMPLE.replace('day = "mon"', f'day = "{written}"')

    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))

    assert f'did you mean "{short}"?' in str(caught.value)
    assert "`digest.day`" in str(caught.value)
