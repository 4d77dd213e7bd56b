"""The workbook as a file on a shared folder: who has it open, whether it changed, and
how a new version replaces it without taking it from anyone.

- A lock file of LibreOffice (`.~lock.NAME#`) or Excel (`~$NAME`) beside the workbook
  means a person has it open: the agent does not write, and says who and since when.
- A save made by someone else between the agent's read and its write is noticed by the
  file's identity (inode, size, modification time): their save is never overwritten.
- The new version keeps the file's identity: written in the real file's folder (through
  a symlink), same mode, owner and group where permitted, fsynced, renamed over it. A
  file with hard links is rewritten in place instead (a rename would split the links),
  after a copy of the old version is kept beside it until the write is done.
- A pass killed mid-save leaves `.health-agent-*` files: the next start removes them
  (and puts back a hard-linked workbook from its copy if the kill cut its rewrite).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agent.labels import WORKBOOK_OPEN, WORKBOOK_OPEN_BY

LEFTOVER_PREFIX = ".health-agent-"


@dataclass(frozen=True)
class Identity:
    """What tells one version of the file from another."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Identity:
        st = os.stat(path)
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


def real_path(path: Path) -> Path:
    """The file a (chain of) symlink(s) points to; the path itself otherwise."""
    return Path(os.path.realpath(path))


def _owner_of_libreoffice_lock(text: str) -> str:
    # "full name,user,host,dd.mm.yyyy hh:mm,config url;"
    fields = text.split(",")
    return next((f.strip() for f in fields[:2] if f.strip()), "")


def _owner_of_excel_lock(data: bytes) -> str:
    # a length byte, then the user's name (Windows code page), padded
    if not data:
        return ""
    size = min(data[0], len(data) - 1)
    return data[1 : 1 + size].decode("cp1252", "replace").strip()


def lock_note(path: Path, timezone: dt.tzinfo | None = None, language: str = "en") -> str | None:
    """The sentence saying who has the workbook open, in `language`, or None when nobody
    does."""
    places = {path.parent, real_path(path).parent}
    names = {path.name, real_path(path).name}
    for folder in places:
        for name in names:
            for lock, program in (
                (folder / f".~lock.{name}#", "LibreOffice"),
                (folder / f"~${name}", "Excel"),
                (folder / f"~${name[2:]}", "Excel"),
            ):
                try:
                    data = lock.read_bytes()
                    since = dt.datetime.fromtimestamp(lock.stat().st_mtime, timezone)
                except OSError:
                    continue
                if program == "LibreOffice":
                    who = _owner_of_libreoffice_lock(data.decode("utf-8", "replace"))
                else:
                    who = _owner_of_excel_lock(data)
                words = language if language in WORKBOOK_OPEN else "en"
                by = WORKBOOK_OPEN_BY[words].format(who=who) if who else ""
                return WORKBOOK_OPEN[words].format(
                    file=path.name, program=program, by=by, since=since
                )
    return None


def remove_leftovers(path: Path) -> list[Path]:
    """Remove what a killed pass left beside the workbook; put a hard-linked workbook back
    from its copy if its rewrite was cut. Returns what was removed."""
    target = real_path(path)
    removed = []
    for leftover in sorted(target.parent.glob(LEFTOVER_PREFIX + "*")):
        pid = _pid_of(leftover.name)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue  # another agent's write, under way
        if leftover.name.endswith(".backup") and not _opens(target):
            _copy_into(leftover, target)
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _pid_of(name: str) -> int | None:
    rest = name[len(LEFTOVER_PREFIX) :].split("-", 1)[0]
    return int(rest) if rest.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _opens(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def _copy_into(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("r+b") as dst:
        shutil.copyfileobj(src, dst)
        dst.truncate()
        dst.flush()
        os.fsync(dst.fileno())


def replace_file(path: Path, body: bytes, expected: Identity) -> bool:
    """Put `body` in place of the workbook, if it is still the version `expected`.

    False (nothing written) when someone else saved it meanwhile."""
    target = real_path(path)
    st = os.stat(target)
    if Identity(st.st_ino, st.st_size, st.st_mtime_ns) != expected:
        return False
    if st.st_nlink > 1:
        _rewrite_in_place(target, body)
        return True
    fd, tmp = tempfile.mkstemp(
        prefix=f"{LEFTOVER_PREFIX}{os.getpid()}-", suffix=".xlsx", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fchmod(out.fileno(), st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):  # another's file: ours, same mode
                os.fchown(out.fileno(), st.st_uid, st.st_gid)
            os.fsync(out.fileno())
        if Identity.of(target) != expected:  # a save landed while the copy was written
            Path(tmp).unlink(missing_ok=True)
            return False
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return True


def _rewrite_in_place(target: Path, body: bytes) -> None:
    backup = target.parent / f"{LEFTOVER_PREFIX}{os.getpid()}-{target.name}.backup"
    shutil.copyfile(target, backup)
    with backup.open("rb+") as b:
        os.fsync(b.fileno())
    with target.open("r+b") as out:
        out.write(body)
        out.truncate()
        out.flush()
        os.fsync(out.fileno())
    backup.unlink()


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
