"""Snapshots kept current by change equal snapshots computed from scratch, whatever changed and in what rounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.board import SnapshotBoard
from services.metrics.core.counters import COUNTERS, roll_up
from services.metrics.core.kpis import DEFAULT_KPIS, USAGE_RATE
from services.metrics.core.snapshot_tree import SnapshotTree, TreeRead, Usage
from services.metrics.core.snapshots import build_snapshots
from services.metrics.core.windows import HOUR, all_windows
from shared.kpi_catalogue import WindowName
from shared.snapshots import KpiSnapshot

NOW = datetime(2026, 5, 10, 9, 30, tzinfo=UTC)
UNITS = {"P": "province", "P.D": "department", "P.C1": "commune", "P.C2": "commune", "Q": "province", "Q.C": "commune"}
ANCESTORS = {
    "P": ["P"], "P.D": ["P.D", "P"], "P.C1": ["P.C1", "P"], "P.C2": ["P.C2", "P"], "Q": ["Q"], "Q.C": ["Q.C", "Q"],
    "OLD.C": ["P.C1", "P"],  # an alias: counts where its successor does
}  # fmt: skip
CODES = [*ANCESTORS, "NOWHERE"]  # NOWHERE: a code the tree lacks, shown as itself
ALL = frozenset(WindowName)


def rows(seed: int, codes: list[str]) -> dict[str, list[int]]:
    return {c: [(seed * (i + 7) + j * 13 + len(c)) % 5 for j in range(len(COUNTERS))] for i, c in enumerate(codes)}


Hours = dict[tuple[str, datetime], list[int]]
"""The database's unit-hour rows: (code, bucket) → counters."""


def own_totals(hours: Hours, now: datetime) -> dict[WindowName, dict[str, list[int]]]:
    """Each window's own totals per code, summed from the hour rows (what WINDOW_TOTALS reads)."""
    own: dict[WindowName, dict[str, list[int]]] = {}
    for window in all_windows(now=now):
        totals = own.setdefault(window.name, {})
        for (code, bucket), values in hours.items():
            if window.first_bucket <= bucket <= window.last_bucket:
                row = totals.setdefault(code, [0] * len(COUNTERS))
                for i, v in enumerate(values):
                    row[i] += v
        for code in [c for c, row in totals.items() if not any(row)]:
            del totals[code]
    return own


Online = dict[tuple[str, str], datetime]
"""The database's newest online use per (unit code, procedure)."""
Catalogue = dict[str, set[str]]
"""The procedures each unit code offers online."""


def usage_rows(catalogue: Catalogue, online: Online, scopes: set[str] | None = None) -> dict[str, Usage]:
    """What USAGE reads: per scope with offered procedures, those and the newest use of each in its subtree."""
    rows: dict[str, Usage] = {}
    for scope in {a for c in catalogue for a in ANCESTORS.get(c, ())} if scopes is None else scopes:
        below = [c for c in ANCESTORS if scope in ANCESTORS[c]]
        offered = frozenset(p for c in below for p in catalogue.get(c, ()))
        if offered:
            lasts = {p: max((online[c, p] for c in below if (c, p) in online), default=None) for p in offered}
            rows[scope] = (offered, {p: at for p, at in lasts.items() if at is not None})
    return rows


def from_scratch(hours: Hours, usage: dict[str, Usage], now: datetime) -> list[KpiSnapshot]:
    """What the whole computation gives: roll every window up and build every scope."""
    snapshots = []
    own = own_totals(hours, now)
    for window in all_windows(now=now):
        start, end = window.first_bucket, window.last_bucket + HOUR
        used = {c: (sum(1 for t in lasts.values() if start <= t < end), len(offered))
                for c, (offered, lasts) in usage.items()}  # fmt: skip
        totals = roll_up(own.get(window.name, {}), ANCESTORS)
        snapshots += build_snapshots(
            window=window, totals=totals, usage=used, units=UNITS, definitions=DEFAULT_KPIS, computed_at=now
        )
    return snapshots


def values(snapshots: list[KpiSnapshot]) -> dict[tuple[str, str, str], tuple[object, ...]]:
    return {
        s.scope: (s.unit_level, s.numerator, s.denominator, s.ratio, s.window_start, s.window_end) for s in snapshots
    }


