"""How the metrics service's cost grows between runs: more events over the same tree, the same events over a
bigger tree. Ratios to the base run, and the scaling section of the summary table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.table import Row, Section, count, thousands

LINEAR_TOLERANCE = 0.15
UNIT_RUNS = ("metrics_units_mid", "metrics_units")  # in growing order; the middle one is optional
Run = dict[str, Any]


def raw_seconds(run: Run) -> float:
    """How long the raw consumer took to read the run's topic."""
    return float(run["run"]["events"] / run["raw_consumer_events_per_s"])


def growth(base: Run, scaled: Run) -> dict[str, float]:
    """Ratios of the scaled run's figures to the base run's."""
    b, s = base["catch_up"], scaled["catch_up"]
    cpu = "cpu_ms_per_1k_events"
    return {
        "catch_up_time": round(s["seconds"] / b["seconds"], 2),
        "steady_rate": round(s["steady_events_per_s"] / b["steady_events_per_s"], 2),
        "raw_consumer_time": round(raw_seconds(scaled) / raw_seconds(base), 2),
        "metrics_cpu_per_event": round(s[cpu]["metrics"] / b[cpu]["metrics"], 2),
        "snapshot_time": round(s["mean_snapshot_ms"] / b["mean_snapshot_ms"], 2),
    }


def linearity(ratio: float, factor: float) -> str:
    """Whether a cost that grew `ratio`-fold for `factor` times the work grew in proportion."""
    if ratio / factor > 1 + LINEAR_TOLERANCE:
        return "worse than linear"
    if ratio / factor < 1 - LINEAR_TOLERANCE:
        return "better than linear"
    return "linear"


def _name(run: Run, base: Run) -> str:
    if run is base:
        return "base"
    units = run["reference_data"]["units"] / base["reference_data"]["units"]
    if run["run"].get("units_tree"):
        return f"{run['run']['units_tree']['name']} ({run['reference_data']['units']:,} units, x{units:.0f})"
    if (factor := run["run"]["units_factor"]) > 1:
        return f"{factor}x units"
    return f"{run['run']['events'] // base['run']['events']}x events"


def _chain(runs: list[Run], pick: Callable[[Run], float], unit: str = "", digits: int = 1) -> str:
    return " -> ".join(f"{pick(r):,.{digits}f}" for r in runs) + (f" {unit}" if unit else "")


