from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from walkout.core.store import Facing, PlateId
from walkout.inventory import LivePlanogram

P1, P2 = PlateId(1, 1, 1), PlateId(1, 1, 2)
FACINGS = (Facing(upc="a", plates=(P1,), count=3, capacity=4), Facing(upc="b", plates=(P2,), count=2, capacity=4))


def test_put_back_on_own_facing_restocks_it():
    live = LivePlanogram.from_facings(FACINGS)
    src = live.sources_near([P1])[0]
    live2 = live.take(src, 1).put("a", 1, (P1,))
    assert live2.counts == live.counts
    assert live2.misplaced == ()
    assert live.counts == (3, 2)  # the original is unchanged (immutable updates)


def test_put_back_elsewhere_is_misplaced_and_pickable():
    live = LivePlanogram.from_facings(FACINGS).put("a", 1, (P2,))
    assert live.misplaced == (((P2,), "a", 1),)
    src = [s for s in live.sources_near([P2]) if s.misplaced][0]
    assert live.take(src, 1).misplaced == ()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b"]), st.integers(1, 3), st.sampled_from([P1, P2])), max_size=30))
def test_stock_never_negative(ops):
    live = LivePlanogram.from_facings(FACINGS)
    for is_pick, upc, q, plate in ops:
        if is_pick:
            srcs = [s for s in live.sources_near([plate]) if s.upc == upc] or live.sources_near([plate])
            live = live.take(srcs[0], q)
        else:
            live = live.put(upc, q, (plate,))
        assert all(c >= 0 for c in live.counts)
        assert all(n > 0 for _, _, n in live.misplaced)


def test_stock_rows_merge_a_misplaced_unit_on_its_own_first_plate():
    live = LivePlanogram.from_facings(FACINGS)
    live = live.put("a", 1, (P1, P2))  # spans its facing's plate and the next: misplaced
    live = live.put("a", 1, (P1,))  # back in its facing
    rows = live.stock_rows()
    assert len({(p, u) for p, u, _ in rows}) == len(rows)
    assert ("1.1.1", "a", 5) in rows
