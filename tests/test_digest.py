"""The Monday digest, end to end: content, a real SMTP server on loopback, exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from agent.config import Config, SmtpConfig
from agent.delivery import deliver, due_week, ledger_for
from agent.errors import MailError
from agent.playbooks import load_playbooks
from agent.stores.memory import MemoryStore
from agent.sync import PassResult, run_pass
from tests.conftest import ROOT
from tests.smtp_fixtures import make_ca_and_server_cert, start_server
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY_9_PARIS = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris


def four_weeks_of_passes(config: Config, names: dict[str, str] | None = None) -> PassResult:
    """A team's sheet over five weekly passes: one account turns red, one improves."""
    names = names or {}
    rows = [
        [names.get("Acme", "Acme"), names.get("owner", "Camille"), "PME", *TOP],
        ["Boréal", "Hugo", "PME", *MID],
        ["Cèdre", "Léa", "ETI", TOP[0], TOP[1], TOP[2], MID[3]],
        ["Dune", "Hugo", "PME", *LOW],
    ]
    store = MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")
    playbooks = load_playbooks(ROOT / "playbooks" / config.language)
    start = MONDAY_9_PARIS - dt.timedelta(weeks=4)
    for week in range(4):
        run_pass(store, config, now=start + dt.timedelta(weeks=week), next_actions=playbooks)
    store.accounts.rows[0][3:7] = [LOW[0], LOW[1], MID[2], LOW[3]]  # Acme turns red
    store.accounts.rows[1][3:7] = [TOP[0], TOP[1], MID[2], MID[3]]  # Boréal improves
    return run_pass(store, config, now=MONDAY_9_PARIS, next_actions=playbooks)


def with_smtp(config: Config, port: int, **smtp: object) -> Config:
    settings = SmtpConfig(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="Agent <agent@example.com>",
        timeout_s=10,
    )
    return dataclasses.replace(config, smtp=dataclasses.replace(settings, **smtp))


def received(inbox) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.data, policy=email.policy.default) for m in inbox.messages]


@pytest.fixture
def server(tmp_path):
    controller, inbox = start_server(tmp_path)
    yield controller, inbox
    controller.stop()


