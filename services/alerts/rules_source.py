"""Reads the rules (and receivers) files, and reloads them on SIGHUP or when they change on disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from services.alerts.core.ruleset import RulesError, RuleSet, missing_secrets, parse_rules

log = logging.getLogger(__name__)


def load_ruleset(
    rules_file: Path, *, receivers_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> RuleSet:
    """Read and validate; with `environ`, also require every receiver secret to be set. Raises RulesError."""
    try:
        text = rules_file.read_text("utf-8")
        receivers_text = receivers_file.read_text("utf-8") if receivers_file else None
    except OSError as exc:
        raise RulesError([f"cannot read {exc.filename}: {exc.strerror}"]) from exc
    ruleset = parse_rules(text, source=str(rules_file), receivers_text=receivers_text)
    if environ is not None and (problems := missing_secrets(ruleset, environ)):
        raise RulesError(problems)
    return ruleset


class RulesWatcher:
    """Calls `apply` with a freshly validated rule set when the files change or SIGHUP arrives; a bad file is
    logged and the previous rules stay in force."""

    def __init__(
        self,
        *,
        rules_file: Path,
        receivers_file: Path | None,
        apply: Callable[[RuleSet], Awaitable[None]],
        poll_s: float,
        environ: Mapping[str, str] = os.environ,
        on_outcome: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        self._files = [f for f in (rules_file, receivers_file) if f is not None]
        self._rules_file = rules_file
        self._receivers_file = receivers_file
        self._apply = apply
        self._poll_s = poll_s
        self._environ = environ
        self._on_outcome = on_outcome
        self._requested = asyncio.Event()
        self._seen: tuple[tuple[int, int], ...] = self._stamp()

    def request_reload(self) -> None:
        """SIGHUP: reload at once, even if the files look unchanged."""
        self._requested.set()

    async def run(self) -> None:
        """Wait for a change or a request, then reload; until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._requested.wait(), self._poll_s)
            stamp = self._stamp()
            if self._requested.is_set() or stamp != self._seen:
                self._requested.clear()
                self._seen = stamp
                await self.reload()

    async def reload(self) -> bool:
        """Validate and apply; False (and the old rules kept) when the files are invalid."""
        try:
            ruleset = load_ruleset(self._rules_file, receivers_file=self._receivers_file, environ=self._environ)
        except RulesError as exc:
            # The problems are the message; a traceback would add nothing.
            log.error("rules reload rejected; keeping the previous rules", extra={"problems": exc.problems})  # noqa: TRY400
            self._on_outcome("rejected")
            return False
        try:
            await self._apply(ruleset)
        except Exception:  # e.g. the database is down: try again at the next poll
            log.exception("applying reloaded rules failed; will retry")
            self._seen = ()
            self._on_outcome("failed")
            return False
        log.info("rules reloaded", extra={"rules": len(ruleset), "receivers": len(ruleset.receivers)})
        self._on_outcome("applied")
        return True

    def _stamp(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for path in self._files:
            try:
                stat = path.stat()
            except OSError:
                stamps.append((0, 0))
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)
