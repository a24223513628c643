"""Scenario -> (Recording, GroundTruth), seeded and deterministic.

Pipeline (each stage draws from its own child of ``np.random.SeedSequence(seed)``, so changing
one stage's parameters does not reshuffle the others)::

    scenario.planogram --stock_units--> Units --resolve_events--> ResolvedEvents
        --schedule--> Timeline --plate_signals--> PlateSamples (60 Hz)
                               --render_people--> PersonObservations (15 Hz)
                               --gate scans-----> GateScans (signed tokens -> QR -> camera -> zxing)
                               --truth----------> GroundTruth
                               --SimDepthSource-> depth + RGB frames (15 Hz, lazy)

The same ``(scenario, store, seed, params)`` gives byte-identical recordings. The depth units
(``Recording.depth``) render nothing until their frames are iterated; their stream is the last
child, so adding it left the other stages' streams unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from walkout.carts.entry import account_key, issue_entry_token, issue_staff_badge
from walkout.core.errors import GroundTruthError
from walkout.core.frames import GateScans
from walkout.core.store import Store
from walkout.eval.truth import GroundTruth, TruthEvent, TruthShopper
from walkout.io.accounts import DEMO_STORE_SECRET
from walkout.io.recording import Recording, RecordingMeta
from walkout.sim.aifi import aifi_scenarios
from walkout.sim.body import draw_physiques
from walkout.sim.depth import SimDepthSource
from walkout.sim.labels import parse_aifi_ground_truth
from walkout.sim.loadcell import plate_samples, plate_signals
from walkout.sim.params import SimParams
from walkout.sim.paths import gondola_footprints
from walkout.sim.people import render_people
from walkout.sim.phone import scan_token
from walkout.sim.scenario import Scenario
from walkout.sim.schedule import Timeline, schedule
from walkout.sim.world import plate_loads_g, resolve_events, stock_units


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("stock", "resolve", "schedule", "loadcell", "people", "depth", "gate")  # append only: spawn keys stay
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def _gate_scans(timeline: Timeline, scenario: Scenario, start_unix_s: float, params: SimParams,
                rng: np.random.Generator) -> tuple[GateScans, dict[int, str]]:
    """What the entry gate's reader decoded, and the token that admitted each shopper.

    The simulated app issues a signed token (:func:`walkout.carts.entry.issue_entry_token`,
    with the demo store's secret) shown as a QR code; the reader photographs the phone screen and
    decodes it (:func:`walkout.sim.phone.scan_token`, zxing-cpp). Faults: an expired token (an
    old screenshot), the previous person's token shown again, a tampered one. A QR nobody could
    read leaves no scan row.
    """
    rows: list[tuple[float, str]] = []
    admitted: dict[int, str] = {}
    last_fresh: dict[str, str] = {}
    for sc in timeline.scans:
        now = start_unix_s + sc.t_s
        key = account_key(DEMO_STORE_SECRET, sc.account_id)
        given = scenario.shoppers[sc.shopper].token
        if sc.admits and given is not None:
            token = given
        elif sc.kind == "badge":
            token = issue_staff_badge(DEMO_STORE_SECRET, sc.account_id)
        elif sc.kind == "replayed" and sc.account_id in last_fresh:
            token = last_fresh[sc.account_id]
        else:
            age_s = rng.uniform(*params.gate.expired_age_s) if sc.kind == "expired" else rng.uniform(*params.gate.shown_for_s)
            token = issue_entry_token(key, sc.account_id, int(now - age_s), rng.bytes(12))
            if sc.kind == "forged":  # the signature of someone else's token pasted on
                token = token[:-22] + issue_entry_token(key, sc.account_id, int(now), rng.bytes(12))[-22:]
            elif sc.kind == "fresh":
                last_fresh[sc.account_id] = token
        read, _attempts = scan_token(token, rng, params.gate.camera)
        if read is not None:
            rows.append((sc.t_s, read))
        if sc.admits:
            admitted[sc.shopper] = token
    n = len(rows)
    scans = GateScans(
        gate_id=np.array(["entry"] * n, dtype=object).reshape(n),
        t_s=np.array([t for t, _ in rows], dtype=np.float64).reshape(n),
        token=np.array([tok for _, tok in rows], dtype=object).reshape(n),
    )
    return scans, admitted


def _settled(timeline: Timeline, store: Store, settled_t_s: np.ndarray) -> tuple[TruthEvent, ...]:
    """The timeline's events with ``t_settled_s``: the latest settling time of the event's weight
    changes (same plates, completing at the event's ``t_s``) and end of a hand leaning on them."""
    index = {pl.id: i for i, pl in enumerate(store.plates)}
    out = []
    for ev in timeline.events:
        plates = [index[p] for p in ev.plates]
        rows = np.isin(timeline.change_plate, plates) & (timeline.change_t_s[:, 1] == ev.t_s)
        t = max([ev.t_s, *settled_t_s[rows].tolist()])
        leans = np.isin(timeline.touch_plate, plates) & (timeline.touch_t_s[:, 0] >= ev.t_start_s) & (
            timeline.touch_t_s[:, 0] <= ev.t_s)
        t = max([t, *timeline.touch_t_s[leans, 1].tolist()])
        out.append(ev.model_copy(update={"t_settled_s": float(t)}))
    return tuple(out)


def _truth(scenario: Scenario, timeline: Timeline, seed: int, admitted: dict[int, str]) -> GroundTruth:
    return GroundTruth(
        recording=scenario.name,
        seed=seed,
        shoppers=tuple(
            TruthShopper(
                key=s.key, token=admitted.get(i, ""), role=s.role, entry_t_s=s.entry_t_s, exit_t_s=s.exit_t_s,
                height_m=s.height_m, account_id=s.account_id, payer=s.payer_key,
                rescan=scenario.shoppers[i].rescan,
            )
            for i, s in enumerate(timeline.shoppers)
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
    t_s, mass_g, settled_t_s = plate_signals(plate_loads_g(units, len(store.plates)), timeline, params.load_cell,
                                             rng["loadcell"])
    timeline = replace(timeline, events=_settled(timeline, store, settled_t_s))
    people = render_people(timeline, gondola_footprints(store), params.people, rng["people"])
    physiques = draw_physiques(timeline, params.depth, rng["depth"], people.gait_phase_rad)
    depth = SimDepthSource(store, timeline, physiques, params, rng["depth"])
    scans, admitted = _gate_scans(timeline, scenario, params.start_unix_s, params, rng["gate"])
    meta = RecordingMeta(
        name=scenario.name,
        duration_s=timeline.duration_s,
        plate_rate_hz=params.load_cell.rate_hz,
        people_rate_hz=params.people.rate_hz,
        planogram=scenario.planogram,
        source=f"walkout.sim seed={seed}; {scenario.source}".strip("; "),
        start_unix_s=params.start_unix_s,
    )
    rec = Recording(
        store, meta, plate_samples(store, t_s, mass_g), scans, people.observations, depth=depth
    )
    return rec, _truth(scenario, timeline, seed, admitted), timeline


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
