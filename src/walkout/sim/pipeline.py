"""Scenario -> (Recording, GroundTruth), seeded and deterministic.

Pipeline (each stage draws from its own child of ``np.random.SeedSequence(seed)``, so changing
one stage's parameters does not reshuffle the others)::

    scenario.planogram --stock_units--> Units --resolve_events--> ResolvedEvents
        --schedule--> Timeline --plate_signals--> PlateSamples (60 Hz)
                               --render_people--> PersonObservations (15 Hz)
                               --gate scans-----> GateScans
                               --truth----------> GroundTruth
                               --SimDepthSource-> depth + RGB frames (15 Hz, lazy)

The same ``(scenario, store, seed, params)`` gives byte-identical recordings. The depth units
(``Recording.depth``) render nothing until their frames are iterated; their stream is the last
child, so adding it left the other stages' streams unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from walkout.core.errors import GroundTruthError
from walkout.core.frames import GateScans
from walkout.core.store import Store
from walkout.eval.truth import GroundTruth, TruthShopper
from walkout.io.recording import Recording, RecordingMeta
from walkout.sim.aifi import aifi_scenarios
from walkout.sim.body import draw_physiques
from walkout.sim.depth import SimDepthSource
from walkout.sim.labels import parse_aifi_ground_truth
from walkout.sim.loadcell import plate_samples, plate_signals
from walkout.sim.params import SimParams
from walkout.sim.paths import gondola_footprints
from walkout.sim.people import render_people
from walkout.sim.scenario import Scenario
from walkout.sim.schedule import Timeline, schedule
from walkout.sim.world import plate_loads_g, resolve_events, stock_units


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("stock", "resolve", "schedule", "loadcell", "people", "depth")  # append only: spawn keys stay
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def _gate_scans(timeline: Timeline) -> GateScans:
    order = sorted(range(len(timeline.shoppers)), key=lambda i: timeline.shoppers[i].scan_t_s)
    return GateScans(
        gate_id=np.array(["entry"] * len(order), dtype=object).reshape(len(order)),
        t_s=np.array([timeline.shoppers[i].scan_t_s for i in order], dtype=np.float64).reshape(len(order)),
        token=np.array([timeline.shoppers[i].token for i in order], dtype=object).reshape(len(order)),
    )


def _truth(scenario: Scenario, timeline: Timeline, seed: int) -> GroundTruth:
    return GroundTruth(
        recording=scenario.name,
        seed=seed,
        shoppers=tuple(
            TruthShopper(
                key=s.key, token=s.token, role=s.role, entry_t_s=s.entry_t_s, exit_t_s=s.exit_t_s, height_m=s.height_m
            )
            for s in timeline.shoppers
        ),
        events=timeline.events,
        skipped_labels=scenario.skipped_labels,
    )


def simulate_timeline(
    scenario: Scenario, store: Store, seed: int, params: SimParams = SimParams()
) -> tuple[Recording, GroundTruth, Timeline]:
    """Like :func:`simulate`, also returning the hidden :class:`Timeline` (tests, diagnostics)."""
    scenario.check_against(store)
    rng = _streams(seed)
    units = stock_units(store, scenario.planogram, params.stock, rng["stock"])
    resolved = resolve_events(store, scenario, units, params.stock, rng["resolve"])
    timeline = schedule(store, scenario, resolved, params, rng["schedule"])
    t_s, mass_g = plate_signals(plate_loads_g(units, len(store.plates)), timeline, params.load_cell, rng["loadcell"])
    people = render_people(timeline, gondola_footprints(store), params.people, rng["people"])
    physiques = draw_physiques(timeline, params.depth, rng["depth"], people.gait_phase_rad)
    depth = SimDepthSource(store, timeline, physiques, params, rng["depth"])
    meta = RecordingMeta(
        name=scenario.name,
        duration_s=timeline.duration_s,
        plate_rate_hz=params.load_cell.rate_hz,
        people_rate_hz=params.people.rate_hz,
        planogram=scenario.planogram,
        source=f"walkout.sim seed={seed}; {scenario.source}".strip("; "),
    )
    rec = Recording(
        store, meta, plate_samples(store, t_s, mass_g), _gate_scans(timeline), people.observations, depth=depth
    )
    return rec, _truth(scenario, timeline, seed), timeline


def simulate(
    scenario: Scenario, store: Store, seed: int, params: SimParams = SimParams()
) -> tuple[Recording, GroundTruth]:
    """Simulate one recording of a scenario.

    Args:
        scenario: who does what (see :class:`~walkout.sim.scenario.Scenario`).
        store: the store the scenario happens in.
        seed: any non-negative int; the same seed gives byte-identical recordings.
        params: simulator parameters (defaults documented in :mod:`walkout.sim.params`).

    Returns:
        ``(recording, ground_truth)``: what the sensors emitted (plates at 60 Hz, time-major in
        store plate order; gate scans; person observations at 15 Hz; the depth units as a lazy
        :class:`~walkout.sim.depth.SimDepthSource` in ``recording.depth``, whose
        ``body_truth()`` gives the rendered bodies' keypoints), and what really happened.

    Raises:
        ValueError: the scenario names unknown plates/products, picks a product with no unit
            left, puts back a product the shopper does not hold, or the store lacks gates.
    """
    rec, truth, _ = simulate_timeline(scenario, store, seed, params)
    return rec, truth


def recording_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th recording of a batch: ``SeedSequence([seed, index])``'s first word."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def load_aifi_scenarios(gt_path: str | Path, store: Store) -> tuple[Scenario, ...]:
    """Parse an AiFi ground-truth file and build one scenario per labelled recording.

    Raises:
        GroundTruthError: the file is missing, not JSON, lacks a field, or a recording cannot be
            replayed in this store (the message names the file and the recording).
    """
    scenarios = []
    for label in parse_aifi_ground_truth(gt_path):
        try:
            scenarios.append(aifi_scenarios((label,), store)[0])
        except ValueError as exc:
            raise GroundTruthError(f"{gt_path}: recording {label.name!r} cannot be replayed: {exc}") from exc
    return tuple(scenarios)


def simulate_aifi(
    gt_path: str | Path, store: Store, seed: int, params: SimParams = SimParams()
) -> Iterator[tuple[Recording, GroundTruth]]:
    """Replay every labelled recording of an AiFi ground-truth file, in file order.

    Args:
        gt_path: an AiFi ``ground_truth_*.json`` file.
        store: the store the labels refer to.
        seed: batch seed; recording i uses :func:`recording_seed` ``(seed, i)``.
        params: simulator parameters.

    Yields:
        ``(recording, ground_truth)`` per labelled recording.

    Raises:
        GroundTruthError: the file is missing, not JSON, lacks a field, or a recording cannot be
            replayed in this store (the message names the file and the recording).
    """
    scenarios = load_aifi_scenarios(gt_path, store)
    for i, scenario in enumerate(scenarios):
        try:
            yield simulate(scenario, store, recording_seed(seed, i), params)
        except ValueError as exc:
            raise GroundTruthError(f"{gt_path}: recording {scenario.name!r} cannot be simulated: {exc}") from exc
