"""The local dev stack: Kafka, PostgreSQL and the services as processes whose state lives under `.civicpulse/`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.monitoring import (
    PROMETHEUS_CONFIG,
    PROMETHEUS_RULES,
    AlertmanagerNode,
    PrometheusNode,
    demo_rule_files,
    dev_prometheus_config,
    http_ready,
    rules_with_alertmanager,
)
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import (
    StartError,
    StopError,
    http_ok,
    port_open,
    read_pid,
    spawn,
    stop_pid,
    wait_until,
)

DATABASE = "civicpulse"
__all__ = ["DATABASE", "DevStack", "ServiceProcess", "http_ok"]  # http_ok: re-exported for the test harness


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


@dataclass(slots=True)
class DevStack:
    """Everything `make up` starts; ports come from the environment or defaults."""

    state: Path = field(default_factory=lambda: Path(os.environ.get("CIVICPULSE_STATE_DIR", REPO_ROOT / ".civicpulse")))
    kafka_port: int = field(default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_KAFKA_PORT", "9092")))
    kafka_controller_port: int = field(
        default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_KAFKA_CONTROLLER_PORT", "0"))
    )
    pg_port: int = field(default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_PG_PORT", "55432")))
    prometheus_port: int = field(default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_PROMETHEUS_PORT", "9090")))
    # 9093, Alertmanager's usual port, is the Kafka controller's here.
    alertmanager_port: int = field(
        default_factory=lambda: int(os.environ.get("CIVICPULSE_DEV_ALERTMANAGER_PORT", "9094"))
    )
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
    def external_prometheus(self) -> str | None:
        """CIVICPULSE_DEV_PROMETHEUS_URL: a Prometheus to use instead of starting one (it scrapes by its own config)."""
        value = os.environ.get("CIVICPULSE_DEV_PROMETHEUS_URL", "").rstrip("/")
        return value if value and value != self.prometheus.url else None

    @property
    def external_alertmanager(self) -> str | None:
        """CIVICPULSE_DEV_ALERTMANAGER_URL: an Alertmanager to send to instead of starting one."""
        value = os.environ.get("CIVICPULSE_DEV_ALERTMANAGER_URL", "").rstrip("/")
        return value if value and value != self.alertmanager.url else None

    @property
    def prometheus(self) -> PrometheusNode:
        return PrometheusNode(home=self.state / "prometheus", port=self.prometheus_port)

    @property
    def alertmanager(self) -> AlertmanagerNode:
        return AlertmanagerNode(home=self.state / "alertmanager", port=self.alertmanager_port)

    @property
    def prometheus_url(self) -> str:
        return self.external_prometheus or self.prometheus.url

    @property
    def alertmanager_url(self) -> str:
        return self.external_alertmanager or self.alertmanager.url

    def service_url(self, name: str) -> str | None:
        """Base URL of a stack service with a port."""
        port = next((s.port for s in self.services if s.name == name), None)
        return f"http://127.0.0.1:{port}" if port is not None else None

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

    def start_alertmanager(self, *, progress: Callable[[str], None] = print) -> None:
        """Alertmanager on the shipped config (unless an external one is set): before the alerts service sends."""
        if self.external_alertmanager:
            progress(f"alertmanager: external {self.external_alertmanager}")
        else:
            progress(f"alertmanager: starting on {self.alertmanager.url}")
            self.alertmanager.start()

    def start_prometheus(self, *, demo_rules: Path | None = None, progress: Callable[[str], None] = print) -> None:
        """Prometheus on the shipped config at the stack's ports (unless an external one is set): after the services,
        so its first scrape finds them up. The generated config is written either way, for an external one to use."""
        config = dev_prometheus_config(
            yaml.safe_load(PROMETHEUS_CONFIG.read_text("utf-8")),
            services={s.name: s.port for s in self.services if s.port is not None},
            prometheus_url=self.prometheus_url, alertmanager_url=self.alertmanager_url,
            rule_files=self.prometheus_rule_files(demo_rules),
        )  # fmt: skip
        config_file = self.prometheus.write_config(config)
        if self.external_prometheus:
            progress(f"prometheus: external {self.external_prometheus} (scrape jobs for it: {config_file})")
        else:
            progress(f"prometheus: starting on {self.prometheus.url}")
            self.prometheus.start()

    def prometheus_rule_files(self, demo_rules: Path | None) -> list[Path]:
        """The shipped rules; with demo rules, those instead of the shipped KPI alerts (as the alerts service does)."""
        shipped = sorted(PROMETHEUS_RULES.glob("*.yml"))
        if demo_rules is None:
            return shipped
        return demo_rule_files(shipped=shipped, demo=demo_rules, home=self.prometheus.home / "rules")

    def alerts_rules_file(self, rules_file: Path) -> Path:
        """A copy of an alerts rules file under the state dir whose rules also notify the stack's Alertmanager."""
        document = yaml.safe_load(rules_file.read_text("utf-8")) or {}
        alerts = self.service_url("alerts") or ""
        routed = rules_with_alertmanager(document, url=self.alertmanager_url, generator_url=f"{alerts}/v1/alerts")
        path = self.state / "alerts" / "rules.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"# GENERATED by `civicpulse dev up` from {rules_file}, routed to {self.alertmanager_url} too.\n"
        path.write_text(header + yaml.safe_dump(routed, sort_keys=False, allow_unicode=True, width=120), "utf-8")
        return path

    def start_service(self, service: ServiceProcess, *, timeout: float = 60.0) -> None:
        """Start one project process and wait until /readyz (when it has a port): connected, not only listening."""
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
                lambda: http_ok(f"http://127.0.0.1:{service.port}/readyz"),
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
            ("prometheus", read_pid(self.prometheus.pid_file) is not None, self.prometheus.stop),
            ("alertmanager", read_pid(self.alertmanager.pid_file) is not None, self.alertmanager.stop),
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
        monitors: list[tuple[str, PrometheusNode | AlertmanagerNode, str | None]] = [
            ("prometheus", self.prometheus, self.external_prometheus),
            ("alertmanager", self.alertmanager, self.external_alertmanager),
        ]
        for name, node, external in monitors:
            if external:
                rows.append((name, http_ready(external), f"external {external}"))
            else:
                rows.append((name, node.running(), f"{node.url}  log {node.log_file}"))
        for service in self.services:
            alive = read_pid(service.pid_file(self.state)) is not None
            if service.port is not None:
                healthy = alive and http_ok(f"http://127.0.0.1:{service.port}/readyz")
                where = f"http://127.0.0.1:{service.port}  log {service.log_file(self.state)}"
            else:
                healthy, where = alive, f"log {service.log_file(self.state)}"
            rows.append((service.name, None if service.optional and not alive else healthy, where))
        return rows
