"""docker-compose.yml and the Dockerfile: a real compose parser accepts the file, every long-running service has a
healthcheck, the Python services share the one image, and Grafana gets its provisioning and dashboards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prometheus import REPO_ROOT, run_tool

pytestmark = pytest.mark.unit

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"
PYTHON_SERVICES = {"ingest": 8001, "metrics": 8002, "alerts": 8003}
ONE_SHOTS = {"setup", "simulator"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """Services as docker-compose resolves them (anchors merged, variables at their defaults, every profile)."""
    text = run_tool("docker-compose", "-f", COMPOSE_FILE, "--profile", "demo", "config")
    resolved: dict[str, Any] = yaml.safe_load(text)["services"]
    return resolved


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of a service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict) and volume.get("type") == "bind":
            found[volume["target"]] = str(Path(volume["source"]).resolve().relative_to(REPO_ROOT))
        elif isinstance(volume, str) and volume.count(":") >= 1 and volume.startswith(("/", ".")):
            source, target = volume.split(":")[:2]
            found[target] = str(Path(source).resolve().relative_to(REPO_ROOT))  # compose writes absolute paths
    return found


def test_docker_compose_accepts_the_file() -> None:
    run_tool("docker-compose", "-f", COMPOSE_FILE, "config", "-q")


def test_the_whole_system_is_there(services: dict[str, Any]) -> None:
    assert set(services) == {"kafka", "postgres", "setup", *PYTHON_SERVICES, "simulator", "prometheus",
                             "alertmanager", "grafana"}  # fmt: skip
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft


def test_every_long_running_service_has_a_healthcheck_and_the_jobs_run_once(services: dict[str, Any]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck", {})
        disabled = check.get("disable") is True or check.get("test") == ["NONE"]  # compose writes it either way
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
            assert disabled, f"{name}: a job has no server to check"
        else:
            assert check.get("test"), f"{name} has no healthcheck"
            assert not disabled, name
            assert service["restart"] == "unless-stopped", name


def test_python_services_use_the_dockerfile_and_probe_healthz(services: dict[str, Any]) -> None:
    for name, port in PYTHON_SERVICES.items():
        service = services[name]
        assert Path(service["build"]["context"]).resolve() == REPO_ROOT, name
        assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile", name
        assert service["command"] == [name, "serve"], name
        assert service["environment"]["CIVICPULSE_HTTP_PORT"] == str(port), name
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"]), name
        assert service["depends_on"]["setup"]["condition"] == "service_completed_successfully", name
    for name in ONE_SHOTS:
        assert Path(services[name]["build"]["context"]).resolve() == REPO_ROOT, name


def test_setup_migrates_makes_topics_and_loads_reference_data(services: dict[str, Any]) -> None:
    command = " ".join(services["setup"]["command"])
    for step in ("civicpulse migrate", "civicpulse topics ensure", "civicpulse refdata load"):
        assert step in command


def test_simulator_is_the_demo_profile_feeding_ingest_with_an_incident(services: dict[str, Any]) -> None:
    simulator = services["simulator"]
    assert simulator["profiles"] == ["demo"]
    command = simulator["command"]
    assert command[0] == "simulate"
    for option in ("--profile=haiphong", "--rate=50/s", "--duration=24h", "--url=http://ingest:8001",
                   "--incident=unit=H24.107,kpi=online_submission_rate,to=0.6,for=1h"):  # fmt: skip
        assert option in command
    assert "CIVICPULSE_SIMULATOR_TOKEN" in simulator["environment"]


def test_grafana_mounts_its_provisioning_and_the_provisioned_dashboards_dir(services: dict[str, Any]) -> None:
    grafana = mounts(services["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    provider = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text("utf-8"))
    path = provider["providers"][0]["options"]["path"]
    assert grafana[path] == "deploy/grafana/dashboards"
    assert sorted((GRAFANA_DIR / "dashboards").glob("*.json")), "no dashboards to provision"
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (GRAFANA_DIR / "dashboards" / Path(home).name).is_file()
    assert home.startswith(path)


def test_grafana_data_sources_point_at_the_compose_services(services: dict[str, Any]) -> None:
    sources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml").read_text("utf-8"))
    by_uid = {s["uid"]: s for s in sources["datasources"]}
    assert by_uid["civicpulse-prometheus"]["url"] == "http://prometheus:9090"
    postgres = by_uid["civicpulse-postgres"]
    assert postgres["url"] == "postgres:5432"
    assert postgres["jsonData"]["database"] == "civicpulse"
    assert postgres["secureJsonData"]["password"] == "$GRAFANA_PG_PASSWORD"
    assert "GRAFANA_PG_PASSWORD" in services["grafana"]["environment"]
    assert mounts(services["postgres"])["/docker-entrypoint-initdb.d/20-grafana-reader.sh"] == (
        "deploy/grafana/postgres-reader.sh"
    )


def test_prometheus_and_alertmanager_read_the_deploy_configs(services: dict[str, Any]) -> None:
    assert mounts(services["prometheus"])["/etc/prometheus"] == "deploy/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert mounts(services["alertmanager"])["/etc/alertmanager"] == "deploy/alertmanager"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in services["alertmanager"]["command"]


def test_dockerfile_builds_a_slim_non_root_image_with_a_healthcheck() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text("utf-8")
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["python:3.11-slim", "python:3.11-slim"]
    assert "pip install ." in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user, "the image must name a user"
    assert not user[-1].startswith(("root", "0")), user
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["civicpulse"\]', text, re.MULTILINE)
