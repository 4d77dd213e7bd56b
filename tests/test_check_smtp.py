"""`health-agent check` tries the SMTP server as the digest will (reachable, STARTTLS, the
certificate, the login) without sending anything: a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.sheet_templates import init
from tests.smtp_fixtures import free_port, start_server

USER, PASSWORD = "agent@acme.fr", "s3cret-é"


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "team" / "config.toml"
    init("startup", "fr", tmp_path / "team" / "comptes.xlsx", path)
    text = path.read_text(encoding="utf-8").replace("to = []", 'to = ["lea@acme.fr"]')
    path.write_text(text, encoding="utf-8")
    return path


def with_smtp(config: Path, port: int, *, ca_file: Path | None = None, security="starttls"):
    lines = [
        "",
        "[smtp]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'security = "{security}"',
        f'username = "{USER}"',
        'password_env = "TEST_SMTP_PASSWORD"',
        "timeout_s = 5",
    ]
    if ca_file:
        lines.append(f'ca_file = "{ca_file}"')
    with config.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


@pytest.fixture
def tls_server(tmp_path):
    controller, inbox = start_server(tmp_path, tls=True, auth=(USER, PASSWORD))
    yield controller, inbox
    controller.stop()


def test_a_working_server_is_said_ok_and_receives_nothing(
    config, tls_server, tmp_path, capsys, monkeypatch
):
    controller, inbox = tls_server
    with_smtp(config, controller.port, ca_file=tmp_path / "ca.pem")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)

    assert main(["check", "-c", str(config)]) == 0

    out = capsys.readouterr().out
    assert (
        f"smtp: 127.0.0.1:{controller.port} ok: reachable, STARTTLS with a trusted certificate, "
        f"login accepted for {USER} (nothing sent)"
    ) in out
    assert inbox.messages == []


def test_a_refused_login_names_the_user_and_the_variable_never_the_password(
    config, tls_server, tmp_path, capsys, monkeypatch
):
    controller, inbox = tls_server
    with_smtp(config, controller.port, ca_file=tmp_path / "ca.pem")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password")

    assert main(["check", "-c", str(config)]) == 1

    out = capsys.readouterr().out
    assert (
        f"smtp: problem: The SMTP server 127.0.0.1 refused the login of {USER}: check the "
        "user and the password in TEST_SMTP_PASSWORD."
    ) in out
    assert "wrong-password" not in out and inbox.messages == []


def test_an_untrusted_certificate_says_to_set_ca_file(config, tls_server, capsys, monkeypatch):
    controller, _ = tls_server
    with_smtp(config, controller.port)  # the test CA is not trusted by this machine
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)

    assert main(["check", "-c", str(config)]) == 1

    out = capsys.readouterr().out
    assert "smtp: problem: The SMTP server 127.0.0.1 presented a certificate this machine" in out
    assert "Set `smtp.ca_file` to your company's CA certificate" in out


def test_a_server_without_starttls_is_named(config, tmp_path, capsys, monkeypatch):
    controller, _ = start_server(tmp_path)  # plain SMTP, no STARTTLS offered
    try:
        with_smtp(config, controller.port)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)

        assert main(["check", "-c", str(config)]) == 1

        out = capsys.readouterr().out
        assert "smtp: problem: The SMTP server could not be checked through 127.0.0.1:" in out
        assert "STARTTLS extension not supported by server" in out
    finally:
        controller.stop()


def test_an_unreachable_server_is_named(config, capsys, monkeypatch):
    port = free_port()  # nothing listens there
    with_smtp(config, port)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)

    assert main(["check", "-c", str(config)]) == 1

    out = capsys.readouterr().out
    assert (
        f"smtp: problem: The SMTP server could not be checked through 127.0.0.1:{port} "
        "(ConnectionRefusedError"
    ) in out


def test_an_unset_password_variable_is_named(config, tls_server, tmp_path, capsys, monkeypatch):
    controller, _ = tls_server
    with_smtp(config, controller.port, ca_file=tmp_path / "ca.pem")
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)

    assert main(["check", "-c", str(config)]) == 1

    assert "TEST_SMTP_PASSWORD, which is not set" in capsys.readouterr().out


def test_a_missing_ca_file_is_a_sentence_not_a_traceback(
    config, tls_server, tmp_path, capsys, monkeypatch
):
    controller, _ = tls_server
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    with_smtp(config, controller.port, ca_file=tmp_path / "no-such-ca.pem")

    assert main(["check", "-c", str(config)]) == 1

    out = capsys.readouterr().out
    assert (
        f"smtp: problem: `smtp.ca_file` {tmp_path / 'no-such-ca.pem'} cannot be used as a CA "
        "certificate (No such file or directory): give the path of a PEM file."
    ) in out


def test_smtp_without_recipients_is_named_by_check_and_by_digest(config, capsys):
    text = config.read_text(encoding="utf-8").replace('to = ["lea@acme.fr"]', "to = []")
    config.write_text(text, encoding="utf-8")
    controller, inbox = start_server(config.parent)
    try:
        with config.open("a", encoding="utf-8") as f:
            f.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"\n')

        assert main(["check", "-c", str(config)]) == 1
        out = capsys.readouterr().out
        assert "digest: problem: [smtp] is set but `digest.to` is empty" in out

        assert main(["sync", "-c", str(config)]) == 0
        assert main(["digest", "-c", str(config)]) == 1
        assert (
            "`digest.to` is empty: name the digest's recipients there." in capsys.readouterr().err
        )
        assert inbox.messages == []
    finally:
        controller.stop()