# A batch's addition: a code, an hour relative to now (0: this hour; -1: the next, on a skewed clock; 40 days back:
# outside every rolling window), and a seed for its values (negative ones too: a later batch may net to zero).
additions = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from([-1, 0, 1, 2, 30, 200, 24 * 40]), st.integers(-3, 50)),
    max_size=6,
)
# A batch's online use: a code, a procedure (Z is offered nowhere), hours before now.
online_uses = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from("ABCDZ"), st.sampled_from([0, 1, 5, 30, 24 * 40])), max_size=4
)
# A batch publishing a procedure: the code whose catalogue gains it (marked: the leader re-reads the usage above).
publications = st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from("ABCD")), max_size=2)


@settings(max_examples=100, deadline=None)
@given(rounds=st.lists(st.tuples(additions, online_uses, publications, st.booleans()), min_size=1, max_size=6))
def test_rounds_of_changes_give_what_a_full_recompute_gives(
    rounds: list[tuple[list[tuple[str, int, int]], list[tuple[str, str, int]], list[tuple[str, str]], bool]],
) -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    hours: Hours = {(code, NOW.replace(minute=0) - timedelta(hours=i)): row for i, (code, row) in
                    enumerate(rows(1, CODES[:4]).items())}  # fmt: skip
    catalogue: Catalogue = {"P.C1": {"A", "B"}, "P.C2": {"B", "C"}, "P.D": {"D"}, "Q.C": {"A"}, "OLD.C": {"C"}}
    online: Online = {("P.C1", "A"): NOW - HOUR, ("Q.C", "B"): NOW - HOUR}  # Q.C doesn't offer B: not counted
    read = TreeRead(own_totals(hours, NOW), ALL, [], [], usage_rows(catalogue, online), None)
    board = values(tree.advance(read, all_windows(now=NOW), now=NOW))
    assert board == values(from_scratch(hours, usage_rows(catalogue, online), NOW))
    now = NOW
    for added, used, published, hour_turns in rounds:
        deltas = []
        for code, hours_back, seed in added:
            bucket = now.replace(minute=0, second=0) - timedelta(hours=hours_back)
            delta = [(seed * (j + 3)) % 7 - (seed < 0) * 2 for j in range(len(COUNTERS))]
            deltas.append((code, bucket, delta))
            row = hours.setdefault((code, bucket), [0] * len(COUNTERS))
            for i, d in enumerate(delta):
                row[i] += d
        usage_deltas = []
        for code, procedure, hours_back in used:  # the database keeps the newest, and returns it
            at = now - timedelta(hours=hours_back)
            online[code, procedure] = max(online.get((code, procedure), at), at)
            usage_deltas.append((code, procedure, online[code, procedure]))
        for code, procedure in published:
            catalogue.setdefault(code, set()).add(procedure)
        changed = {code for code, _ in published}
        now += HOUR if hour_turns else timedelta(seconds=10)
        bounds = all_windows(now=now)
        scopes = tree.scopes_above(changed)
        whole = frozenset(b.name for b in tree.stale(bounds))
        read = TreeRead(
            totals={w: totals for w, totals in own_totals(hours, now).items() if w in whole},
            whole=whole,
            deltas=deltas,
            usage_deltas=usage_deltas,
            usage=usage_rows(catalogue, online, scopes),
            usage_scopes=frozenset(scopes),
        )
        out = tree.advance(read, bounds, now=now)
        for scope in [s for s in board if s[1] in {w.value for w in whole}]:
            del board[scope]
        board |= values(out)
        assert board == values(from_scratch(hours, usage_rows(catalogue, online), now))
        assert hour_turns == bool(whole)


def test_a_round_builds_only_the_scopes_above_what_changed() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    own = {w: rows(1, ["P.C1", "Q.C"]) for w in WindowName}
    bounds = all_windows(now=NOW)
    tree.advance(TreeRead(own, ALL, [], [], {}, None), bounds, now=NOW)
    this_hour, long_ago = NOW.replace(minute=0), NOW - timedelta(days=40)
    deltas = [("OLD.C", this_hour, [1] * len(COUNTERS)), ("Q.C", long_ago, [1] * len(COUNTERS))]
    out = tree.advance(TreeRead({}, frozenset(), deltas, [], {}, frozenset()), bounds, now=NOW)
    # Q.C's addition is older than every rolling window: only the calendar windows holding that hour move for it.
    in_ytd = {w.name.value for w in bounds if w.first_bucket <= long_ago}
    assert {(s.window, s.unit_code) for s in out} == {(w.value, c) for w in WindowName for c in ("P.C1", "P")} | {
        (w, c) for w in in_ytd for c in ("Q.C", "Q")
    }
    received = COUNTERS.index("received")
    by_scope = {s.scope: s for s in out}
    # P.C1's own row plus its alias's; the province adds P.C1 and the alias (Q.C is another province).
    rate = by_scope[("online_submission_rate", "30d", "P")]
    assert rate.denominator == own[WindowName.D30]["P.C1"][received] + 1
    assert USAGE_RATE not in {s.kpi for s in out}  # counts moved, the online use did not


