"""Schemathesis against a service running as a process: every operation of its OpenAPI fuzzed, every answer checked.

The checks: no answer is a 5xx (schemathesis' `not_a_server_error`), and every 4xx is a JSON body that says why
(`explains_every_4xx`: FastAPI's `detail`, a sentence or a list of validation errors each with its `msg`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.schemas import OpenApiSchema

BOTH_MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# Ingest takes a batch as NDJSON too (a string body in its OpenAPI): sent as the text it is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def explanation(body: object) -> str | None:
    """The human-readable reason an error body gives, or None when it gives none."""
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, str) and detail.strip():
        return detail
    if isinstance(detail, list) and detail:
        messages = [entry.get("msg") if isinstance(entry, dict) else None for entry in detail]
        if all(isinstance(m, str) and m.strip() for m in messages):
            return "; ".join(str(m) for m in messages)
    return None


@schemathesis.check
def explains_every_4xx(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A 4xx answer is JSON with a non-empty `detail` telling the caller what to fix."""
    if not 400 <= response.status_code < 500:
        return None
    media_type = response.headers.get("content-type", [""])[0].split(";", 1)[0].strip()
    if media_type != "application/json":
        raise AssertionError(f"{response.status_code} answered with {media_type or 'no'} content type, not JSON")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} answered with a body that is not JSON") from None
    if explanation(body) is None:
        raise AssertionError(f"{response.status_code} without a `detail` that explains it: {response.text[:300]}")
    return True


CHECKS: list[CheckFunction] = [not_a_server_error, explains_every_4xx]


@dataclass
class FuzzReport:
    """What one run got: how often each operation (`POST /v1/events`) answered each status code."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    def record(self, operation: str, status: int) -> None:
        """Count one answer."""
        self.statuses.setdefault(operation, Counter())[status] += 1

    @property
    def examples(self) -> int:
        """Requests sent, over every operation."""
        return sum(sum(counts.values()) for counts in self.statuses.values())

    @property
    def answered(self) -> set[int]:
        """Every status code seen, over every operation."""
        return {status for counts in self.statuses.values() for status in counts}

    def __str__(self) -> str:
        return "; ".join(f"{op}: {dict(sorted(counts.items()))}" for op, counts in sorted(self.statuses.items()))


def load_schema(base_url: str) -> OpenApiSchema:
    """The service's own OpenAPI document, as it serves it."""
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=10)


def run_cases(cases: st.SearchStrategy[Case[Any]], send: Callable[[Case[Any]], None], *, max_examples: int) -> None:
    """Hypothesis draws up to max_examples cases and sends each; the first failure is raised as found.

    No shrinking: a failure is reported with its curl reproducer instead of being minimised over HTTP.
    """

    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=cases)
    def exchange(case: Case[Any]) -> None:
        send(case)

    exchange()


def fuzz(
    schema: OpenApiSchema,
    *,
    base_url: str,
    max_examples: int,
    modes: Iterable[GenerationMode] = BOTH_MODES,
    headers: Mapping[str, str] | None = None,
    anonymous: bool = False,
    methods: Iterable[str] | None = None,
    prepare: Callable[[Case[Any]], None] | None = None,
) -> FuzzReport:
    """Fuzz each operation (of the given methods) with up to max_examples cases, checking every answer.

    `headers` go with every request (credentials); `anonymous` sends no `Authorization` at all, even where the
    schema lets the fuzzer make one up; `prepare` may adjust each case before it is sent. Every operation is
    fuzzed before the failures found are raised together.
    """
    report = FuzzReport()
    results = list(schema.get_all_operations())
    failures: list[Exception] = [r.err() for r in results if isinstance(r, Err)]  # unreadable: a failure, not a skip
    wanted = {m.upper() for m in methods} if methods is not None else None
    operations = [r.ok() for r in results if isinstance(r, Ok) and (wanted is None or r.ok().method.upper() in wanted)]
    fixed: dict[str, Any] | None = dict(headers) if headers else None
    with requests.Session() as session:
        # Writes first, so that the reads serve what the fuzzer created.
        for operation in sorted(operations, key=lambda o: o.method.upper() == "GET"):
            # One strategy over the modes, as schemathesis' own runner does: an operation with nothing to negate
            # (a body of any JSON) rejects its negative draws and is fuzzed with valid ones.
            cases = st.one_of([operation.as_strategy(generation_mode=mode, headers=fixed) for mode in modes])

            def send(case: Case[Any]) -> None:
                if prepare is not None:
                    prepare(case)
                if anonymous:
                    case.headers.pop("Authorization", None)
                response = case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)
                report.record(case.operation.label, response.status_code)

            try:
                run_cases(cases, send, max_examples=max_examples)
            except Exception as exc:
                exc.add_note(f"while fuzzing {operation.label}")
                failures.append(exc)
    if failures:
        raise ExceptionGroup(f"{len(failures)} operation(s) failed the checks; answers: {report}", failures)
    return report