def scaling_section(results: dict[str, Any], *, factor: int) -> Section:
    """Catch-up time, CPU per event, snapshot cost, latency and memory of every metrics run, base first."""
    base, events = results["metrics_base"], results["metrics_events"]
    unit_runs = [results[name] for name in UNIT_RUNS if name in results]
    runs = [base, events, *unit_runs]
    tree = [base, *unit_runs]

    def each(pick: Callable[[Run], Any], fmt: Callable[[Any], str] = count) -> str:
        return " / ".join(fmt(pick(r)) for r in runs)

    def grown(key: str) -> str:
        return " / ".join(f"x{growth(base, r)[key]:.1f}" for r in runs[1:])

    ge = growth(base, events)
    deciles = events["catch_up"]["decile_events_per_s"]
    cpu = "cpu_ms_per_1k_events"
    units = " -> ".join(f"{r['reference_data']['units']:,}" for r in tree)
    heading = f"how cost grows (metrics): {' / '.join(_name(r, base) for r in runs)}"
    return heading, [
        Row(f"catch-up time, {thousands(base['run']['events'])} -> {thousands(events['run']['events'])} events",
            _chain([base, events], lambda r: r["catch_up"]["seconds"], "s"),
            _chain([base, events], raw_seconds, "s", 2),
            f"time x{ge['catch_up_time']:.1f} for x{factor} the events"),
        Row("steady counting rate (first to last commit), events/s",
            _chain([base, events], lambda r: r["catch_up"]["steady_events_per_s"], digits=0), "",
            f"counting time x{factor / ge['steady_rate']:.1f}: {linearity(factor / ge['steady_rate'], factor)}"),
        Row(f"catch-up time, {units} units (same {thousands(base['run']['events'])} events)",
            _chain(tree, lambda r: r["catch_up"]["seconds"], "s"), _chain(tree, raw_seconds, "s", 2),
            " / ".join(f"time x{growth(base, r)['catch_up_time']:.1f}" for r in unit_runs) + " (flat = x1)"),
        Row(f"catch-up events/s over each tenth of {thousands(events['run']['events'])} (1st, 2nd .. 9th, 10th)",
            f"{count(deciles[0])}, {count(deciles[1])} .. {count(deciles[-2])}, {count(deciles[-1])}",
            "", f"9th / 2nd tenth: x{deciles[-2] / max(1, deciles[1]):.2f}"),
        Row("CPU ms per 1,000 events: metrics", each(lambda r: r["catch_up"][cpu]["metrics"]), "",
            grown("metrics_cpu_per_event")),
        Row("CPU ms per 1,000 events: PostgreSQL", each(lambda r: r["catch_up"][cpu].get("postgres", float("nan")))),
        Row("snapshot round during catch-up (every unit changes), mean ms",
            each(lambda r: r["catch_up"]["mean_snapshot_ms"]), "", grown("snapshot_time")),
        Row(f"snapshot round at {base['latency']['rate']:,}/s, mean ms (scopes moved per round)",
            each(lambda r: r["latency"].get("snapshot_rounds"),
                 lambda sr: f"{sr['mean_ms']:,.0f} ({sr['mean_scopes']:,})" if sr else "n/a")),
        Row("counting transaction, mean ms (events per batch)",
            each(lambda r: r["catch_up"], lambda c: f"{c['mean_batch_ms']:,.0f} ({c['mean_batch_events']:,.0f})")),
        Row(f"latency at {base['latency']['rate']:,}/s after catch-up, p50 ms (p99)",
            each(lambda r: r["latency"]["visible"], lambda v: f"{v['p50_ms']:,.0f} (p99 {v['p99_ms']:,.0f})")),
        Row(f"metrics CPU at {base['latency']['rate']:,}/s, cores", each(lambda r: r["latency"]["metrics_cpu_share"],
                                                                       lambda share: f"{share:.2f}")),
        Row("peak RSS, MB", each(lambda r: r["metrics_peak_rss_mb"])),
    ]  # fmt: skip


def growth_table(results: dict[str, Any]) -> Section:
    """One line per metrics run, base first: catch-up rate, freshness after catch-up, CPU per event, peak RSS."""
    base = results["metrics_base"]
    runs = [base, results["metrics_events"], *(results[name] for name in UNIT_RUNS if name in results)]
    rows = []
    for run in runs:
        catch, visible = run["catch_up"], run["latency"]["visible"]
        cpu = run["catch_up"]["cpu_ms_per_1k_events"]
        events = run["run"]["events"] / base["run"]["events"]
        units = run["reference_data"]["units"] / base["reference_data"]["units"]
        rows.append(Row(
            f"x{events:.0f} events, x{units:.1f} units ({thousands(run['run']['events'])}, "
            f"{run['reference_data']['units']:,} units)",
            f"catch-up {count(catch['events_per_s'])}/s; fresh p50 / p99 {count(visible['p50_ms'])} / "
            f"{count(visible['p99_ms'])} ms at {count(run['latency']['rate'])}/s",
            f"{count(run['raw_consumer_events_per_s'])}/s",
            f"CPU {cpu['metrics']:,.0f} (+pg {cpu.get('postgres', float('nan')):,.0f}) ms/1k; "
            f"RSS {count(run['metrics_peak_rss_mb'])} MB",
        ))  # fmt: skip
    return "growth (metrics): catch-up rate / raw consumer, freshness (acked -> visible), CPU, peak RSS", rows
