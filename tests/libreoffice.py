"""LibreOffice headless, for the tests that open the agent's workbooks as a person does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def soffice() -> str:
    """The `soffice` program; the test is skipped, saying why, where it is not installed."""
    found = shutil.which("soffice")
    if found is None:
        pytest.skip("soffice is not installed (apt-get install libreoffice-calc-nogui)")
    return found


def convert(path: Path, work: Path, to: str) -> Path:
    """`path` converted by LibreOffice to `to` ("pdf", "csv", "xlsx:Calc MS Excel 2007
    XML"), in a folder of `work` with a profile of its own; fails with LibreOffice's words."""
    kind = to.split(":")[0]
    out = work / kind
    done = subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{work}/profile", "--headless",
         "--convert-to", to, "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    made = out / f"{path.stem}.{kind}"
    assert done.returncode == 0 and made.exists(), done.stdout + done.stderr
    return made
