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


def from_scratch(
    own: dict[WindowName, dict[str, list[int]]], usage: dict[str, Usage], now: datetime
) -> list[KpiSnapshot]:
    """What the whole computation gives: roll every window up and build every scope."""
    snapshots = []
    for window in all_windows(now=now):
        start, end = window.first_bucket, window.last_bucket + HOUR
        used = {c: (sum(1 for t in times if start <= t < end), offered) for c, (offered, times) in usage.items()}
        totals = roll_up(own.get(window.name, {}), ANCESTORS)
        snapshots += build_snapshots(
            window=window, totals=totals, usage=used, units=UNITS, definitions=DEFAULT_KPIS, computed_at=now
        )
    return snapshots


def values(snapshots: list[KpiSnapshot]) -> dict[tuple[str, str, str], tuple[object, ...]]:
    return {
        s.scope: (s.unit_level, s.numerator, s.denominator, s.ratio, s.window_start, s.window_end) for s in snapshots
    }


@settings(max_examples=80, deadline=None)
@given(
    rounds=st.lists(
        st.tuples(st.integers(0, 50), st.lists(st.sampled_from(CODES), max_size=5, unique=True), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_rounds_of_changes_give_what_a_full_recompute_gives(rounds: list[tuple[int, list[str], bool]]) -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    own = {w: rows(1, CODES[:4]) for w in WindowName}
    usage: dict[str, Usage] = {"P": (3, (NOW - HOUR,)), "Q": (1, ())}
    board = values(tree.advance(TreeRead(own, ALL, frozenset(), usage, None), all_windows(now=NOW), now=NOW))
    assert board == values(from_scratch(own, usage, NOW))
    now = NOW
    for seed, changed, hour_turns in rounds:
        now += HOUR if hour_turns else timedelta(seconds=10)
        bounds = all_windows(now=now)
        fresh = rows(seed, changed)
        for window in WindowName:  # the database now holds these own totals (a zero row: nothing left)
            for code in changed:
                if any(fresh[code]):
                    own[window][code] = fresh[code]
                else:
                    own[window].pop(code, None)
        scopes = tree.scopes_above(changed)
        usage.update({s: (seed % 4, (now - timedelta(hours=seed % 3),)) for s in scopes if s in UNITS})
        whole = frozenset(b.name for b in tree.stale(bounds))
        read = TreeRead(
            totals={w: own[w] if w in whole else {c: own[w][c] for c in changed if c in own[w]} for w in WindowName},
            whole=whole,
            changed=frozenset(changed),
            usage={s: usage[s] for s in scopes if s in usage},
            usage_scopes=frozenset(scopes),
        )
        out = tree.advance(read, bounds, now=now)
        for scope in [s for s in board if s[1] in {w.value for w in whole}]:
            del board[scope]
        board |= values(out)
        assert board == values(from_scratch(own, usage, now))
        assert hour_turns == bool(whole)


def test_a_round_builds_only_the_scopes_above_what_changed() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    own = {w: rows(1, ["P.C1", "Q.C"]) for w in WindowName}
    bounds = all_windows(now=NOW)
    tree.advance(TreeRead(own, ALL, frozenset(), {}, None), bounds, now=NOW)
    changed = {w: {"OLD.C": [1] * len(COUNTERS)} for w in WindowName}
    out = tree.advance(
        TreeRead(changed, frozenset(), frozenset({"OLD.C"}), {}, frozenset({"P.C1", "P"})), bounds, now=NOW
    )
    assert {s.unit_code for s in out} == {"P.C1", "P"}
    assert len(out) == 2 * len(DEFAULT_KPIS) * len(WindowName)
    received = COUNTERS.index("received")
    by_scope = {s.scope: s for s in out}
    # P.C1's own row plus its alias's; the province adds P.C1 and the alias (Q.C is another province).
    rate = by_scope[("online_submission_rate", "30d", "P")]
    assert rate.denominator == own[WindowName.D30]["P.C1"][received] + 1
    assert by_scope[(USAGE_RATE, "30d", "P")].denominator == 0


def test_a_board_serving_the_tree_shows_what_a_loaded_board_shows() -> None:
    tree = SnapshotTree(units=UNITS, ancestors=ANCESTORS, definitions=DEFAULT_KPIS)
    own = {w: rows(3, ["P.C1", "Q.C", "NOWHERE"]) for w in WindowName}
    snapshots = tree.advance(TreeRead(own, ALL, frozenset(), {}, None), all_windows(now=NOW), now=NOW)
    served, loaded = SnapshotBoard(), SnapshotBoard()
    served.serve(tree)
    loaded.replace(snapshots)
    assert dict(served.current) == dict(loaded.current)
    assert {v: dict(units) for v, units in served.views.items()} == {v: dict(u) for v, u in loaded.views.items()}
    assert served.current[("online_submission_rate", "30d", "NOWHERE")].unit_level == "unknown"
    assert ("online_submission_rate", "30d", "ELSEWHERE") not in served.current
    # A round moves P.C1: its scopes are built again, the others are the same objects as before.
    before = served.current[("online_submission_rate", "30d", "Q.C")]
    changed = {w: {"P.C1": [9] * len(COUNTERS)} for w in WindowName}
    tree.apply(TreeRead(changed, frozenset(), frozenset({"P.C1"}), {}, frozenset()), all_windows(now=NOW), now=NOW)
    assert served.current[("online_submission_rate", "30d", "P.C1")].denominator == 9
    assert served.current[("online_submission_rate", "30d", "Q.C")] is before