def test_the_digest_arrives_with_text_html_and_the_inline_chart(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    outcome = deliver(
        config, result, now=MONDAY_9_PARIS, location="/x/comptes.xlsx", last_synced=MONDAY_9_PARIS
    )
    assert outcome.sent and outcome.week == "2026-W48"
    [message] = received(inbox)
    assert inbox.messages[0].rcpt_tos == ["lead@example.com"]
    assert message["Subject"] == "Santé clients S47 : 2 vert · 0 orange · 2 rouge"  # covers W47
    assert message["Message-ID"] == "<digest.default.2026-W48@example.com>"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and "Passés au rouge cette semaine (1)" in text.get_content()
    assert html is not None and 'src="cid:status-chart"' in html.get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<status-chart>"
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sections_of_the_digest(seed_config):
    result = four_weeks_of_passes(seed_config)
    outcome = deliver(
        seed_config,
        result,
        now=MONDAY_9_PARIS,
        location="/x/comptes.xlsx",
        last_synced=MONDAY_9_PARIS,
        dry_run=True,
    )
    digest = outcome.digest
    assert digest is not None and outcome.path is not None and outcome.path.exists()
    s = digest.sections
    assert digest.week == "2026-W47"  # sent Monday of W48, about the week that ended
    assert s["counts"]["now"] == {"green": 2, "orange": 0, "red": 2}
    assert s["counts"]["week_ago"] == {"green": 2, "orange": 1, "red": 1}  # end of W46
    assert s["counts"]["four_weeks_ago"] is None  # W43: the agent did not run yet
    assert [r["key"] for r in s["turned_red"]["rows"]] == ["Acme"]
    assert {r["key"] for r in s["call_first"]["rows"]} == {"Acme", "Dune"}
    assert [r["key"] for r in s["improved"]["rows"]] == ["Boréal"]
    assert [o["owner"] for o in s["owners"]][0] in ("Camille", "Hugo")
    for heading in (
        "À appeler en premier",
        "Passés au rouge cette semaine",
        "En baisse sur 4 semaines",
        "En progrès",
        "Ambassadeurs potentiels",
        "Renouvellements",
        "Par CSM",
        "Statuts sur 8 semaines",
    ):
        assert heading in digest.html and heading in digest.text
    assert "/x/comptes.xlsx" in digest.html
    assert not s["model_note"] and not s["stale_note"]


def test_the_digest_in_english(seed_config):
    config = dataclasses.replace(seed_config, language="en")
    result = four_weeks_of_passes(config)
    outcome = deliver(
        config,
        result,
        now=MONDAY_9_PARIS,
        location="https://docs.google.com/x",
        last_synced=MONDAY_9_PARIS,
        dry_run=True,
    )
    assert outcome.digest is not None
    assert outcome.digest.subject == "Customer health W47: 2 green · 0 orange · 2 red"
    assert "Turned red this week" in outcome.digest.html
    assert 'href="https://docs.google.com/x"' in outcome.digest.html


def test_sheet_text_like_script_shows_as_text(seed_config):
    result = four_weeks_of_passes(seed_config, {"Acme": "<script>alert(1)</script></table>"})
    outcome = deliver(
        seed_config,
        result,
        now=MONDAY_9_PARIS,
        location="/x",
        last_synced=MONDAY_9_PARIS,
        dry_run=True,
    )
    assert outcome.digest is not None
    assert "<script>" not in outcome.digest.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/table&gt;" in outcome.digest.html


def test_a_stale_sheet_and_a_model_change_are_mentioned(seed_config):
    result = four_weeks_of_passes(seed_config)
    changed = dataclasses.replace(
        seed_config, model=dataclasses.replace(seed_config.model, green=7)
    )
    outcome = deliver(
        changed,
        result,
        now=MONDAY_9_PARIS,
        location="/x",
        last_synced=MONDAY_9_PARIS - dt.timedelta(days=3),
        dry_run=True,
    )
    assert outcome.digest is not None
    assert "dernière synchronisation réussie du tableau date du 2026-11-20" in (outcome.digest.html)
    assert "Le modèle de score a changé cette semaine (seuil vert 6→7)" in outcome.digest.html


def test_header_injection_from_sheet_text_adds_no_header_or_recipient(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    evil = "Acme\r\nBcc: thief@evil.example\r\nX-Evil: 1"
    result = four_weeks_of_passes(config, {"Acme": evil, "owner": "Eve\nCc: spy@evil.example"})
    deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=MONDAY_9_PARIS)
    [raw] = inbox.messages
    assert raw.rcpt_tos == ["lead@example.com"]
    message = received(inbox)[0]
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Evil"] is None
    assert b"thief@evil.example" not in raw.data.split(b"\r\n\r\n", 1)[0]


def test_starttls_with_the_test_ca_is_accepted_and_authenticates(seed_config, tmp_path):
    controller, inbox = start_server(tmp_path, tls=True, auth=("agent", "s3cret"))
    try:
        config = with_smtp(
            seed_config,
            controller.port,
            security="starttls",
            username="agent",
            password_env="SMTP_PW",
            ca_file=tmp_path / "ca.pem",
        )
        result = four_weeks_of_passes(config)
        deliver(
            config,
            result,
            now=MONDAY_9_PARIS,
            location="/x",
            last_synced=MONDAY_9_PARIS,
            env={"SMTP_PW": "s3cret"},
        )
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused(seed_config, tmp_path):
    controller, inbox = start_server(tmp_path, tls=True)
    try:
        other = tmp_path / "other"
        other.mkdir()
        other_ca, _, _ = make_ca_and_server_cert(other)
        config = with_smtp(seed_config, controller.port, security="starttls", ca_file=other_ca)
        result = four_weeks_of_passes(config)
        with pytest.raises(MailError, match="does not trust"):
            deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=MONDAY_9_PARIS)
        assert inbox.messages == []
        assert ledger_for(config).state("default", "2026-W48") == "sending"  # retried later
    finally:
        controller.stop()


