"""Shared fixtures of the simulator tests (session-scoped: the store and the AiFi replays)."""

from __future__ import annotations

from pathlib import Path

import pytest

from walkout.core.store import Store
from walkout.eval.truth import GroundTruth
from walkout.io import Recording, load_embedded_store
from walkout.io.store_file import embedded_store_dir
from walkout.sim import aifi_scenarios, parse_aifi_ground_truth, simulate_aifi
from walkout.sim.labels import LabelRecording
from walkout.sim.scenario import Scenario


@pytest.fixture(scope="session")
def store() -> Store:
    return load_embedded_store()


@pytest.fixture(scope="session")
def gt_path() -> Path:
    return embedded_store_dir() / "ground_truth_dev.json"


@pytest.fixture(scope="session")
def labels(gt_path: Path) -> tuple[LabelRecording, ...]:
    return parse_aifi_ground_truth(gt_path)


@pytest.fixture(scope="session")
def scenarios(labels: tuple[LabelRecording, ...], store: Store) -> dict[str, Scenario]:
    return {s.name: s for s in aifi_scenarios(labels, store)}


@pytest.fixture(scope="session")
def aifi_runs(gt_path: Path, store: Store) -> dict[str, tuple[Recording, GroundTruth]]:
    """Every dev-file recording simulated with batch seed 0."""
    return {truth.recording: (rec, truth) for rec, truth in simulate_aifi(gt_path, store, seed=0)}
