from __future__ import annotations

import pytest

from walkout.core.store import PlateId
from walkout.events.types import ShelfEvent
from walkout.fusion import identify_products
from walkout.inventory import LivePlanogram

SALT_VINEGAR, JALAPENO, SEA_SALT = "084114033338", "084114115881", "084114033000"
TWINKIES, SPINDRIFT_LEMON = "888109010102", "856579002194"


def ev(plates: list[str], deltas: list[float]) -> ShelfEvent:
    ids = tuple(PlateId.parse(p) for p in plates)
    return ShelfEvent(0, ids[0].gondola, ids[0].shelf, 1.0, 2.0, ids, tuple(deltas))


@pytest.fixture
def live(store):
    return LivePlanogram.from_facings(store.planogram)


@pytest.mark.parametrize(
    ("plates", "deltas", "items"),
    [
        (["2.6.6", "2.6.7"], [-30.0, -32.6], ((SALT_VINEGAR, 1),)),  # same weight as Jalapeno: place decides
        (["2.6.8"], [-62.1], ((JALAPENO, 1),)),
        (["4.1.1", "4.1.2"], [-100.0, -62.5], ((TWINKIES, 2),)),
        (["4.2.1"], [-368.4], ((SPINDRIFT_LEMON, 1),)),
    ],
)
def test_pick_identification(store, live, plates, deltas, items):
    hyps = identify_products(ev(plates, deltas), store, live)
    assert hyps[0].items == items
    assert hyps[0].probability > 0.9
    assert sum(h.probability for h in hyps) == pytest.approx(1.0)


def test_weight_nothing_explains_is_unknown(store, live):
    hyps = identify_products(ev(["2.6.3"], [-1000.0]), store, live)
    assert hyps[0].items == ()


def test_put_back_prefers_the_shoppers_cart_even_on_a_wrong_facing(store, live):
    # a Jalapeno bag put back on the Sea Salt facing: same weight, but the cart says Jalapeno
    hyps = identify_products(ev(["2.6.3"], [62.4]), store, live, cart={JALAPENO: 1})
    assert hyps[0].items == ((JALAPENO, 1),)
    assert hyps[0].sources[0].misplaced


def test_misplaced_unit_can_be_picked_from_its_new_plate(store, live):
    moved = live.put(JALAPENO, 1, (PlateId(2, 6, 3),))
    assert ((PlateId(2, 6, 3),), JALAPENO, 1) in moved.misplaced
    hyps = identify_products(ev(["2.6.3"], [-62.2]), store, moved)
    names = {h.items for h in hyps[:2]}
    assert ((JALAPENO, 1),) in names and ((SEA_SALT, 1),) in names


def test_empty_facing_is_unlikely(store, live):
    i = live.facing_of(SPINDRIFT_LEMON)[0]
    empty = live
    for _ in range(live.counts[i]):
        src = [s for s in empty.sources_near([PlateId(4, 2, 1)]) if s.upc == SPINDRIFT_LEMON][0]
        empty = empty.take(src, 1)
    assert empty.counts[i] == 0
    hyps = identify_products(ev(["4.2.1"], [-368.0]), store, empty)
    assert hyps[0].items == ((SPINDRIFT_LEMON, 1),)  # still the best explanation
    assert hyps[0].log_score < identify_products(ev(["4.2.1"], [-368.0]), store, live)[0].log_score
