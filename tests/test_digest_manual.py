"""When a digest is due and what a manual `health-agent digest` says, day by day; the
lease of a crashed sender; the sandbox; a UTF-8 SMTP password."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from agent.config import Config
from agent.delivery import deliver, due_week, ledger_for, outcome_lines
from agent.errors import ConfigError, MailError
from tests.smtp_fixtures import start_server
from tests.test_digest import four_weeks_of_passes, received, with_smtp

MONDAY_8_PARIS = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # slot W49


def on_sunday_at_23(config: Config) -> Config:
    return dataclasses.replace(
        config, digest=dataclasses.replace(config.digest, day="sun", time="23:00")
    )


def test_a_sunday_23_00_digest_missed_goes_out_at_a_monday_9_00_restart(seed_config):
    config = on_sunday_at_23(seed_config)
    result = four_weeks_of_passes(config)
    monday_9 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)  # ISO week W49, slot in W48
    assert due_week(config, ledger_for(config), monday_9) == "2026-W48"
    first = deliver(config, result, now=monday_9, location="/x", last_synced=None)
    again = deliver(
        config, result, now=monday_9 + dt.timedelta(days=1), location="/x", last_synced=None
    )
    assert first.sent and first.digest is not None and first.digest.week == "2026-W48"
    assert not again.sent and again.reason == "already sent"
    assert len(list(config.digest.outbox.glob("*.eml"))) == 1


def sentence(config: Config, outcome, now: dt.datetime) -> str:
    return " ".join(outcome_lines(config, outcome, now)[-2:])


@pytest.mark.parametrize("day", range(7))
def test_a_manual_run_on_each_day_after_the_digest_went_out(seed_config, day):
    result = four_weeks_of_passes(seed_config)
    deliver(seed_config, result, now=MONDAY_8_PARIS, location="/x", last_synced=None)
    now = MONDAY_8_PARIS + dt.timedelta(days=day, hours=3)  # Monday 11:00 ... Sunday 11:00
    outcome = deliver(seed_config, result, now=now, location="/x", last_synced=None, by_hand=True)
    assert not outcome.sent
    assert sentence(seed_config, outcome, now) == (
        "Déjà envoyé le lun. 30/11 08:00 (--force l'envoie de nouveau). "
        "Prochain résumé prévu le lun. 07/12 08:00 (Europe/Paris)."
    )


@pytest.mark.parametrize("day", range(7))
def test_a_manual_run_on_each_day_of_a_week_whose_digest_was_missed(seed_config, day):
    result = four_weeks_of_passes(seed_config)
    now = MONDAY_8_PARIS + dt.timedelta(days=day, hours=3)
    outcome = deliver(seed_config, result, now=now, location="/x", last_synced=None, by_hand=True)
    assert outcome.sent and outcome.week == "2026-W49"  # however late: the admin asks
    lines = outcome_lines(seed_config, outcome, now)
    assert lines[-2].startswith("Écrit dans la boîte d'envoi : ")
    assert "aucun e-mail n'est parti" in lines[-2]
    assert lines[-1] == "Prochain résumé prévu le lun. 07/12 08:00 (Europe/Paris)."
    forced = deliver(seed_config, result, now=now, location="/x", last_synced=None, force=True)
    assert outcome_lines(seed_config, forced, now)[-2].startswith(
        "Écrit de nouveau (--force) dans la boîte d'envoi : "
    )


def test_a_manual_run_before_monday_8_says_last_week_s_was_sent(seed_config):
    result = four_weeks_of_passes(seed_config)
    deliver(seed_config, result, now=MONDAY_8_PARIS, location="/x", last_synced=None)
    early = MONDAY_8_PARIS + dt.timedelta(days=7, hours=-1)  # Monday 07/12 07:00
    outcome = deliver(seed_config, result, now=early, location="/x", last_synced=None, by_hand=True)
    assert sentence(seed_config, outcome, early) == (
        "Déjà envoyé le lun. 30/11 08:00 (--force l'envoie de nouveau). "
        "Prochain résumé prévu le lun. 07/12 08:00 (Europe/Paris)."
    )


def test_manual_smtp_send_and_force_say_so(seed_config, tmp_path):
    controller, inbox = start_server(tmp_path)
    try:
        config = with_smtp(seed_config, controller.port)
        result = four_weeks_of_passes(config)
        now = MONDAY_8_PARIS
        sent = deliver(config, result, now=now, location="/x", last_synced=None, by_hand=True)
        assert outcome_lines(config, sent, now)[-2] == "Envoyé à lead@example.com par 127.0.0.1."
        again = deliver(config, result, now=now, location="/x", last_synced=None, force=True)
        assert outcome_lines(config, again, now)[-2] == (
            "Envoyé de nouveau (--force) à lead@example.com par 127.0.0.1."
        )
        assert len(inbox.messages) == 2
    finally:
        controller.stop()


def test_a_crashed_sender_s_claim_expires_after_its_lease(seed_config):
    ledger = ledger_for(seed_config)
    assert ledger.claim("default", "2026-W49", "<id>", MONDAY_8_PARIS).granted
    # the process dies here, holding the claim: another waits for the lease
    later = MONDAY_8_PARIS + dt.timedelta(minutes=5)
    assert not ledger.claim("default", "2026-W49", "<id>", later).granted
    result = four_weeks_of_passes(seed_config)
    busy = deliver(seed_config, result, now=later, location="/x", last_synced=None)
    assert not busy.sent and busy.reason == "being sent"
    after_lease = MONDAY_8_PARIS + dt.timedelta(minutes=11)
    assert deliver(seed_config, result, now=after_lease, location="/x", last_synced=None).sent


def test_a_template_reaching_python_internals_is_refused(seed_config, tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "digest.html.j2").write_text(
        "{{ cycler.__init__.__globals__.os.system('touch " + str(tmp_path / "owned") + "') }}",
        encoding="utf-8",
    )
    config = dataclasses.replace(
        seed_config, digest=dataclasses.replace(seed_config.digest, templates=folder)
    )
    result = four_weeks_of_passes(config)
    with pytest.raises(ConfigError, match="digest template could not be rendered"):
        deliver(config, result, now=MONDAY_8_PARIS, location="/x", last_synced=None, dry_run=True)
    assert not (tmp_path / "owned").exists()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_utf8_password_logs_in_and_never_shows(seed_config, tmp_path, caplog, mechanism):
    password = "mot-de-passé-ünïcødé"
    controller, inbox = start_server(tmp_path, auth=("agent", password), only_mechanism=mechanism)
    try:
        config = with_smtp(seed_config, controller.port, username="agent", password_env="SMTP_PW")
        result = four_weeks_of_passes(config)
        caplog.set_level(logging.DEBUG)
        outcome = deliver(
            config,
            result,
            now=MONDAY_8_PARIS,
            location="/x",
            last_synced=None,
            env={"SMTP_PW": password},
        )
        assert outcome.sent and len(received(inbox)) == 1
        with pytest.raises(MailError) as caught:
            deliver(
                config,
                result,
                now=MONDAY_8_PARIS,
                location="/x",
                last_synced=None,
                force=True,
                env={"SMTP_PW": password + "é"},  # wrong: refused
            )
        message = str(caught.value)
        assert "refused the login" in message
        for piece in ("passé", "ünïcødé", "mot-de"):
            assert piece not in message and piece not in caplog.text
    finally:
        controller.stop()


def test_an_english_team_reads_the_outcome_in_english(seed_config):
    config = dataclasses.replace(seed_config, language="en")
    result = four_weeks_of_passes(config)
    deliver(config, result, now=MONDAY_8_PARIS, location="/x", last_synced=None)
    now = MONDAY_8_PARIS + dt.timedelta(days=2)
    outcome = deliver(config, result, now=now, location="/x", last_synced=None, by_hand=True)
    assert sentence(config, outcome, now) == (
        "Already sent on Mon 30/11 08:00 (--force sends it again). "
        "Next digest due Mon 07/12 08:00 (Europe/Paris)."
    )
