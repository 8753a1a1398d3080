"""The data directory: private to the platform's user, and the all-in-one's service secret.

It holds every service's SQLite file (identity's signing keys, audit's
checkpoint key among them), stored blobs and the generated service secret,
so nobody but the user running devgen may read it: the directory is 0700,
everything in it 0600 (directories 0700). Looser modes found at start-up,
left by an older devgen or a copy, are tightened with a warning.

New files keep to it without a process-wide umask (which would also narrow
what the executor must make readable for its sandbox users): SQLite files
are created 0600 (``devgen.kit.db``) and their -wal/-shm files inherit that
mode, uploads are staged with ``mkstemp`` (0600) and moved into place.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import structlog
from pydantic import SecretStr

from devgen.kit.settings import MIN_SECRET_BYTES, Settings

log = structlog.get_logger(__name__)

SECRET_FILE = "service-secret"  # noqa: S105 - a file name


def secure_data_dir(path: Path) -> list[Path]:
    """Create ``path`` private (0700), tighten anything in it others may read; returns those."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened: list[Path] = []
    for current, directories, files in os.walk(path):
        base = Path(current)
        for name in [".", *directories]:
            if _tighten(base / name if name != "." else base, 0o700):
                tightened.append(base / name if name != "." else base)
        for name in files:
            if _tighten(base / name, 0o600):
                tightened.append(base / name)
    if tightened:
        log.warning(
            "data_dir_permissions_tightened",
            data_dir=str(path),
            paths=[str(item) for item in tightened[:20]],
            count=len(tightened),
            reason="others could read them; now readable by this user only",
        )
    return tightened


def _tighten(path: Path, mode: int) -> bool:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False  # gone meanwhile (a SQLite -shm file, say)
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
        return False
    try:
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077 | (mode & 0o700))
    except OSError as exc:  # a read-only mount, another owner: say so, do not stop
        log.warning("data_dir_permissions_not_tightened", path=str(path), error=str(exc))
        return False
    return True


def ensure_service_secret(settings: Settings) -> Settings:
    """``settings`` with a service secret: the configured one, else the data dir's own.

    The all-in-one needs a secret only between its own services, so on the
    first start it generates one (``<data dir>/service-secret``, 0600) and
    reads it back on every later start.
    """
    if settings.auth.service_secret is not None:
        return settings
    data_dir = settings.core.data_dir
    secure_data_dir(data_dir)
    path = data_dir / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
    else:
        value = secrets.token_hex(MIN_SECRET_BYTES)
        with os.fdopen(descriptor, "w") as file:
            file.write(value + "\n")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{path} holds a service secret shorter than {MIN_SECRET_BYTES} bytes; "
            "delete it to have a new one generated"
        )
    auth = settings.auth.model_copy(update={"service_secret": SecretStr(value)})
    return settings.model_copy(update={"auth": auth})
