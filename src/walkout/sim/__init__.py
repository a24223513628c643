"""walkout.sim: the simulated store. Scenario -> (Recording, GroundTruth), seeded.

The simulator produces what real sensors would emit (a :class:`walkout.io.recording.Recording`:
60 Hz plate readings, gate scans, 15 Hz person-tracker observations, lazily rendered ceiling
depth + RGB frames) and, separately, what really happened (a
:class:`walkout.eval.truth.GroundTruth`; the bodies behind the depth frames are
``recording.depth.body_truth()``). The engine never imports this package. See ``docs/simulator.md`` for the models, parameters and known limits.

Typical use::

    from walkout.io import load_embedded_store
    from walkout.sim import simulate_aifi, random_scenario, simulate

    store = load_embedded_store()
    for recording, truth in simulate_aifi(gt_path, store, seed=0):
        ...
    recording, truth = simulate(random_scenario(store, 6, 180.0, seed=1), store, seed=1)
"""

from walkout.sim.aifi import aifi_scenarios
from walkout.sim.body import BodyTruth, Physiques, body_truth
from walkout.sim.depth import SimDepthSource
from walkout.sim.generator import random_scenario
from walkout.sim.labels import LabelEvent, LabelProduct, LabelRecording, parse_aifi_ground_truth
from walkout.sim.params import DepthParams, LoadCellParams, PeopleParams, ShopperParams, SimParams, StockParams
from walkout.sim.pipeline import load_aifi_scenarios, recording_seed, simulate, simulate_aifi
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper

__all__ = [
    "BodyTruth",
    "DepthParams",
    "LabelEvent",
    "LabelProduct",
    "LabelRecording",
    "LoadCellParams",
    "PeopleParams",
    "Physiques",
    "Scenario",
    "ScenarioEvent",
    "ScenarioShopper",
    "ShopperParams",
    "SimDepthSource",
    "SimParams",
    "StockParams",
    "aifi_scenarios",
    "body_truth",
    "load_aifi_scenarios",
    "parse_aifi_ground_truth",
    "random_scenario",
    "recording_seed",
    "simulate",
    "simulate_aifi",
]
