"""The engine keeps receipts right when sensors and shoppers misbehave more than usual.

Each case replays the 34 real AiFi labelled recordings with one fault turned up far past its
default (every pick rested on the plate first, every reach leaning on the shelf, every close
encounter swapping tracker ids, twice the load-cell noise, twice the hand occlusion).
"""

from __future__ import annotations

import pytest

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.eval import score_run
from walkout.io.store_file import embedded_store_dir
from walkout.sim import LoadCellParams, PeopleParams, ShopperParams, SimParams, simulate_aifi

GT = embedded_store_dir() / "ground_truth_dev.json"

CASES = [
    ("every pick rests on the plate first", SimParams(shopper=ShopperParams(rest_prob=1.0)), 0.98),
    ("every reach leans on the shelf", SimParams(shopper=ShopperParams(touch_prob=1.0)), 0.97),
    ("every close encounter swaps track ids", SimParams(people=PeopleParams(swap_prob=1.0)), 0.99),
    ("load-cell noise doubled", SimParams(load_cell=LoadCellParams(noise_sigma_g=3.0)), 0.99),
    ("hands occluded twice as often", SimParams(people=PeopleParams(hand_missing_frac=0.4)), 0.99),
]


@pytest.mark.parametrize(("params", "min_f1"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_receipts_survive_faults(store, params, min_f1):
    engine = Engine(demo_entry_desk())
    pairs = [(truth, engine.run(rec)) for rec, truth in simulate_aifi(GT, store, 0, params)]
    score = score_run(pairs, store)
    assert score.f1 >= min_f1, [f"{e.recording}: {e.cause}" for e in score.errors]
    assert score.event_precision >= 0.95