def test_a_wrong_or_missing_password_is_a_clear_error_without_the_password(seed_config, tmp_path):
    controller, _ = start_server(tmp_path, tls=True, auth=("agent", "s3cret"))
    try:
        config = with_smtp(
            seed_config,
            controller.port,
            security="starttls",
            username="agent",
            password_env="SMTP_PW",
            ca_file=tmp_path / "ca.pem",
        )
        result = four_weeks_of_passes(config)
        with pytest.raises(MailError) as caught:
            deliver(
                config,
                result,
                now=MONDAY_9_PARIS,
                location="/x",
                last_synced=MONDAY_9_PARIS,
                env={"SMTP_PW": "wrong-guess"},
            )
        assert "refused the login" in str(caught.value) and "wrong-guess" not in str(caught.value)
        with pytest.raises(MailError, match="SMTP_PW, which is not set"):
            deliver(
                config,
                result,
                now=MONDAY_9_PARIS,
                location="/x",
                last_synced=MONDAY_9_PARIS,
                env={},
            )
    finally:
        controller.stop()


def test_security_none_is_refused_for_a_remote_host(seed_config):
    config = with_smtp(seed_config, 25, host="smtp.example.com")
    result = four_weeks_of_passes(config)
    with pytest.raises(MailError, match="only allowed for a server on this machine"):
        deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=MONDAY_9_PARIS)


# --- exactly once a week -------------------------------------------------------------------


def test_running_twice_sends_once(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    first = deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None)
    second = deliver(
        config, result, now=MONDAY_9_PARIS + dt.timedelta(hours=1), location="/x", last_synced=None
    )
    assert first.sent and not second.sent and second.reason == "already sent"
    assert len(inbox.messages) == 1


def test_not_due_before_monday_eight_in_paris(seed_config):
    ledger = ledger_for(seed_config)
    sunday = dt.datetime(2026, 11, 22, 20, 0, tzinfo=dt.UTC)
    assert ledger.claim("default", "2026-W47", "<id>", sunday).granted
    ledger.sent("default", "2026-W47", sunday)  # last week's went out last Monday
    monday_7_59 = dt.datetime(2026, 11, 23, 6, 59, tzinfo=dt.UTC)  # 07:59 Paris
    monday_8 = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
    assert due_week(seed_config, ledger, sunday) is None
    assert due_week(seed_config, ledger, monday_7_59) is None
    assert due_week(seed_config, ledger, monday_8) == "2026-W48"


def test_a_digest_missed_while_the_machine_was_off_goes_out_once(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    tuesday = MONDAY_9_PARIS + dt.timedelta(days=1)  # off all Monday
    assert deliver(config, result, now=tuesday, location="/x", last_synced=None).sent
    assert not deliver(
        config, result, now=tuesday + dt.timedelta(minutes=10), location="/x", last_synced=None
    ).sent
    assert len(inbox.messages) == 1


def test_a_digest_more_than_two_days_late_waits_for_next_week(seed_config):
    ledger = ledger_for(seed_config)
    thursday = MONDAY_9_PARIS + dt.timedelta(days=3)
    assert due_week(seed_config, ledger, thursday) is None


class Crash(Exception):
    """The process dies here."""


def test_crash_before_sending_sends_once_on_the_next_run(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)

    def dies(message):
        raise Crash()  # killed after "sending" was recorded, before talking to the server

    with pytest.raises(Crash):
        deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None, transport=dies)
    assert ledger_for(config).state("default", "2026-W48") == "sending"
    assert deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None).sent
    assert len(inbox.messages) == 1


