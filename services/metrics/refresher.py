"""Keeps KPI snapshots fresh: one leader replica recomputes and publishes them; every replica serves from memory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.metrics import queries, store, units
from services.metrics.board import SnapshotBoard
from services.metrics.core.kpis import KpiDefinition
from services.metrics.core.snapshot_tree import Moved, SnapshotTree
from services.metrics.core.windows import all_windows
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import PipelineMetrics
from shared.producer import OutgoingRecord, RecordSink
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.snapshots import KpiSnapshot, snapshot_adapter

log = logging.getLogger(__name__)
SNAPSHOT_HEADERS = (("content-type", b"application/json"),)
FLUSH_TIMEOUT_S = 5.0
PUBLISH_CHUNK = 400
"""(window, scope) pairs built, written and sent at a time while publishing (a unit's windows stay together)."""


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def snapshot_records(snapshots: Sequence[KpiSnapshot], *, topic: str) -> list[OutgoingRecord]:
    """Snapshots as records keyed by scope (`kpi|window|unit_code`), so each scope stays in order."""
    return [OutgoingRecord(topic, s.key, snapshot_adapter.dump_json(s), SNAPSHOT_HEADERS) for s in snapshots]


def unit_slices(moved: Moved, *, size: int = PUBLISH_CHUNK) -> list[Moved]:
    """The moved pairs in slices of about `size`, a unit's windows always in one slice: an alert rule comparing two
    windows of a unit (a slip against its baseline) never sees one published and the other not yet."""
    slices: list[Moved] = []
    current: Moved = {}
    last = None
    for (window, code), kpis in sorted(moved.items(), key=lambda item: (item[0][1], item[0][0])):
        if len(current) >= size and code != last:
            slices.append(current)
            current = {}
        current[window, code], last = kpis, code
    if current:
        slices.append(current)
    return slices


def _digests(files: Sequence[Path | None]) -> tuple[bytes | None, ...]:
    """Each file's SHA-256 (None for a shipped sample, which changes only with the code)."""
    return tuple(None if path is None else hashlib.sha256(path.read_bytes()).digest() for path in files)


class SnapshotRefresher:
    """Background task: snapshots on change and on a timer, retention, reference-data refresh."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool[Any],
        board: SnapshotBoard,
        definitions: Sequence[KpiDefinition],
        producer: RecordSink,
        settings: MetricsSettings,
        metrics: PipelineMetrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._board = board
        self._definitions = definitions
        self._producer = producer
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._dirty = asyncio.Event()
        self._refdata_due = True
        self._refdata_synced: tuple[bytes | None, ...] | None = None
        """The digests of the reference files this leader last synced (None: not yet, or not as leader)."""
        self._leader_connection: Any = None
        self._next_full = 0.0
        self._next_prune = 0.0
        self._next_refdata = 0.0
        self._next_directory = 0.0
        self._last_compute_s = 0.0
        self._follower_since: datetime | None = None
        self._tree: SnapshotTree | None = None
        self._served: SnapshotTree | None = None
        """The tree the board serves (as a round reads, `_tree` is None until it has been applied)."""
        self._unpublished: Moved = {}
        """(window, scope) pairs whose snapshots moved since they were last published, with those KPIs."""

    @property
    def is_leader(self) -> bool:
        return self._leader_connection is not None

    def mark_dirty(self) -> None:
        """Counts changed here: look at the next tick (every tick takes what any replica's batches left)."""
        self._dirty.set()

    def reload_reference_data(self) -> None:
        """Re-read the reference files at the next tick (SIGHUP)."""
        self._refdata_due = True
        self._dirty.set()

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and retried, never fatal. Publishing runs beside it, so
        a long publish (every scope, after the hour turns) does not hold up the snapshots served."""
        publisher = asyncio.create_task(self._publish_forever(), name="snapshot-publisher")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), self._settings.metrics_snapshot_interval_s)
                try:
                    await self.tick()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    log.warning("snapshot tick failed; retrying", exc_info=True)
                    await self._drop_leadership()
                    await asyncio.sleep(self._settings.metrics_retry_backoff_s)
                else:
                    # Rate-limit recomputation under a steady stream of batches; when a recompute gets slow (a big
                    # backlog), leave PostgreSQL at least twice that time for counting.
                    await asyncio.sleep(max(self._settings.metrics_snapshot_interval_s, 2 * self._last_compute_s))
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
            await self._flush()
            await self._drop_leadership()

    async def _flush(self) -> None:
        """On the way out, publish what moved since the last publish (the next leader republishes all anyway)."""
        if not self.is_leader or not self._unpublished:
            return
        try:
            async with asyncio.timeout(FLUSH_TIMEOUT_S), self._pool.acquire() as connection:
                await self._publish(connection)
        except Exception:  # stopping: the next leader's full refresh republishes every scope
            log.warning("publishing the last snapshots on stop failed", exc_info=True)

    async def _publish_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.metrics_snapshot_publish_interval_s)
            if not self.is_leader or not self._unpublished:
                continue
            try:
                async with self._pool.acquire() as connection:
                    await self._publish(connection, share=self._settings.metrics_snapshot_publish_share)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("writing snapshots failed; will write all", exc_info=True)
                self._next_full = 0.0

    async def tick(self) -> None:
        """One round: as leader compute and publish; as follower read what the leader wrote."""
        await self._try_lead()
        monotonic = time.monotonic()
        if not self.is_leader:
            self._dirty.clear()
            async with self._pool.acquire() as connection:
                if self._refdata_due or monotonic >= self._next_directory:
                    # The leader syncs the files; a follower re-reads the units it wrote.
                    self._board.units = await units.unit_directory(connection)
                    self._refdata_due = False
                    self._next_directory = monotonic + self._settings.metrics_refdata_refresh_s
                # What the leader wrote since the newest row seen (that one again: its round may have had more);
                # the whole table now and then (a new leader's clock may lag).
                whole = self._follower_since is None or monotonic >= self._next_full
                loaded = await store.load_snapshots(connection, since=None if whole else self._follower_since)
                if whole:
                    self._board.replace(loaded)
                    self._next_full = monotonic + self._settings.metrics_full_refresh_interval_s
                else:
                    self._board.update(loaded)
                newest = max((s.computed_at for s in loaded), default=None)
                if newest is not None and (self._follower_since is None or newest > self._follower_since):
                    self._follower_since = newest
                await self._read_sources(connection)
            return
        connection = self._leader_connection
        if self._refdata_due or monotonic >= self._next_refdata:
            if await self._sync_reference_data(connection, force=self._refdata_due):
                self._board.units = await units.unit_directory(connection)
                self._tree = None  # units, levels, aliases or the catalogue may have changed: read everything again
                self._dirty.set()  # a unit or alias the tree gained rolls its counts up now, not at the next full run
            self._next_refdata = monotonic + self._settings.metrics_refdata_refresh_s
        full = monotonic >= self._next_full
        # Every tick looks: the marks show any replica's counts, and windows move when the hour turns.
        self._dirty.clear()
        await self._recompute(connection, full=full)
        if full:
            self._next_full = monotonic + self._settings.metrics_full_refresh_interval_s
        await self._read_sources(connection)
        if monotonic >= self._next_prune:
            await self._prune(connection)
            self._next_prune = monotonic + self._settings.metrics_prune_interval_s

    async def _recompute(self, connection: Any, *, full: bool) -> None:
        now = self._clock()
        bounds = all_windows(now=now)
        tree, self._tree = self._tree, None  # until this round has been applied whole: a failed one rebuilds
        changed = await store.claim_changed_units(connection)  # before reading: later usage stays marked
        started = time.perf_counter()  # the claim may wait for a batch to commit: that is not this round's work
        if tree is None or full:
            tree, read = await store.read_tree(connection, now=now, definitions=self._definitions, claim=True)
            full = True
        else:
            whole = {b.name for b in tree.stale(bounds)}
            read = await store.read_changes(connection, bounds, whole=whole, usage_of=tree.scopes_above(changed))
            if not read.deltas and not read.usage_deltas and not read.usage_scopes and not whole:
                self._tree = tree
                return
        # On the loop, in one go (no await): a request sees the tree before this round or after it. Snapshots are
        # built when read, so this costs what changed.
        moved = tree.apply(read, bounds, now=now)
        self._tree = self._served = tree
        self._board.serve(tree)
        self._last_compute_s = time.perf_counter() - started
        self._metrics.snapshot_seconds.observe(self._last_compute_s)
        self._metrics.snapshot_scopes.observe(len(moved))
        if full:
            self._unpublished.clear()
        unpublished = self._unpublished
        for pair, kpis in moved.items():
            unpublished[pair] = unpublished.get(pair, 0) | kpis

    async def _publish(self, connection: Any, *, share: float = 1.0) -> None:
        """The table and the topic get the current snapshots that moved since the last time.

        With a `share` below 1, each slice is followed by a pause, so publishing takes at most that share of the
        time (it counts the slice's waits for PostgreSQL and Kafka too): counting and the rounds that serve
        /v1/kpis keep the rest when every scope moved (the hour turned, a leader started, at national scale)."""
        tree = self._served
        if tree is None:
            return
        slices, self._unpublished = unit_slices(self._unpublished), {}
        # In slices, each built on the loop (the tree lives there), then written and sent: no single step holds
        # the loop for long, even when every scope moved (after the hour turns, at national scale).
        try:
            for i, chunk in enumerate(slices):
                started = time.perf_counter()
                published = tree.moved_snapshots(chunk)
                await store.write_snapshots(connection, published)
                records = await asyncio.to_thread(snapshot_records, published, topic=self._settings.topic_snapshots)
                await self._producer.send_all(records)
                if share < 1.0 and i + 1 < len(slices):
                    await asyncio.sleep((time.perf_counter() - started) * (1.0 - share) / share)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            raise
        except Exception:  # Kafka down: the table is current; republish everything once it is back
            log.warning("publishing snapshots failed; will republish all", exc_info=True)
            self._next_full = 0.0

    async def _read_sources(self, connection: Any) -> None:
        rows = await connection.fetch(queries.SOURCE_ACTIVITY)
        self._board.source_activity = {r["source"]: r["last_occurred_at"] for r in rows}
        self._board.unknown_units, self._board.unknown_units_total = await units.unknown_units(connection)

    async def _sync_reference_data(self, connection: Any, *, force: bool) -> bool:
        """Sync the reference files into the tables, off the event loop; False if nothing was synced.

        Unless `force`d (start, SIGHUP), files with the digests last synced are left alone: at national scale
        parsing them takes seconds, and a sync makes the tree be read again and every snapshot republished.
        """
        self._refdata_due = False
        files = (self._settings.units_file, self._settings.procedures_file)
        try:
            digests = await asyncio.to_thread(_digests, files)
            if not force and digests == self._refdata_synced:
                return False
            data = await asyncio.to_thread(load_reference_data, units_file=files[0], procedures_file=files[1])
        except (OSError, ValueError):
            log.exception("reference data unreadable; keeping the previous version")
            return False
        await sync_reference_data(connection, data)
        self._refdata_synced = digests
        log.info("reference data synced", extra={"units": len(data.tree)})
        return True

    async def _prune(self, connection: Any) -> None:
        now = self._clock()
        buckets, ids = await store.prune(
            connection,
            buckets_before=now - timedelta(days=self._settings.metrics_bucket_retention_days),
            event_ids_before=now - timedelta(days=self._settings.metrics_event_id_retention_days),
        )
        if buckets or ids:
            log.info("retention enforced", extra={"buckets_deleted": buckets, "event_ids_deleted": ids})

    async def _try_lead(self) -> None:
        if self.is_leader:
            return
        connection = await self._pool.acquire()
        try:
            locked = await connection.fetchval(queries.TRY_LEADER, queries.SNAPSHOT_LEADER_LOCK)
        except BaseException:
            await self._pool.release(connection)
            raise
        if locked:
            log.info("this replica now computes the snapshots")
            self._leader_connection = connection
            self._next_full = 0.0
        else:
            await self._pool.release(connection)

    async def _drop_leadership(self) -> None:
        connection, self._leader_connection = self._leader_connection, None
        self._tree, self._served, self._follower_since = None, None, None  # as a follower, start from the table
        self._refdata_synced = None  # another leader may sync other files meanwhile
        if connection is not None:
            # Closing (not just releasing) the session frees the advisory lock even if unlock can't be sent.
            with contextlib.suppress(Exception):
                await connection.close()
            with contextlib.suppress(Exception):
                await self._pool.release(connection)
