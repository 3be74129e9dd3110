"""Tokens hashed per source, rotation, the tokens file, and the development credential's limits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from services.ingest.auth import DEV_TOKEN, Credentials, CredentialsError, hash_token, load_credentials
from services.ingest.cli import app as cli
from services.ingest.core.ratelimit import RateLimit
from services.ingest.main import credentials_for
from services.ingest.settings import IngestSettings

pytestmark = pytest.mark.unit


def write_tokens(path: Path, sources: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump({"sources": sources}))
    return path


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    return write_tokens(
        tmp_path / "tokens.yaml",
        {
            "portal-a": {"tokens": [hash_token("a-old"), hash_token("a-new")]},
            "portal-b": {"tokens": [hash_token("b-1")], "rate_limit": {"events_per_second": 50, "burst": 500}},
        },
    )


def test_each_token_maps_to_its_source_and_both_rotation_tokens_work(tokens_file: Path) -> None:
    credentials = load_credentials(tokens_file)
    assert credentials.source_of("a-old") == "portal-a"
    assert credentials.source_of("a-new") == "portal-a"
    assert credentials.source_of("b-1") == "portal-b"
    assert credentials.rate_limits == {"portal-b": RateLimit(events_per_second=50, burst=500)}


@pytest.mark.parametrize("token", ["", "a-ol", "A-OLD", hash_token("a-old"), "a-old ", "\udcff"])
def test_unknown_token_has_no_source(tokens_file: Path, token: str) -> None:
    assert load_credentials(tokens_file).source_of(token) is None


def test_tokens_file_holds_only_hashes(tokens_file: Path) -> None:
    text = tokens_file.read_text()
    assert "a-old" not in text
    assert hash_token("a-old") in text


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"p": {"tokens": ["not-a-hash"]}}, "sources.p.tokens.0"),
        ({"p": {"tokens": []}}, "sources.p.tokens"),
        ({"p": {"tokens": [hash_token("x")], "rate_limit": {"events_per_second": 0, "burst": 1}}}, "events_per_second"),
        ({"p": {"tokens": [hash_token("x")]}, "q": {"tokens": [hash_token("x")]}}, "both 'p' and 'q'"),
    ],
)
def test_invalid_tokens_file_is_refused_without_echoing_values(
    tmp_path: Path, sources: dict[str, object], message: str
) -> None:
    with pytest.raises(CredentialsError, match=message) as caught:
        load_credentials(write_tokens(tmp_path / "t.yaml", sources))
    assert "not-a-hash" not in str(caught.value)


def test_missing_tokens_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        load_credentials(tmp_path / "absent.yaml")


def test_outside_development_a_tokens_file_is_required() -> None:
    with pytest.raises(ValidationError, match="ingest_tokens_file must be set"):
        IngestSettings(environment="production")


def test_outside_development_the_public_demo_token_is_refused(tmp_path: Path) -> None:
    path = write_tokens(tmp_path / "t.yaml", {"demo": {"tokens": [hash_token(DEV_TOKEN)]}})
    with pytest.raises(CredentialsError, match="development token"):
        credentials_for(IngestSettings(environment="production", ingest_tokens_file=path))


def test_development_without_file_accepts_the_demo_credential_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        credentials = credentials_for(IngestSettings(environment="development"))
    assert credentials.source_of("demo-token") == "demo"
    assert credentials == Credentials.development()
    assert "development credential" in caplog.text
    assert "demo-token" not in caplog.text


def test_ingest_defaults_listen_on_8001_with_the_issue_limits() -> None:
    settings = IngestSettings()
    assert settings.http_port == 8001
    assert settings.ingest_max_batch_events == 5000
    assert settings.ingest_max_body_bytes == 5 * 1024 * 1024
    assert settings.ingest_future_tolerance.total_seconds() == 24 * 3600


def test_hash_token_command_prints_the_sha256_of_stdin() -> None:
    result = CliRunner().invoke(cli, ["hash-token"], input="s3cret\n")
    assert result.exit_code == 0
    assert result.stdout.strip() == "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"


def test_hash_token_command_refuses_an_empty_token() -> None:
    result = CliRunner().invoke(cli, ["hash-token"], input="\n")
    assert result.exit_code == 2
