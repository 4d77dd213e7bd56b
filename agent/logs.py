"""Log set-up: one readable line per event, or JSON lines for log collectors.

A filter scrubs anything that looks like a secret (bearer tokens, private key blocks,
passwords in URLs) from every record, whatever library logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys

_SECRETS = [
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[hidden]"),
    (re.compile(r"(access_token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"), r"\1[hidden]"),
    (re.compile(r"(assertion=)[A-Za-z0-9._~+/=%-]+"), r"\1[hidden]"),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[private key hidden]",
    ),
    (re.compile(r"(\"private_key\"\s*:\s*\")[^\"]*"), r"\1[hidden]"),
    (re.compile(r"(://[^:/\s]+:)[^@\s]+@"), r"\1[hidden]@"),
]


def scrub(text: str) -> str:
    """The text with anything that looks like a secret replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class SecretFilter(logging.Filter):
    """Rewrites each record's message so no token, key or password reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    FIELDS = ("event", "summary", "calls", "failures", "week")

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        if record.exc_info:
            payload["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO, fmt: str = "text") -> None:
    """Send logs to stderr, scrubbed, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
