"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary data directory.

``PostgresServer.create()`` finds ``/usr/lib/postgresql/*/bin`` (the newest), runs
``initdb`` into a fresh directory under the system's temporary directory and ``pg_ctl
start`` on a free 127.0.0.1 port with a private socket directory. As root, every server
command runs as the ``postgres`` system user (the server refuses to run as root). No mock:
the store under test talks to a real server.

``find_bindir()`` says why there is none (``None`` and a reason); the fixtures skip the
PostgreSQL tests then, or fail them under ``CI=true`` (``make test`` installs Debian's
``postgresql`` package when it is missing).

Authentication: ``trust`` for the superuser ``postgres`` on 127.0.0.1, and
``scram-sha-256`` for the role ``PASSWORD_USER`` (password ``PASSWORD``), so that a test
can use a conninfo with a password.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PASSWORD", "PASSWORD_USER", "PostgresServer", "find_bindir", "unavailable"]

PASSWORD_USER = "alice"
PASSWORD = "s3cret-Pa55word"  # a throwaway server's test role


def find_bindir() -> tuple[Path | None, str]:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb``, or why none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        return None, ("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb "
                      "(`make test` installs it as root: apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' system user to run as"
        if shutil.which("runuser") is None:
            return None, "running as root and `runuser` is missing"
    return bindir, ""


def unavailable() -> str:
    """Why no server can be started here ('' if one can)."""
    bindir, reason = find_bindir()
    return "" if bindir is not None else reason


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One server: its binaries, data and socket directories, port."""

    bindir: Path
    root: Path  # holds data/, sock/ and server.log; removed by ``destroy``
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def conninfo(self) -> str:
        """A conninfo (URI) for the superuser ``postgres`` over TCP, no password."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def conninfo_for(self, user: str, password: str, dbname: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def create(cls, *, fsync: bool = False) -> PostgresServer:
        """A new cluster, started. ``fsync=False`` (tests): commits still reach the
        operating system before they return, so a server stopped with ``-m immediate``
        loses nothing; only a crash of the machine would."""
        bindir, reason = find_bindir()
        if bindir is None:
            raise RuntimeError(reason)
        root = Path(tempfile.mkdtemp(prefix="flownb-pg-"))
        server = cls(bindir, root, _free_port())
        try:
            server.sockdir.mkdir()
            if os.geteuid() == 0:
                import pwd

                pw = pwd.getpwnam("postgres")
                for path in (root, server.sockdir):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
            server._run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            hba = server.data / "pg_hba.conf"
            # First match wins: the password role must authenticate, everyone else is trusted.
            rules = (f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
                     f"local all {PASSWORD_USER} scram-sha-256\n")
            server._as_postgres_write(hba, rules + server._as_postgres_read(hba))
            conf = server.data / "postgresql.conf"
            extra = ("\nfsync = off\nfull_page_writes = off\n" if not fsync else "\n")
            server._as_postgres_write(conf, server._as_postgres_read(conf) + extra)
            server.start()
            server.psql(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        except BaseException:
            server.destroy()
            raise
        return server

    # -- commands ------------------------------------------------------------------------

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return [*prefix, *args]

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(self._cmd(str(self.bindir / tool), *args), capture_output=True,
                              text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}\n{log}")
        return done.stdout

    def _as_postgres_read(self, path: Path) -> str:
        return path.read_text()

    def _as_postgres_write(self, path: Path, text: str) -> None:
        path.write_text(text)  # root may write; the file keeps its owner

    def start(self) -> None:
        """``pg_ctl start`` and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=60")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l",
                  str(self.log), "-o", options)
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True, check=False)
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} did not become ready")
            time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` (``immediate``: as if the server crashed)."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def running(self) -> bool:
        done = subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "status", "-D",
                                        str(self.data)), capture_output=True, check=False)
        return done.returncode == 0

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` as the superuser; its output, tuples only."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", dbname, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql)

    def create_database(self, name: str) -> str:
        """A fresh database (``name`` is a plain identifier); its conninfo."""
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        """Stop the server (if it runs) and remove its directory."""
        with contextlib.suppress(Exception):
            if self.data.exists() and self.running():
                self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)
