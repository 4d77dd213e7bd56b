"""The README's systemd recipe: with the permissions `deploy/permissions.sh` sets, the
agent starts as an unprivileged user (`check`, then one bounded `sync` on a local
workbook), and another user cannot read its config or its password.

It needs root (to change owners and drop to another user): elsewhere it is skipped, and
says why."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from agent.cli import main
from tests.conftest import ROOT

SERVICE_USER = "nobody"  # an unprivileged user every Linux has; the recipe makes its own
STRANGER_UID = 54321  # a user in no group of the service
SETPRIV = shutil.which("setpriv")


def skip_unless_root() -> None:
    reason = None
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        reason = "the deploy test runs only as root (it changes owners and drops privileges)"
    elif SETPRIV is None:
        reason = "the deploy test needs setpriv (util-linux) to run as another user"
    else:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            reason = f"the deploy test needs the user {SERVICE_USER!r}"
    if reason:
        print(f"skipped: {reason}")
        pytest.skip(reason)


def as_user(uid: int, gid: int, *command: str, env: dict[str, str] | None = None):
    assert SETPRIV is not None
    return subprocess.run(
        [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd="/",
    )


def python_for(uid: int, gid: int, env: dict[str, str]) -> str:
    """An interpreter the user can run with this venv's packages (this one may live in a
    home folder closed to others, e.g. /root)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (
        sys.executable,
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ):
        if Path(candidate).exists():
            probe = as_user(
                uid, gid, candidate, "-c", "import agent.cli, pandas, openpyxl", env=env
            )
            if probe.returncode == 0:
                return candidate
    reason = f"no Python {version} with this venv's packages can be run by {SERVICE_USER}"
    print(f"skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture
def server():
    """A root-like tree in a folder other users may enter (pytest's tmp_path is root's)."""
    skip_unless_root()
    base = Path(tempfile.mkdtemp(prefix="health-agent-deploy-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_user_starts_the_agent_with_the_readme_s_permissions(server):
    etc, state = server / "etc" / "health-agent", server / "var" / "lib" / "health-agent"
    workbook = state / "comptes.xlsx"
    args = ["init", "--dir", str(etc), "--workbook", str(workbook), "--state-dir", str(state)]
    assert main(args) == 0
    (etc / "env").write_text("HEALTH_AGENT_SMTP_PASSWORD=s3cret\n", encoding="utf-8")
    (etc / "key.json").write_text("{}", encoding="utf-8")

    script = ROOT / "deploy" / "permissions.sh"
    done = subprocess.run(
        ["sh", str(script), SERVICE_USER, str(etc), str(state)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    user = pwd.getpwnam(SERVICE_USER)
    assert (mode(etc), mode(etc / "config.toml"), mode(etc / "key.json")) == (0o750, 0o640, 0o640)
    assert (etc / "config.toml").stat().st_uid == 0
    assert (etc / "config.toml").stat().st_gid == user.pw_gid
    assert (mode(etc / "env"), (etc / "env").stat().st_gid) == (0o600, 0)
    assert (mode(state), state.stat().st_uid) == (0o700, user.pw_uid)

    site = sysconfig.get_paths()["purelib"]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT), site]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "HOME": str(state),
    }
    python = python_for(user.pw_uid, user.pw_gid, env)
    config = str(etc / "config.toml")

    checked = as_user(
        user.pw_uid, user.pw_gid, python, "-m", "agent.cli", "check", "-c", config, env=env
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "playbooks:" in checked.stdout and "problem" not in checked.stdout

    synced = as_user(
        user.pw_uid, user.pw_gid, python, "-m", "agent.cli", "sync", "-c", config, env=env
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert synced.stdout.startswith("Comptes: 12")
    assert (state / "status.json").stat().st_uid == user.pw_uid

    for secret in ("config.toml", "env", "key.json"):  # nobody else reads them
        peek = as_user(STRANGER_UID, STRANGER_UID, "/bin/cat", str(etc / secret))
        assert peek.returncode != 0 and "Permission denied" in peek.stderr
    peek = as_user(user.pw_uid, user.pw_gid, "/bin/cat", str(etc / "env"))
    assert peek.returncode != 0  # the password is systemd's to hand over, not the agent's


def test_the_old_recipe_s_root_only_config_is_a_sentence_for_the_service_user(server):
    etc = server / "etc"
    assert main(["init", "--dir", str(etc), "--state-dir", str(server / "state")]) == 0
    (etc / "config.toml").chmod(0o600)  # the README's former `chmod 600 /etc/health-agent/*`
    user = pwd.getpwnam(SERVICE_USER)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    python = python_for(user.pw_uid, user.pw_gid, env)

    done = as_user(
        user.pw_uid,
        user.pw_gid,
        python,
        "-m",
        "agent.cli",
        "check",
        "-c",
        str(etc / "config.toml"),
        env=env,
    )

    assert done.returncode == 1
    assert "cannot be read (Permission denied)" in done.stderr


def test_the_unit_file_is_one_systemd_accepts(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        reason = "systemd-analyze is not installed here"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    unit = (ROOT / "deploy" / "health-agent.service").read_text(encoding="utf-8")
    assert "StateDirectoryMode=0700" in unit and "EnvironmentFile=-/etc/health-agent/env" in unit
    # the program is not installed on this machine: point at one that is, the rest unchanged
    installed = unit.replace("/opt/health-agent/.venv/bin/health-agent", "/bin/true")
    (tmp_path / "health-agent.service").write_text(installed, encoding="utf-8")

    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "health-agent.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0 and "health-agent.service" not in done.stderr, done.stderr
