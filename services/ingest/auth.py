"""Bearer tokens: stored as SHA-256 hashes per source, checked in constant time; the tokens file format.

```yaml
sources:
  portal-h23:
    tokens:            # sha256 hex of each bearer token; several so a token can be rotated
      - 5f2b...e1
    rate_limit:        # optional: sustained events per second and the burst allowed on top
      events_per_second: 200
      burst: 5000
```
`civicpulse ingest hash-token` prints the hash of a token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.ingest.core.ratelimit import RateLimit
from shared.events import Code

DEV_SOURCE = "demo"
DEV_TOKEN = "demo-token"  # noqa: S105 (documented development credential, refused outside development)
TokenHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the token, lowercase hex.")]


def hash_token(token: str) -> str:
    """SHA-256 hex of a bearer token, as stored in the tokens file."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SourceEntry(BaseModel):
    """One source in the tokens file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: list[TokenHash] = Field(min_length=1)
    rate_limit: RateLimit | None = None


class TokensFile(BaseModel):
    """The tokens file: sources by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[Code, SourceEntry]


class CredentialsError(ValueError):
    """The tokens file is missing, unreadable or invalid; the message never contains a token or hash."""


@dataclass(frozen=True)
class Credentials:
    """Which source each token hash belongs to, and the rate limit of each source."""

    token_sources: tuple[tuple[bytes, str], ...]
    rate_limits: Mapping[str, RateLimit]

    @classmethod
    def from_file(cls, document: TokensFile) -> Credentials:
        """Credentials from a parsed tokens file; a hash listed under two sources is refused."""
        owners: dict[str, str] = {}
        for source, entry in document.sources.items():
            for token_hash in entry.tokens:
                if owners.setdefault(token_hash, source) != source:
                    raise CredentialsError(f"a token hash is listed under both {owners[token_hash]!r} and {source!r}")
        return cls(
            token_sources=tuple((bytes.fromhex(h), s) for h, s in owners.items()),
            rate_limits={s: e.rate_limit for s, e in document.sources.items() if e.rate_limit is not None},
        )

    @classmethod
    def development(cls) -> Credentials:
        """The documented development credential: source `demo`, token `demo-token`, no rate limit."""
        return cls(token_sources=((bytes.fromhex(hash_token(DEV_TOKEN)), DEV_SOURCE),), rate_limits={})

    def source_of(self, token: str) -> str | None:
        """The source a bearer token belongs to, or None; every stored hash is compared, in constant time."""
        presented = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for stored, source in self.token_sources:
            if hmac.compare_digest(presented, stored):
                found = source
        return found

    def holds_dev_token(self) -> bool:
        """Whether the public development token would be accepted."""
        return self.source_of(DEV_TOKEN) is not None


def load_credentials(path: Path) -> Credentials:
    """Read and validate a tokens file."""
    try:
        document = TokensFile.model_validate(yaml.safe_load(path.read_text("utf-8")))
    except OSError as exc:
        raise CredentialsError(f"cannot read tokens file {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise CredentialsError(f"tokens file {path} is not valid YAML") from None
    except ValidationError as exc:
        # Only locations and messages: pydantic's input echo could be a token pasted by mistake.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CredentialsError(f"tokens file {path} is invalid: {problems}") from None
    return Credentials.from_file(document)
