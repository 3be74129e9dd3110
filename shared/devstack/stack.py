"""The local dev stack: Kafka, PostgreSQL and the services as processes whose state lives under `.civicpulse/`."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import StartError, StopError, port_open, read_pid, spawn, stop_pid, wait_until

DATABASE = "civicpulse"


@dataclass(frozen=True, slots=True)
class ServiceProcess:
    """A long-running project process (a service, the simulator) started with the stack's environment."""

    name: str
    args: tuple[str, ...]
    port: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    """Demo traffic: not running (never started, or finished) is not a failure."""

    def pid_file(self, state: Path) -> Path:
        return state / "run" / f"{self.name}.pid"

    def log_file(self, state: Path) -> Path:
        return state / "logs" / f"{self.name}.log"


def http_ok(url: str) -> bool:
    """Whether GET url answers 2xx within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback URL we built)
            return 200 <= int(response.status) < 300
    except OSError:
        return False


@dataclass(slots=True)
class DevStack:
    """Everything `make up` starts; ports come from the environment or defaults."""

    state: Path = field(default_factory=lambda: Path(os.environ.get("CIVICPULSE_STATE_DIR", REPO_ROOT / ".civicpulse")))
    kafka_port: int = field(default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_KAFKA_PORT", "9092")))
    kafka_controller_port: int = field(
        default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_KAFKA_CONTROLLER_PORT", "0"))
    )
    pg_port: int = field(default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_PG_PORT", "55432")))
    services: list[ServiceProcess] = field(default_factory=list)

    @property
    def external_kafka(self) -> str | None:
        """CIVICPULSE_KAFKA_BOOTSTRAP, unless it names this stack's own broker (as `.civicpulse/env` does)."""
        value = os.environ.get("CIVICPULSE_KAFKA_BOOTSTRAP")
        return value if value and value != self.kafka.bootstrap else None

    @property
    def external_pg(self) -> str | None:
        """CIVICPULSE_PG_DSN, unless it names this stack's own cluster (as `.civicpulse/env` does)."""
        value = os.environ.get("CIVICPULSE_PG_DSN")
        return value if value and value != self.postgres.dsn(DATABASE) else None

    @property
    def kafka(self) -> KafkaNode:
        return KafkaNode(
            home=self.state / "kafka", port=self.kafka_port,
            controller_port=self.kafka_controller_port or self.kafka_port + 1,
            jar_cache=self.state / "kafka-jars",
        )  # fmt: skip

    @property
    def postgres(self) -> PostgresNode:
        return PostgresNode(home=self.state / "postgres", port=self.pg_port)

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or self.kafka.bootstrap

    @property
    def pg_dsn(self) -> str:
        return self.external_pg or self.postgres.dsn(DATABASE)

    def environment(self) -> dict[str, str]:
        """The environment every project process of the stack runs with."""
        env = dict(os.environ)
        env.update(
            CIVICPULSE_KAFKA_BOOTSTRAP=self.bootstrap,
            CIVICPULSE_PG_DSN=self.pg_dsn,
            CIVICPULSE_ENVIRONMENT=env.get("CIVICPULSE_ENVIRONMENT", "development"),
        )
        return env

    def write_env_file(self) -> Path:
        """`.civicpulse/env`: `source` it to point the CLI at this stack."""
        path = self.state / "env"
        path.write_text(f"export CIVICPULSE_KAFKA_BOOTSTRAP={self.bootstrap}\nexport CIVICPULSE_PG_DSN={self.pg_dsn}\n")
        return path

    def start_infrastructure(self, *, progress: Callable[[str], None] = print) -> None:
        """Kafka and PostgreSQL (unless external ones are configured)."""
        self.state.mkdir(parents=True, exist_ok=True)
        if self.external_kafka:
            progress(f"kafka: external {self.external_kafka}")
        else:
            progress(f"kafka: starting on {self.kafka.bootstrap} (first run resolves jars with maven)")
            self.kafka.start()
        if self.external_pg:
            progress("postgres: external (CIVICPULSE_PG_DSN)")
        else:
            progress(f"postgres: starting on 127.0.0.1:{self.pg_port}")
            self.postgres.start()
            self.postgres.create_database(DATABASE)

    def start_service(self, service: ServiceProcess, *, timeout: float = 60.0) -> None:
        """Start one project process and wait for its /healthz (when it has a port)."""
        if read_pid(service.pid_file(self.state)) is not None:
            return
        if service.port is not None and port_open(service.port):
            raise StartError(f"{service.name}: port {service.port} is taken by another process")
        process = spawn(
            [sys.executable, "-m", "services.cli", *service.args],
            log_file=service.log_file(self.state), pid_file=service.pid_file(self.state),
            env={**self.environment(), **({"CIVICPULSE_HTTP_PORT": str(service.port)} if service.port else {}),
                 **dict(service.env)},
            cwd=REPO_ROOT,
        )  # fmt: skip
        if service.port is not None:
            wait_until(
                lambda: http_ok(f"http://127.0.0.1:{service.port}/healthz"),
                timeout=timeout,
                what=f"{service.name} (log: {service.log_file(self.state)})",
                alive=lambda: process.poll() is None,
            )

    def stop(self) -> list[str]:
        """Stop everything this stack started, services first; returns what was stopped once all have exited.

        What is ours comes from the PID files under the state directory, never from the environment: a shell that
        sourced `.civicpulse/env` (or points at an external server) stops exactly what `up` started. A component
        that does not stop raises StopError after the others were stopped.
        """
        stopped, failures = [], []
        for service in reversed(self.services):
            pid = read_pid(service.pid_file(self.state))
            if pid is not None:
                try:
                    stop_pid(pid)
                    stopped.append(service.name)
                except StopError as exc:
                    failures.append(f"{service.name}: {exc}")
            service.pid_file(self.state).unlink(missing_ok=True)
        # By PID file, not by health: a broker or cluster too busy to answer is still ours to stop.
        servers: list[tuple[str, bool, Callable[[], None]]] = [
            ("kafka", read_pid(self.kafka.pid_file) is not None, self.kafka.stop),
            ("postgres", self.postgres.postmaster_pid() is not None, self.postgres.stop),
        ]
        for name, ours, stop in servers:
            if not ours:
                continue
            try:
                stop()
                stopped.append(name)
            except StopError as exc:
                failures.append(f"{name}: {exc}")
        if failures:
            raise StopError("; ".join(failures) + (f" (stopped: {', '.join(stopped)})" if stopped else ""))
        return stopped

    def status(self) -> list[tuple[str, bool | None, str]]:
        """(component, healthy, where) for each component; healthy is None for an optional one not running."""
        rows: list[tuple[str, bool | None, str]] = []
        if self.external_kafka:
            rows.append(("kafka", True, f"external {self.external_kafka}"))
        else:
            rows.append(("kafka", self.kafka.running(), f"{self.kafka.bootstrap}  log {self.kafka.log_file}"))
        if self.external_pg:
            rows.append(("postgres", True, "external (CIVICPULSE_PG_DSN)"))
        else:
            rows.append(("postgres", self.postgres.running(), f"{self.pg_dsn}  log {self.postgres.log_file}"))
        for service in self.services:
            alive = read_pid(service.pid_file(self.state)) is not None
            if service.port is not None:
                healthy = alive and http_ok(f"http://127.0.0.1:{service.port}/readyz")
                where = f"http://127.0.0.1:{service.port}  log {service.log_file(self.state)}"
            else:
                healthy, where = alive, f"log {service.log_file(self.state)}"
            rows.append((service.name, None if service.optional and not alive else healthy, where))
        return rows
