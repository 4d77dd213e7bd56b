"""The digest's monthly "Is the score right?" line."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sklearn.metrics import roc_auc_score

from agent.delivery import deliver
from agent.digest_sections import score_check
from agent.digest_words import WORDS
from agent.history import history_frame
from agent.labels import STATUS_LABELS
from agent.stores.base import Tab
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.churn_history import generate
from tests.conftest import example_config
from tests.test_calibrate import MODEL
from tests.test_churned_history import HEADER, ROWS

FIRST_MONDAY_OF_2026 = dt.date(2026, 1, 5)


def line(history, accounts, today, language="en") -> str:
    return score_check(accounts, history, today, WORDS[language], STATUS_LABELS[language], language)


def synthetic(accounts: int = 600):
    made = generate(accounts=accounts, weeks=52)
    tab = Tab("History", made.history_header, made.history_rows)
    frame = history_frame(tab, MODEL)
    keys = made.keys
    churned = pd.DataFrame({"key": keys, "churned": [made.churn_dates.get(k) for k in keys]})
    return made, frame, churned


def test_the_first_digest_of_a_month_gives_the_auc_of_the_last_12_months_and_rates():
    made, history, accounts = synthetic()
    text = line(history, accounts, FIRST_MONDAY_OF_2026)
    assert text.startswith("Is the score right? AUC ")
    counts, soon = made.labels(90, FIRST_MONDAY_OF_2026)
    counts &= made.row_days >= FIRST_MONDAY_OF_2026 - dt.timedelta(days=365)
    direct = roc_auc_score(soon[counts], -made.row_scores[counts])
    assert f"AUC {direct:.2f}" in text
    assert "Healthy" in text and "At risk" in text
    french = line(history, accounts, FIRST_MONDAY_OF_2026, "fr")
    assert french.startswith("Le score est-il juste ? AUC 0,")


def test_other_weeks_of_the_month_and_sheets_without_churn_dates_say_nothing():
    _, history, accounts = synthetic(accounts=50)
    assert line(history, accounts, dt.date(2026, 1, 12)) == ""
    assert line(history, accounts.drop(columns="churned"), FIRST_MONDAY_OF_2026) == ""


def test_a_monday_digest_at_the_start_of_a_month_says_churns_are_missing(tmp_path):
    config = example_config(tmp_path, churned_column="Date de départ")
    store = MemoryStore(HEADER, ROWS, key_column="Client", history_worksheet="Historique")
    monday = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris, the 7th
    for week in (3, 2, 1, 0):
        result = run_pass(store, config, now=monday - dt.timedelta(weeks=week))
    outcome = deliver(config, result, now=monday, location="/x", last_synced=monday, dry_run=True)
    assert outcome.digest is not None
    sentence = "pas assez de départs (0 sur 20)"
    assert sentence in outcome.digest.html and sentence in outcome.digest.text
