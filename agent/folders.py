"""The agent's own folders (`state.dir`, `digest.outbox`): tried before a command relies
on them, so one that cannot be written is a sentence naming its key, not a traceback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable

from agent.config import Config
from agent.errors import ConfigError

WHAT_IS_KEPT = {
    "state.dir": "its lock, ledger and last pass",
    "digest.outbox": "the digests and their previews",
}


def folder_problems(config: Config, keys: Iterable[str] = tuple(WHAT_IS_KEPT)) -> list[str]:
    """Each folder named by `keys` that cannot be written, as a sentence saying what to do.

    Each is tried by making it if missing (as the agent would) and writing a file in it:
    only that proves it, whoever runs the agent (permissions, a file in the way, a
    read-only disk)."""
    folders = {"state.dir": config.state_dir, "digest.outbox": config.digest.outbox}
    found = []
    for key in keys:
        folder = folders[key]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            found.append(
                f"`{key}` {folder} cannot be written ({exc.strerror}), and the agent keeps "
                f"{WHAT_IS_KEPT[key]} there: make it a folder the agent's user can write "
                "(chown it to that user), or point the key elsewhere."
            )
    return found


def require_writable(config: Config, *keys: str) -> None:
    """Raise the sentences of `folder_problems` as one ConfigError, if any."""
    problems = folder_problems(config, keys)
    if problems:
        raise ConfigError(f"{config.path}: " + " ".join(problems))