def test_a_round_moves_only_the_kpis_reading_the_counters_it_changed() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    bounds = all_windows(now=NOW)
    tree.apply(TreeRead({w: rows(2, ["P.C1"]) for w in WindowName}, ALL, [], [], {}, None), bounds, now=NOW)
    rating = [0] * len(COUNTERS)
    rating[COUNTERS.index("rated")] = rating[COUNTERS.index("rated_satisfied")] = 1
    moved = tree.apply(TreeRead({}, frozenset(), [("P.C1", NOW.replace(minute=0), rating)], [], {}, frozenset()),
                       bounds, now=NOW)  # fmt: skip
    out = tree.moved_snapshots(moved)
    assert {(s.kpi, s.window, s.unit_code) for s in out} == {
        ("satisfaction_rate", w.value, c) for w in WindowName for c in ("P.C1", "P")
    }
    assert tree.snapshot("satisfaction_rate", "30d", "P") in out
    # An online use moves the usage rate of the scopes offering that procedure, and nothing else.
    usage = {"P.C1": (frozenset({"A"}), {}), "P": (frozenset({"A"}), {})}
    tree.apply(TreeRead({}, frozenset(), [], [], usage, frozenset(usage)), bounds, now=NOW)
    moved = tree.apply(TreeRead({}, frozenset(), [], [("P.C1", "A", NOW)], {}, frozenset()), bounds, now=NOW)
    assert {(s.kpi, s.unit_code) for s in tree.moved_snapshots(moved)} == {(USAGE_RATE, "P.C1"), (USAGE_RATE, "P")}


def test_a_board_serving_the_tree_shows_what_a_loaded_board_shows() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    own = {w: rows(3, ["P.C1", "Q.C", "NOWHERE"]) for w in WindowName}
    snapshots = tree.advance(TreeRead(own, ALL, [], [], {}, None), all_windows(now=NOW), now=NOW)
    served, loaded = SnapshotBoard(), SnapshotBoard()
    served.serve(tree)
    loaded.replace(snapshots)
    assert dict(served.current) == dict(loaded.current)
    assert {v: dict(units) for v, units in served.views.items()} == {v: dict(u) for v, u in loaded.views.items()}
    assert served.current[("online_submission_rate", "30d", "NOWHERE")].unit_level == "unknown"
    assert ("online_submission_rate", "30d", "ELSEWHERE") not in served.current
    # A round moves P.C1: its scopes are built again, the others are the same objects as before.
    before = served.current[("online_submission_rate", "30d", "Q.C")]
    p_c1 = served.current[("online_submission_rate", "30d", "P.C1")].denominator
    deltas = [("P.C1", NOW.replace(minute=0), [9] * len(COUNTERS))]
    tree.apply(TreeRead({}, frozenset(), deltas, [], {}, frozenset()), all_windows(now=NOW), now=NOW)
    assert served.current[("online_submission_rate", "30d", "P.C1")].denominator == p_c1 + 9
    assert served.current[("online_submission_rate", "30d", "Q.C")] is before


def test_a_code_the_tree_lacks_shows_while_it_has_counts() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    bounds = all_windows(now=NOW)
    tree.apply(TreeRead({}, ALL, [], [], {}, None), bounds, now=NOW)
    hour, row = NOW.replace(minute=0), [1] * len(COUNTERS)
    for delta, shown in ((row, True), ([-v for v in row], False)):
        tree.apply(TreeRead({}, frozenset(), [("NOWHERE", hour, delta)], [], {}, frozenset()), bounds, now=NOW)
        assert ("NOWHERE" in tree.scopes("1d")) is shown
        assert (tree.snapshot("online_submission_rate", "1d", "NOWHERE") is not None) is shown
