"""Sending the digest: SMTP with verified TLS, or the outbox folder when no server is set.

Recipients only ever come from the config; sheet text only ever goes into the bodies,
and headers are built by the standard library's email package, which refuses a header
value with a line break, so no account name can add a header or a recipient.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import cast

from agent.config import SmtpConfig
from agent.digest import Digest
from agent.errors import MailError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def message_id(team: str, week: str, sender: str) -> str:
    """The fixed Message-ID of a team's digest for a week: resending it is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "health-agent.local"
    safe_team = "".join(c if c.isalnum() or c in "-_" else "-" for c in team)
    return f"<digest.{safe_team}.{week}@{domain}>"


def digest_message(
    digest: Digest, *, sender: str, to: tuple[str, ...], msg_id: str, date: dt.datetime
) -> EmailMessage:
    """A multipart message: plain text, then HTML with the chart inline (Content-ID)."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = msg_id
    message["Date"] = format_datetime(date)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(digest.text)
    message.add_alternative(digest.html, subtype="html")
    for part in message.iter_parts():
        if part.get_content_type() == "text/html":
            cast(EmailMessage, part).add_related(
                digest.chart_png,
                maintype="image",
                subtype="png",
                cid="<status-chart>",
                filename="status-chart.png",
                disposition="inline",  # shown in the body, not as a paperclip
            )
    return message


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_smtp(
    message: EmailMessage,
    smtp: SmtpConfig,
    to: tuple[str, ...],
    env: Mapping[str, str] = os.environ,
) -> None:
    """Send through the configured server, TLS verified; MailError says what to fix."""
    if not to:
        raise MailError("`digest.to` is empty: name the digest's recipients there.")
    with smtp_session(smtp, env) as client:
        client.send_message(message, to_addrs=list(to))


def probe_smtp(smtp: SmtpConfig, env: Mapping[str, str] = os.environ) -> str:
    """Connect, secure, check the certificate and log in as the digest would, then leave
    without sending: what `check` says of the server. MailError says what to fix."""
    with smtp_session(smtp, env, failed="The SMTP server could not be checked") as client:
        client.noop()
    tls = {"starttls": "STARTTLS", "ssl": "SSL"}.get(smtp.security)
    steps = ["reachable"]
    steps += [f"{tls} with a trusted certificate"] if tls else ["no TLS (loopback)"]
    steps += [f"login accepted for {smtp.username}"] if smtp.username else []
    return f"smtp: {smtp.host}:{smtp.port} ok: {', '.join(steps)} (nothing sent)"


@contextmanager
def smtp_session(
    smtp: SmtpConfig,
    env: Mapping[str, str] = os.environ,
    failed: str = "The digest could not be sent",
) -> Iterator[smtplib.SMTP]:
    """A connection to the configured server, secured and logged in; every failure while
    it is open (the caller's too) becomes a MailError that says what to fix."""
    if smtp.security == "none" and not is_loopback(smtp.host):
        raise MailError(
            f'`smtp.security = "none"` sends the password and the digest in clear text; it '
            f"is only allowed for a server on this machine, not {smtp.host}. Use "
            '"starttls" (port 587) or "ssl" (port 465).'
        )
    password = None
    if smtp.username:
        assert smtp.password_env
        password = env.get(smtp.password_env)
        if not password:
            raise MailError(
                f"The SMTP password is read from the environment variable "
                f"{smtp.password_env}, which is not set."
            )
    try:
        context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise MailError(
            f"`smtp.ca_file` {smtp.ca_file} cannot be used as a CA certificate "
            f"({getattr(exc, 'strerror', None) or exc}): give the path of a PEM file."
        ) from None
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username and password:
                login(client, smtp.username, password)
            yield client
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"The SMTP server {smtp.host} presented a certificate this machine "
            f"does not trust ({exc.verify_message}). Set `smtp.ca_file` to your "
            "company's CA certificate, or fix the server's certificate."
        ) from None
    except smtplib.SMTPAuthenticationError:
        raise MailError(
            f"The SMTP server {smtp.host} refused the login of {smtp.username}: "
            f"check the user and the password in {smtp.password_env}."
        ) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"{failed} through {smtp.host}:{smtp.port} ({type(exc).__name__}: {exc})."
        ) from None
    except (UnicodeError, ValueError) as exc:  # never quote it: it may hold the password
        raise MailError(
            f"{failed} through {smtp.host}:{smtp.port} "
            f"({type(exc).__name__} while talking to the server)."
        ) from None


def login(client: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN (or LOGIN) with the user and password as UTF-8 (RFC 4616).

    smtplib's own `login` encodes them as ASCII, so a password with an "é" fails there,
    with an error quoting the character and its position.
    """
    client.ehlo_or_helo_if_needed()
    offered = client.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" in offered or "LOGIN" not in offered:
        token = _b64(b"\0" + user.encode() + b"\0" + password.encode())
        code, answer = client.docmd("AUTH", f"PLAIN {token}")
    else:
        code, answer = client.docmd("AUTH", f"LOGIN {_b64(user.encode())}")
        if code == 334:
            code, answer = client.docmd(_b64(password.encode()))
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, answer)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def write_outbox(message: EmailMessage, digest: Digest, outbox: Path, team: str) -> Path:
    """With no SMTP server: the message as .eml and its HTML part as .html, for a look."""
    outbox.mkdir(parents=True, exist_ok=True)
    stem = f"{digest.week}-{team}"
    (outbox / f"{stem}.eml").write_bytes(message.as_bytes())
    html = outbox / f"{stem}.html"
    html.write_text(digest.html.replace("cid:status-chart", f"{stem}.png"), encoding="utf-8")
    (outbox / f"{stem}.png").write_bytes(digest.chart_png)
    return html
