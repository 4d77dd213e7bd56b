"""`health-agent calibrate`: the score checked against churns that really happened.

The big test runs the command on a workbook holding a synthetic year made by
tests/churn_history.py, whose truth (the hazard's weights) is known, and compares the
command's figures with figures computed here from the generator's own arrays.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from agent.calibrate import MIN_CHURNS, calibrate
from agent.calibrate_words import calibration_lines
from agent.cli import main
from agent.scoring import Criterion, Model
from tests.churn_history import CRITERIA, TRUE_WEIGHTS, ChurnHistory, generate

LEVELS = {"High": 2, "Mid": 1, "Low": 0}
TODAY = dt.date(2026, 12, 6)


def write_team(folder: Path, history: ChurnHistory, language: str = "en") -> Path:
    """A workbook with the accounts (churn dates filled in) and the history, and a config."""
    book = Workbook(write_only=True)
    accounts = book.create_sheet("Accounts")
    accounts.append(["Account", "CSM", *(c.title() for c in CRITERIA), "Churned"])
    for key in history.keys:
        churned = history.churn_dates.get(key)
        accounts.append([key, "Camille", *(["Mid"] * len(CRITERIA)), churned])
    tab = book.create_sheet("History")
    tab.append(history.history_header)
    for row in history.history_rows:
        tab.append(row)
    workbook = folder / "team.xlsx"
    book.save(workbook)
    criteria = "\n".join(
        f'[[model.criteria]]\nid = "{c}"\ncolumn = "{c.title()}"\nweight = 1\n'
        'points = { "High" = 2, "Mid" = 1, "Low" = 0 }\n'
        for c in CRITERIA
    )
    config = folder / "config.toml"
    config.write_text(
        f'language = "{language}"\n[sheet]\nbackend = "workbook"\nworkbook = "team.xlsx"\n'
        'worksheet = "Accounts"\nkey_column = "Account"\nowner_column = "CSM"\n'
        'churned_column = "Churned"\nhistory_worksheet = "History"\n'
        "[model]\nscale = 8\nthresholds = { green = 6, orange = 3 }\n" + criteria,
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChurnHistory, Path]:
    history = generate(accounts=2000, weeks=52)
    return history, write_team(tmp_path_factory.mktemp("year"), history)


@pytest.fixture(scope="module")
def year_json(year: tuple[ChurnHistory, Path]) -> dict:
    _, config = year
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["calibrate", "-c", str(config), "--json"]) == 0
    return json.loads(out.getvalue())


def test_the_auc_is_the_one_computed_from_the_generators_own_arrays(year, year_json):
    history, _ = year
    counts, soon = history.labels(90, dt.date.today())
    direct = roc_auc_score(soon[counts], -history.row_scores[counts])  # low score = risk
    assert abs(year_json["auc"] - direct) <= 0.03
    assert year_json["auc_low"] <= year_json["auc"] <= year_json["auc_high"]
    assert year_json["auc_high"] - year_json["auc_low"] < 0.1
    assert year_json["weeks"] == int(counts.sum())
    assert year_json["churned"] == len(history.churn_dates) >= MIN_CHURNS
    assert year_json["accounts"] == 2000
    assert year_json["enough"] is True


def test_the_criteria_are_ranked_in_the_generators_order(year_json):
    truth = [c for _, c in sorted(zip(TRUE_WEIGHTS, CRITERIA, strict=True), reverse=True)]
    assert [c["id"] for c in year_json["criteria"]] == truth


def test_the_suggested_weights_follow_the_generators(year_json):
    suggested = year_json["suggested_weights"]
    rho = spearmanr([suggested[c] for c in CRITERIA], TRUE_WEIGHTS).statistic
    assert rho >= 0.8
    assert sum(suggested.values()) == pytest.approx(len(CRITERIA), abs=0.05)  # current total


def test_churn_rates_by_band_go_up_as_the_status_worsens(year_json):
    rates = {b["name"]: b["rate"] for b in year_json["bands"]}
    assert rates["green"] < rates["orange"] < rates["red"]
    assert sum(b["weeks"] for b in year_json["bands"]) == year_json["weeks"]
    assert sum(s["weeks"] for s in year_json["scores"]) == year_json["weeks"]


def test_five_churns_prove_nothing_yet_in_both_languages(tmp_path, capsys):
    history = generate(accounts=120, weeks=20, seed=3, base_logit=-6.0)
    kept = dict(sorted(history.churn_dates.items())[:5])
    assert len(kept) == 5
    history.churn_dates = kept
    for language, sentence in (
        ("en", "not enough churns yet (5 of 20)"),
        ("fr", "pas assez de départs (5 sur 20)"),
    ):
        folder = tmp_path / language
        folder.mkdir()
        config = write_team(folder, history, language)
        assert main(["calibrate", "-c", str(config)]) == 0
        out = capsys.readouterr().out
        assert sentence in out
        assert main(["calibrate", "-c", str(config), "--json"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["churned"] == 5 and payload["enough"] is False


def test_calibrate_without_a_churn_column_says_which_key_to_add(tmp_path, capsys):
    config = write_team(tmp_path, generate(accounts=10, weeks=3))
    text = config.read_text(encoding="utf-8").replace('churned_column = "Churned"\n', "")
    config.write_text(text, encoding="utf-8")
    assert main(["calibrate", "-c", str(config)]) == 1
    assert "churned_column" in capsys.readouterr().err


def test_a_bad_horizon_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", "-c", str(tmp_path / "c.toml"), "--horizon-days", "0"])
    assert stop.value.code == 2


# --- the pure function, on a few hand-made weeks ------------------------------------

MODEL = Model(
    scale=2,
    missing="renormalize",
    green=2,
    orange=1,
    criteria=(
        Criterion(
            id="usage", column="Usage", label="Usage", weight=1, points={"a": 2, "b": 1, "c": 0}
        ),
    ),
)


def frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """History rows (key, date, score) as `history_frame` gives them."""
    return pd.DataFrame(
        {
            "week": ["2025-W01"] * len(rows),
            "date": [d for _, d, _ in rows],
            "key": [k for k, _, _ in rows],
            "score": [s for _, _, s in rows],
            "status": ["red" if s < 1 else "green" for _, _, s in rows],
            "model_version": "v",
            "points.usage": [s for _, _, s in rows],
        }
    )


def test_weeks_after_the_churn_date_and_weeks_too_recent_do_not_count():
    history = frame(
        [
            ("A", "2025-01-06", 0),  # A left on 02-01: followed by a churn
            ("A", "2025-03-03", 2),  # after A left: left out
            ("B", "2025-01-06", 2),
            ("B", "2025-12-01", 2),  # within 90 days of as_of: left out
        ]
    )
    result = calibrate(
        history, {"A": dt.date(2025, 2, 1)}, MODEL, as_of=dt.date(2026, 1, 1), bootstrap=20
    )
    assert (result.accounts, result.weeks, result.churned) == (2, 2, 1)
    assert result.auc == 1.0
    assert [(b.name, b.weeks, b.churned) for b in result.bands] == [("green", 1, 0), ("red", 1, 1)]


def test_tied_scores_count_half_as_roc_auc_score_does():
    rows = [(f"K{i}", "2025-01-06", float(i % 3)) for i in range(30)]
    churned = {f"K{i}": dt.date(2025, 2, 1) for i in range(0, 30, 4)}
    result = calibrate(frame(rows), churned, MODEL, as_of=dt.date(2026, 1, 1), bootstrap=50)
    labels = np.array([k in churned for k, _, _ in rows])
    scores = np.array([s for _, _, s in rows])
    assert result.auc == pytest.approx(roc_auc_score(labels, -scores))


def test_the_interval_is_the_same_on_every_run():
    rows = [(f"K{i}", "2025-01-06", float(i % 3)) for i in range(40)]
    churned = {f"K{i}": dt.date(2025, 2, 1) for i in range(0, 40, 3)}
    runs = [calibrate(frame(rows), churned, MODEL, as_of=dt.date(2026, 1, 1)) for _ in range(2)]
    assert (runs[0].auc_low, runs[0].auc_high) == (runs[1].auc_low, runs[1].auc_high)
    assert runs[0].auc_low is not None and runs[0].auc_low <= runs[0].auc <= runs[0].auc_high


def test_no_usable_week_says_what_is_needed():
    result = calibrate(frame([]), {}, MODEL, as_of=TODAY)
    assert (result.weeks, result.auc) == (0, None)
    lines = calibration_lines(result, MODEL, "en")
    assert any("not enough churns yet (0 of 20)" in line for line in lines)
    assert any("sheet.churned_column" in line for line in lines)


def test_a_churn_date_nobody_can_read_is_named(tmp_path, capsys):
    history = generate(accounts=30, weeks=10, seed=5)
    config = write_team(tmp_path, history)
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "team.xlsx")
    book["Accounts"]["H2"] = "fin novembre"  # ACC-00000's churn cell
    book.save(tmp_path / "team.xlsx")
    assert main(["calibrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 churn date(s) cannot be read, so these accounts count as customers: ACC-00000" in out
    assert main(["calibrate", "-c", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unreadable_churn_dates"] == ["ACC-00000"]
