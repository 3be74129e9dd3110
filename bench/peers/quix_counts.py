"""The peer: CivicPulse's counting job written the Quix Streams way (runs in the bench's own venv, see venv.py).

    .civicpulse/bench-venv/bin/python bench/peers/quix_counts.py run --bootstrap HOST:PORT --topic T --group G \
        --dsn postgresql://... --table quix_counts_hourly --state-dir DIR --first-message-file FILE
    .civicpulse/bench-venv/bin/python bench/peers/quix_counts.py ceiling --bootstrap HOST:PORT --topic T --total N

`run`: read the canonical event JSON from the events topic (from the start), keep the dossier events that count,
re-key them by unit x procedure (`group_by`: a repartition topic), sum hourly tumbling windows on the events'
own time and upsert every updated window into PostgreSQL with Quix's `PostgreSQLSink`, under Quix's strongest
guarantee (`processing_guarantee="exactly-once"`: Kafka transactions for the repartition and changelog topics and
the offsets; the sink itself is flushed before each commit, so at-least-once). Stops after `--idle-seconds`
without a message. `ceiling`: a bare confluent-kafka consumer (Quix's own client) reading the topic, for the
rate Quix's client could reach here; prints `{"events_per_s": ...}`.

Standalone on purpose: this venv holds Quix's pins (pydantic < 2.14), not CivicPulse's packages.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from confluent_kafka import Consumer
from quixstreams import Application
from quixstreams.dataframe.windows import Sum
from quixstreams.sinks.community.postgresql import PostgreSQLSink

COUNTERS = ("received", "received_online", "completed", "completed_on_time")
COUNTED_TYPES = ("dossier.received", "dossier.completed")
VIETNAM = timezone(timedelta(hours=7))  # UTC+7 all year, no daylight saving
KEY_SEPARATOR = "|"  # never in a unit or procedure code


def occurred_at_ms(value: Any, headers: Any, timestamp: int, timestamp_type: Any) -> int:
    """Windows run on the event's own time (`occurred_at`), not on when Kafka got the record."""
    return int(datetime.fromisoformat(value["occurred_at"]).timestamp() * 1000)


def _vietnam_day(moment: str) -> Any:
    return datetime.fromisoformat(moment).astimezone(VIETNAM).date()


def increments(event: dict[str, Any]) -> dict[str, int]:
    """What one event adds to the four counters (the same definitions as services/metrics/core/counters.py)."""
    if event["type"] == "dossier.received":
        return {"received": 1, "received_online": int(event.get("channel") == "online"), "completed": 0,
                "completed_on_time": 0}  # fmt: skip
    due = event.get("due_at")
    on_time = due is not None and _vietnam_day(event["occurred_at"]) <= _vietnam_day(due)
    return {"received": 0, "received_online": 0, "completed": 1, "completed_on_time": int(on_time)}


def row(value: dict[str, Any], key: str, timestamp: int, headers: Any) -> dict[str, Any]:
    """A window's sums as a row of the counts table."""
    unit_code, procedure_code = key.split(KEY_SEPARATOR, 1)
    bucket = datetime.fromtimestamp(value["start"] / 1000, tz=UTC)
    return {"bucket": bucket, "unit_code": unit_code, "procedure_code": procedure_code,
            **{name: value[name] for name in COUNTERS}}  # fmt: skip


def create_table(dsn: str, table: str) -> None:
    """The counts table, typed as CivicPulse's `kpi_counts_hourly` (the sink would guess TIMESTAMP, no zone)."""
    import psycopg2

    columns = ", ".join(f"{name} bigint NOT NULL" for name in COUNTERS)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (bucket timestamptz NOT NULL, unit_code text NOT NULL, "
                       f"procedure_code text NOT NULL, {columns}, PRIMARY KEY (bucket, unit_code, procedure_code))")  # fmt: skip  # noqa: E501


def sink(dsn: str, table: str) -> PostgreSQLSink:
    """Quix's PostgreSQL sink: one upsert per window key and batch, the latest sums win."""
    parts = urlsplit(dsn)
    return PostgreSQLSink(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, dbname=parts.path.lstrip("/"),
        user=unquote(parts.username or "postgres"), password=unquote(parts.password or ""), table_name=table,
        schema_auto_update=False, primary_key_columns=["bucket", "unit_code", "procedure_code"],
        upsert_on_primary_key=True, include_metadata=False,
    )  # fmt: skip


def run(args: argparse.Namespace) -> None:
    create_table(args.dsn, args.table)
    first, done = Path(args.first_message_file), list[int]()

    def processed(topic: str, partition: int, offset: int) -> None:
        # When the first record is done, in wall-clock seconds: the bench times the job from there, as it times
        # CivicPulse from /readyz (Quix has no readiness signal; its start-up is reported apart).
        if not done:
            done.append(first.write_text(repr(time.time())))

    app = Application(
        broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
        processing_guarantee="exactly-once", state_dir=args.state_dir, loglevel="WARNING",
        on_message_processed=processed,
    )  # fmt: skip
    events = app.topic(args.topic, value_deserializer="json", timestamp_extractor=occurred_at_ms)
    sdf = app.dataframe(events)
    sdf = sdf[sdf["type"].isin(COUNTED_TYPES)]
    sdf = sdf.apply(lambda event: {**increments(event), "key": f"{event['unit_code']}{KEY_SEPARATOR}"
                                                                f"{event['procedure_code']}"})  # fmt: skip
    sdf = sdf.group_by(lambda counts: counts["key"], name="unit_procedure")
    # GUESS: 30 days of grace (the bench's default), CivicPulse's longest rolling window. The preloaded topic is in
    # event-time order, but the partitions are read unevenly, so one key's events reach its windows out of order
    # and Quix drops what is later than the grace: with one day, 4.5% of a 10k-event topic (measured here).
    windows = sdf.tumbling_window(duration_ms=timedelta(hours=1), grace_ms=timedelta(hours=args.grace_hours))
    sdf = windows.agg(**{name: Sum(name) for name in COUNTERS}).current()
    sdf = sdf.apply(row, metadata=True)
    sdf.sink(sink(args.dsn, args.table))
    app.run(timeout=args.idle_seconds)


def ceiling(args: argparse.Namespace) -> None:
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": f"raw-ck-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([args.topic])
    seen, started = 0, time.perf_counter()
    try:
        while seen < args.total:
            seen += sum(1 for message in consumer.consume(num_messages=2000, timeout=1.0) if not message.error())
    finally:
        elapsed = time.perf_counter() - started
        consumer.close()
    print(json.dumps({"events_per_s": round(seen / elapsed)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    job = commands.add_parser("run", help="count the topic into PostgreSQL")
    job.add_argument("--bootstrap", required=True)
    job.add_argument("--topic", required=True)
    job.add_argument("--group", required=True)
    job.add_argument("--dsn", required=True)
    job.add_argument("--table", default="quix_counts_hourly")
    job.add_argument("--state-dir", required=True)
    job.add_argument("--first-message-file", required=True, help="where to write when the first record was done")
    job.add_argument("--grace-hours", type=float, default=720)
    job.add_argument("--idle-seconds", type=float, default=10)
    raw = commands.add_parser("ceiling", help="read the topic with a bare confluent-kafka consumer")
    raw.add_argument("--bootstrap", required=True)
    raw.add_argument("--topic", required=True)
    raw.add_argument("--total", type=int, required=True)
    args = parser.parse_args()
    run(args) if args.command == "run" else ceiling(args)


if __name__ == "__main__":
    main()
