"""Parsing AiFi ground-truth files, including every error path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from walkout.core.errors import GroundTruthError
from walkout.sim import parse_aifi_ground_truth
from walkout.sim.labels import LabelRecording


def _doc() -> dict[str, Any]:
    event = {
        "eventID": 3,
        "putback": 0,
        "observation": {
            "position": {"gondola": 7, "shelf": 2, "plates": [1, 2]},
            "products": [{"id": "123", "name": "Thing", "weight": 10.5}],
            "target_id": "abc",
            "time": "00:01",
        },
    }
    return {
        "lists": [
            {"dataset": "OTHER-STORE-1", "range": None, "events": [event]},
            {"dataset": "OTHER-STORE-1", "events": []},
        ]
    }


def _write(tmp_path: Path, doc: Any) -> Path:
    p = tmp_path / "ground_truth_other.json"
    p.write_text(json.dumps(doc))
    return p


def test_dev_file_parses(labels: tuple[LabelRecording, ...]) -> None:
    assert len(labels) == 34
    names = [r.name for r in labels]
    assert len(set(names)) == len(names)
    assert "TEAM-5-1" in names and "TEAM-5-1#2" in names
    assert [r.index for r in labels] == list(range(34))
    twinkies = next(e for e in next(r for r in labels if r.name == "cps-test-12").events if e.event_id == 7)
    assert [p.upc for p in twinkies.products] == ["888109010102", "888109010102"]
    assert (twinkies.gondola, twinkies.shelf, twinkies.plates, twinkies.putback) == (4, 1, (1, 2), False)


def test_other_store_file(tmp_path: Path) -> None:
    recs = parse_aifi_ground_truth(_write(tmp_path, _doc()))
    assert [r.name for r in recs] == ["OTHER-STORE-1", "OTHER-STORE-1#2"]
    e = recs[0].events[0]
    assert (e.event_id, e.gondola, e.shelf, e.plates, e.target_id) == (3, 7, 2, (1, 2), "abc")
    assert e.products[0].upc == "123" and e.products[0].weight_g == 10.5
    assert recs[1].events == ()


def _drop(path: tuple[Any, ...]) -> Any:
    def edit(doc: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(doc)
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
        return d

    return edit


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(doc)
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return d

    return edit


EV = ("lists", 0, "events", 0)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_drop(("lists",)), "field 'lists' missing"),
        (_drop(("lists", 0, "dataset")), "lists[0]: field 'dataset' missing"),
        (_drop(("lists", 0, "events")), "recording 'OTHER-STORE-1' (lists[0]): field 'events' missing"),
        (_drop((*EV, "eventID")), "events[0]: field 'eventID' missing"),
        (_drop((*EV, "putback")), "(eventID 3): field 'putback' missing"),
        (_set((*EV, "putback"), 2), "field 'putback' must be 0 or 1"),
        (_drop((*EV, "observation")), "(eventID 3): field 'observation' missing"),
        (_drop((*EV, "observation", "position", "shelf")), "observation.position: field 'shelf' missing"),
        (_set((*EV, "observation", "position", "plates"), [1, "x"]), "field 'plates' must be a list of integers"),
        (_set((*EV, "observation", "position", "gondola"), "7"), "field 'gondola' has type str"),
        (_drop((*EV, "observation", "products")), "field 'products' missing"),
        (_drop((*EV, "observation", "products", 0, "id")), "observation.products[0]: field 'id' missing"),
        (_set((*EV, "observation", "products", 0, "weight"), "heavy"), "field 'weight' has type str"),
        (_drop((*EV, "observation", "target_id")), "field 'target_id' missing"),
        (_set(("lists", 0, "events"), {}), "field 'events' has type dict"),
        (lambda d: [d], "expected an object, got list"),
        (lambda d: d, None),
    ],
)
def test_errors_name_file_recording_event_field(tmp_path: Path, edit: Any, expected: str | None) -> None:
    path = _write(tmp_path, edit(_doc()))
    if expected is None:
        assert len(parse_aifi_ground_truth(path)) == 2
        return
    with pytest.raises(GroundTruthError) as info:
        parse_aifi_ground_truth(path)
    msg = str(info.value)
    assert str(path) in msg
    assert expected in msg


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "gt.json"
    bad.write_text('{"lists": [')
    with pytest.raises(GroundTruthError, match="gt.json: not valid JSON"):
        parse_aifi_ground_truth(bad)
    with pytest.raises(GroundTruthError, match="nope.json: file not found"):
        parse_aifi_ground_truth(tmp_path / "nope.json")


def test_name_collision_after_suffix_is_an_error(tmp_path: Path) -> None:
    doc = {"lists": [{"dataset": "A", "events": []}, {"dataset": "A", "events": []}, {"dataset": "A#2", "events": []}]}
    with pytest.raises(GroundTruthError, match="not unique"):
        parse_aifi_ground_truth(_write(tmp_path, doc))
