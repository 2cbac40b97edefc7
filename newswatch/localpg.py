"""A throwaway PostgreSQL cluster on this machine: for the at-scale tests, the benchmarks, and for
trying the at-scale mode on one machine (``python -m newswatch.localpg FOLDER`` starts one and
prints its address).

It uses the server programs of an installed PostgreSQL (Debian's ``postgresql`` package puts them
in ``/usr/lib/postgresql/<version>/bin``): ``initdb`` a new cluster in a folder, ``pg_ctl`` start it
on a free port of 127.0.0.1 with trust authentication, and stop it again. PostgreSQL refuses to
run as root; when this process is root, the cluster runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class NoPostgres(RuntimeError):
    """The PostgreSQL server programs are not installed here."""


def server_bin() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``; the newest installed version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise NoPostgres("the PostgreSQL server programs (initdb, pg_ctl) are not installed; "
                     "on Debian: apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalPostgres:
    """One cluster in *folder* (created when missing); ``with LocalPostgres() as pg: pg.url()``."""

    folder: Path | None = None
    port: int = 0
    _own_folder: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
            self._own_folder = True
        self.folder = Path(self.folder)
        self.bin = server_bin()
        self.port = self.port or _free_port()

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        user = None
        if os.geteuid() == 0:
            user = "postgres"
        return subprocess.run(args, check=True, capture_output=True, text=True, user=user, **kw)

    def start(self) -> "LocalPostgres":
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-N"])
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   "-c shared_buffers=256MB")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start"])
        return self

    def stop(self) -> None:
        try:
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass  # not running
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create database *name* (when missing); returns its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m newswatch.localpg FOLDER   (start a cluster there; stop it with "
              "pg_ctl -D FOLDER/data stop)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        pg = LocalPostgres(Path(argv[0]).resolve())
        pg.folder.mkdir(parents=True, exist_ok=True)
        pg.start()
    except NoPostgres as exc:
        print(f"newswatch.localpg: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"newswatch.localpg: {Path(exc.cmd[0]).name} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    print(pg.url("newswatch"))
    pg.create_database("newswatch")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
