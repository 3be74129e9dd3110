"""A real single-node Apache Kafka (KRaft, combined broker and controller) on loopback, from Maven Central jars."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shared.devstack.processes import StartError, port_open, read_pid, spawn, stop_pid, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
CLUSTER_ID = "Q2l2aWNQdWxzZURldjAwMA"  # any 22-char base64 id; fixed so a re-format is recognisable


def kafka_classpath(*, cache_dir: Path) -> str:
    """The broker classpath: `$KAFKA_HOME/libs` when set, else the pom's dependencies resolved once into cache_dir."""
    kafka_home = os.environ.get("KAFKA_HOME")
    if kafka_home:
        libs = Path(kafka_home) / "libs"
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise StartError(f"KAFKA_HOME={kafka_home} has no libs/kafka_2.13-*.jar")
        return f"{libs}/*"
    libs = cache_dir / "libs"
    stamp = libs / ".pom.sha"
    pom_text = POM.read_text()
    wanted = hashlib.sha256(pom_text.encode()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == wanted):
        if shutil.which("mvn") is None:
            raise StartError("maven is missing: apt-get install -y maven (or set KAFKA_HOME to a Kafka install)")
        shutil.rmtree(libs, ignore_errors=True)
        result = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={libs}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StartError(f"mvn could not resolve the Kafka jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        stamp.write_text(wanted)
    return f"{libs}/*"


@dataclass(frozen=True, slots=True)
class KafkaNode:
    """One combined broker+controller whose state lives in `home`."""

    home: Path
    port: int
    controller_port: int
    jar_cache: Path
    heap: str = "512m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    def _properties(self) -> str:
        template = (resources.files("shared.devstack") / "server.properties").read_text("utf-8")
        return template.format(port=self.port, controller_port=self.controller_port, data_dir=self.home / "data")

    def running(self) -> bool:
        """Whether our broker process is alive and its port answers."""
        return read_pid(self.pid_file) is not None and port_open(self.port)

    def start(self, *, timeout: float = 90.0) -> None:
        """Format storage on first use, start the broker and wait until it accepts connections."""
        if self.running():
            return
        for port in (self.port, self.controller_port):
            if port_open(port):
                raise StartError(
                    f"port {port} is taken by another process: move Kafka with CIVICPULSE_DEV_KAFKA_PORT "
                    "(and _CONTROLLER_PORT), or stop what listens there"
                )
        classpath = kafka_classpath(cache_dir=self.jar_cache)
        self.home.mkdir(parents=True, exist_ok=True)
        properties = self.home / "server.properties"
        properties.write_text(self._properties())
        log4j = resources.files("shared.devstack") / "log4j2.yaml"
        log4j_path = self.home / "log4j2.yaml"
        log4j_path.write_text(log4j.read_text("utf-8"))
        java = ["java", f"-Dlog4j2.configurationFile={log4j_path}", "-cp", classpath]
        if not (self.home / "data" / "meta.properties").exists():
            result = subprocess.run(
                [*java, "kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", str(properties)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise StartError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
        env = dict(os.environ)
        env.setdefault("KAFKA_HEAP_OPTS", "")
        process = spawn(
            ["java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-Djava.awt.headless=true", *java[1:], "kafka.Kafka", str(properties)],
            log_file=self.log_file, pid_file=self.pid_file, env=env,
        )  # fmt: skip
        wait_until(
            lambda: port_open(self.port),
            timeout=timeout,
            what=f"Kafka on {self.bootstrap} (log: {self.log_file})",
            alive=lambda: process.poll() is None,
        )

    def stop(self) -> None:
        """Stop the broker (SIGTERM: a clean shutdown; SIGKILL after a grace period)."""
        pid = read_pid(self.pid_file)
        if pid is not None:
            stop_pid(pid, timeout=30.0)
        self.pid_file.unlink(missing_ok=True)
