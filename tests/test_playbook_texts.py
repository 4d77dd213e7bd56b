"""The shipped playbooks' words, read as the CSM who owns the account reads them."""

from __future__ import annotations

import pytest

from agent.playbooks import load_playbooks
from tests.conftest import ROOT
from tests.test_playbooks import account

HISTORY_NAMES = {"fr": ("en-baisse.md", "plateau.md", "ambassadeur.md"), "en": ()}
HISTORY_NAMES["en"] = ("declining.md", "plateau.md", "ambassador.md")


@pytest.fixture(params=["fr", "en"])
def shipped(request):
    return request.param, load_playbooks(ROOT / "playbooks" / request.param)


def every_kind_of_account() -> list[dict]:
    """Red, orange, green, declining, at the top, renewing soon: each with and without history."""
    grids = [[0, 0, 1, 1], [2, 1, 1, 0], [2, 2, 1, 2], [2, 2, 2, 2], [2, 2, 0, 2], [1, 1, 1, 1]]
    contexts = []
    for grid in grids:
        for history in (None, 0.0, -3.0):
            for renewal in (None, 0, 1, 4, 29, 45, 75, 120):
                contexts.append(
                    account(
                        grid,
                        delta_4w=history,
                        weeks_at_max=0 if history is None else 14,
                        days_to_renewal=renewal,
                    )
                )
    return contexts


def test_an_action_never_tells_the_owner_to_work_with_themselves(shipped):
    _, playbooks = shipped
    contexts = every_kind_of_account()
    actions = playbooks.choose(contexts).actions
    assert all(action for action in actions)  # every account has something to do
    assert not [a for a in actions if "Camille" in a]  # the owner reads it in their own row


def test_playbooks_that_need_history_do_not_fire_without_it(shipped):
    lang, playbooks = shipped
    no_history = [c for c in every_kind_of_account() if c["delta_4w"] is None]
    matched = set(playbooks.choose(no_history).matched_by)
    assert not matched & set(HISTORY_NAMES[lang])
    orange = account([2, 1, 1, 0])  # 4/8, week one: no plateau yet, but a step to take
    assert orange["status"] == "orange"
    action = playbooks.choose([orange]).actions[0]
    assert "Acme" in action and "Adoption" in action and not action.startswith("Stable")


@pytest.mark.parametrize(
    ("days", "fr", "en"),
    [
        (120, "Entretenir la relation", "Keep the relationship warm"),
        (75, "Renouvellement dans 75 jours : préparer", "Renewal in 75 days: prepare"),
        (45, "Renouvellement dans 45 jours : envoyer", "Renewal in 45 days: send"),
        (4, "Renouvellement dans 4 jours : obtenir sans attendre", "Renewal in 4 days: get"),
        (1, "Renouvellement demain : obtenir", "Renewal tomorrow: get"),
        (0, "Renouvellement aujourd'hui : obtenir", "Renewal today: get"),
    ],
)
def test_renewal_actions_start_early_enough_to_act(shipped, days, fr, en):
    lang, playbooks = shipped
    action = playbooks.choose([account([2, 2, 1, 2], days_to_renewal=days)]).actions[0]
    assert action.startswith(fr if lang == "fr" else en), action
