"""Publishing slices: every moved pair once, with its KPIs, and each unit's windows in one slice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.metrics.refresher import unit_slices

pairs = st.dictionaries(
    st.tuples(st.sampled_from(["1d", "7d", "30d", "mtd", "qtd", "ytd"]), st.text("ABCDEFGH", min_size=1, max_size=3)),
    st.integers(1, 2**11 - 1),
    max_size=300,
)


@given(moved=pairs, size=st.integers(1, 40))
def test_slices_hold_every_pair_once_and_never_split_a_unit(moved: dict[tuple[str, str], int], size: int) -> None:
    slices = unit_slices(moved, size=size)
    assert [pair for chunk in slices for pair in chunk] == sorted(moved, key=lambda pair: (pair[1], pair[0]))
    assert {pair: kpis for chunk in slices for pair, kpis in chunk.items()} == moved
    units = [{code for _, code in chunk} for chunk in slices]
    assert all(not a & b for i, a in enumerate(units) for b in units[i + 1 :])
    assert all(len(chunk) >= size for chunk in slices[:-1])
    assert all(chunk for chunk in slices)


def test_a_slice_closes_at_the_first_unit_past_its_size() -> None:
    moved = {(w, c): 1 for c in ("A", "B", "C") for w in ("1d", "30d", "7d")}
    assert [sorted({c for _, c in chunk}) for chunk in unit_slices(moved, size=4)] == [["A", "B"], ["C"]]