def test_server_drops_during_send_then_the_retry_sends_once(seed_config, tmp_path):
    config = with_smtp(seed_config, 9)  # nothing listens on port 9: connection refused
    result = four_weeks_of_passes(config)
    with pytest.raises(MailError, match="could not be sent through"):
        deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None)
    controller, inbox = start_server(tmp_path)
    try:
        config = with_smtp(seed_config, controller.port)
        assert deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None).sent
        assert len(inbox.messages) == 1
        assert ledger_for(config).attempts("default", "2026-W48") == 2
    finally:
        controller.stop()


def test_crash_after_the_server_accepted_resends_with_the_same_message_id(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    from agent.mail import send_smtp

    def accepted_then_dies(message):
        send_smtp(message, config.smtp, config.digest.to)  # type: ignore[arg-type]
        raise Crash()  # before the ledger says "sent"

    with pytest.raises(Crash):
        deliver(
            config,
            result,
            now=MONDAY_9_PARIS,
            location="/x",
            last_synced=None,
            transport=accepted_then_dies,
        )
    assert deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None).sent
    ids = [m["Message-ID"] for m in received(inbox)]
    assert len(ids) == 2 and ids[0] == ids[1]  # a receiver that drops duplicates shows one
    assert not deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None).sent
    assert len(inbox.messages) == 2


def test_crash_after_the_ledger_says_sent_sends_nothing_more(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None)
    # the process dies right here; a restart a minute later:
    later = MONDAY_9_PARIS + dt.timedelta(minutes=1)
    assert not deliver(config, result, now=later, location="/x", last_synced=None).sent
    assert len(inbox.messages) == 1


def test_force_resends(seed_config, server):
    controller, inbox = server
    config = with_smtp(seed_config, controller.port)
    result = four_weeks_of_passes(config)
    deliver(config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None)
    assert deliver(
        config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None, force=True
    ).sent
    assert len(inbox.messages) == 2


def test_without_smtp_the_digest_goes_to_the_outbox(seed_config):
    result = four_weeks_of_passes(seed_config)
    outcome = deliver(seed_config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None)
    assert outcome.sent and outcome.path is not None
    assert (seed_config.digest.outbox / "2026-W47-default.eml").exists()
    assert outcome.path.suffix == ".html" and outcome.path.exists()


def test_the_digest_command_previews_the_sample(tmp_path, capsys):
    from agent.cli import main
    from agent.sheet_templates import init

    init("startup", "fr", tmp_path / "s.xlsx", tmp_path / "c.toml")
    preview = tmp_path / "preview.html"
    assert main(["digest", "-c", str(tmp_path / "c.toml"), "--preview", str(preview)]) == 0
    html = preview.read_text(encoding="utf-8")
    assert "À appeler en premier (3)" in html and "Par CSM" in html
    assert (tmp_path / "preview.png").exists()
    assert "rien n'est envoyé" in capsys.readouterr().out  # a French team reads French


def test_readme_says_how_to_open_the_preview():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "xdg-open .health-agent/outbox/" in readme
    assert Path(ROOT / "agent" / "digest_templates" / "digest.html.j2").exists()


def test_an_admin_template_folder_overrides_the_bundled_one(seed_config, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "digest.html.j2").write_text(
        "<p>{{ w.call_first }}: {% for r in call_first.rows %}{{ r.key }} {% endfor %}</p>",
        encoding="utf-8",
    )
    config = dataclasses.replace(
        seed_config, digest=dataclasses.replace(seed_config.digest, templates=folder)
    )
    result = four_weeks_of_passes(config)
    outcome = deliver(
        config, result, now=MONDAY_9_PARIS, location="/x", last_synced=None, dry_run=True
    )
    assert outcome.digest is not None
    assert outcome.digest.html.startswith("<p>À appeler en premier: ")
    assert "Passés au rouge" in outcome.digest.text  # the text part still bundled
