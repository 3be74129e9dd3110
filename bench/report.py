"""The one table `make bench` prints (and the README shows): every figure beside the raw Kafka client's from the
same run, then how the metrics service's cost grows (bench/growth.py)."""

from __future__ import annotations

from typing import Any

from bench.growth import growth_table, scaling_section
from bench.table import Row, Section, count, p50_p99, thousands


def _ingest(result: dict[str, Any]) -> Section:
    rows = []
    for row in result["rows"]:
        http, raw = row["ingest"], row["raw_producer"]
        in_flight = row.get("in_flight", 1)
        concurrency = f", {in_flight} in flight" if in_flight > 1 else ""
        rows.append(Row(f"batches of {row['batch']:,}{concurrency}: events/s (p99)",
                        f"{count(http['events_per_s'])} ({http['p99_ms']:.1f} ms)",
                        f"{count(raw['events_per_s'])} ({raw['p99_ms']:.1f} ms)", f"{row['ratio']:.2f}x"))  # fmt: skip
    return (
        "ingest: HTTP POST, 202 after acks=all, one request in flight unless said / raw aiokafka producer "
        "(as many sends in flight)",
        rows,
    )


def _catch_up(base: dict[str, Any]) -> Section:
    catch = base["catch_up"]
    cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in catch["cpu_ms_per_1k_events"].items())
    return "metrics: catch-up over a preloaded topic / raw aiokafka consumer (no processing)", [
        Row(f"{thousands(base['run']['events'])} events, {base['reference_data']['units']:,} units: events/s",
            count(catch["events_per_s"]), count(base["raw_consumer_events_per_s"]), f"{base['ratio']:.3f}x"),
        *([Row("same events without the dossier lifecycle state: events/s",
               count(base["catch_up_without_lifecycle"]["events_per_s"]), "",
               f"with it: {base['lifecycle_ratio']:.3f}x")] if base.get("catch_up_without_lifecycle") else []),
        Row("CPU ms per 1,000 events", cpu),
    ]  # fmt: skip


def _latency(pipeline: dict[str, Any], base: dict[str, Any]) -> Section:
    rows = [
        Row(f"pipeline at {row['rate']:,}/s: 202 -> visible in /v1/kpis, p50 / p99", p50_p99(row["visible"]),
            f"{p50_p99(row['raw_consumer'])} (202 -> readable)",
            f"CPU ingest {row['cpu_share']['ingest']:.2f}, metrics {row['cpu_share']['metrics']:.2f} core")
        for row in pipeline["rows"]
    ]  # fmt: skip
    latency = base["latency"]
    rows.append(Row(f"metrics alone at {latency['rate']:,}/s: acked -> visible, p50 / p99",
                    p50_p99(latency["visible"]), f"{p50_p99(latency['raw_consumer'])} (acked -> readable)",
                    f"CPU metrics {latency['metrics_cpu_share']:.2f} core"))  # fmt: skip
    return "end-to-end latency at fixed rates (probe events, one unit each)", rows


def _memory(ingest: dict[str, Any], pipeline: dict[str, Any], base: dict[str, Any]) -> Section:
    rss = pipeline["peak_rss_mb"]
    return "peak RSS (VmHWM) of each service", [
        Row("ingest", f"{count(rss['ingest'])} MB (pipeline), {count(ingest['ingest_peak_rss_mb'])} MB (ingest bench)"),
        Row("metrics", f"{count(rss['metrics'])} MB (pipeline), {count(base['metrics_peak_rss_mb'])} MB (after "
                       f"{thousands(base['run']['events'])} catch-up)"),
    ]  # fmt: skip


def _peer(base: dict[str, Any]) -> Section:
    peer, catch = base["peer"], base["catch_up"]
    truth = peer["ground_truth"]
    cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in peer["cpu_ms_per_1k_events"].items())
    if truth["match"]:
        verdict = f"match: {truth['rows_written']:,} rows equal to the events' ground truth"
    else:
        totals = ", ".join(f"{name} {t['written']:,} of {t['expected']:,}" for name, t in truth["totals"].items())
        verdict = f"DIFFER: {truth['rows_differing']:,} of {truth['rows_expected']:,} rows; {totals}"
    return (f"peer: {peer['peer']} on the same topic ({peer['processing_guarantee']}, its PostgreSQL sink, "
            f"{peer['grace_hours'] / 24:.0f}-day grace) / bare confluent-kafka consumer"), [
        Row("hourly counters per unit x procedure: events/s", f"Quix {count(peer['events_per_s'])}",
            count(peer["client_ceiling_events_per_s"]),
            f"{peer['events_per_s'] / peer['client_ceiling_events_per_s']:.3f}x"),
        Row("CivicPulse catch-up / the peer, events/s", f"{count(catch['events_per_s'])} / "
            f"{count(peer['events_per_s'])}", "", f"CivicPulse {catch['events_per_s'] / peer['events_per_s']:.1f}x"),
        Row("peer: CPU ms per 1,000 events; peak RSS", f"{cpu}; {count(peer['peak_rss_mb'])} MB"),
        Row("peer: counts in PostgreSQL vs the preloaded events", verdict),
    ]  # fmt: skip


def sections(results: dict[str, Any], *, factor: int) -> list[Section]:
    """Every section of the summary, from the results of run_all."""
    base = results["metrics_base"]
    return [
        _ingest(results["ingest"]),
        _catch_up(base),
        *([_peer(base)] if "peer" in base else []),
        _latency(results["pipeline"], base),
        _memory(results["ingest"], results["pipeline"], base),
        scaling_section(results, factor=factor),
        growth_table(results),
    ]
