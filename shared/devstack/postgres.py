"""A real throw-away PostgreSQL cluster on loopback, from the Debian binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.devstack.processes import StartError, StopError, pid_alive, port_open, wait_for_exit

SUPERUSER = "postgres"


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian layout, else PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise StartError("PostgreSQL server binaries are missing: apt-get install -y postgresql")


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb and pg_ctl refuse root: run them as the postgres system user when we are root."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise StartError("running as root needs the 'postgres' system user (apt-get install postgresql)") from exc
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass(frozen=True, slots=True)
class PostgresNode:
    """One cluster whose data directory is `home/data`, listening on 127.0.0.1:port with trust auth."""

    home: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.home, *self.home.rglob("*")):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            # The postgres user must be able to reach home through its parents.
            for parent in self.home.parents:
                if parent.exists() and not os.stat(parent).st_mode & 0o001:
                    os.chmod(parent, os.stat(parent).st_mode | 0o711)  # noqa: S103 (traverse only, no read)

    def running(self) -> bool:
        """Whether this cluster's postmaster is up and answering."""
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        result = subprocess.run(
            [str(postgres_bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    def start(self, *, timeout: int = 60) -> None:
        """initdb on first use, then start the cluster and wait until it accepts connections."""
        if self.running():
            return
        if port_open(self.port):
            raise StartError(
                f"port {self.port} is taken by another process: move PostgreSQL with CIVICPULSE_DEV_PG_PORT"
            )
        bindir = postgres_bindir()
        self._prepare_home()
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                _as_cluster_owner([str(bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                                   "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise StartError(f"initdb failed: {result.stderr or result.stdout}")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
            "-c max_connections=200 -c shared_buffers=128MB -c fsync=on -c synchronous_commit=on "
            "-c timezone=UTC"
        )
        self.log_file.touch()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
        result = subprocess.run(
            _as_cluster_owner([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                               "-o", options, "-w", "-t", str(timeout), "start"]),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StartError(f"PostgreSQL did not start ({result.stderr.strip()}); log: {self.log_file}")

    def postmaster_pid(self) -> int | None:
        """The PID in this cluster's postmaster.pid, if the file exists and the process is alive."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def stop(self, *, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the cluster (fast: roll back open transactions; immediate: like a crash); returns once it exited.

        A `pg_ctl stop` that fails is a StopError with its output, not something to ignore.
        """
        pid = self.postmaster_pid()
        if pid is None:
            return
        result = subprocess.run(
            _as_cluster_owner([str(postgres_bindir() / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
                               "-t", str(int(timeout)), "stop"]),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        # pg_ctl returns when postmaster.pid is gone; the postmaster process itself exits a moment later.
        if not wait_for_exit(pid, timeout=timeout):
            output = (result.stdout + result.stderr).strip()
            raise StopError(f"PostgreSQL (pid {pid}) did not stop: pg_ctl exited {result.returncode}: {output}")
        if result.returncode != 0 and (self.data_dir / "postmaster.pid").exists():
            output = (result.stdout + result.stderr).strip()
            raise StopError(f"pg_ctl stop exited {result.returncode}: {output}")

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """CREATE DATABASE (if absent), optionally from a template; returns its DSN."""
        psql = [str(postgres_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER]
        exists = subprocess.run(
            [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'", "postgres"],  # noqa: S608 (our name)
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            clause = f' TEMPLATE "{template}"' if template else ""
            subprocess.run([*psql, "-qc", f'CREATE DATABASE "{name}"{clause}', "postgres"], check=True)
        return self.dsn(name)
