"""Parser of AiFi AutoCheckout ground-truth files (``ground_truth_*.json``).

Source: the CPS-IoT Week 2020 AutoCheckout competition (AiFi Inc. and Carnegie Mellon
University); the format, as found in ``walkout/data/aifi-nanostore/ground_truth_dev.json``::

    {"lists": [{"dataset": "cps-test-2", "range": "...", "note": "...",
                "events": [{"eventID": 1, "putback": 0,
                            "observation": {"position": {"gondola": 2, "shelf": 6, "plates": [8, 9]},
                                            "products": [{"id": "084114115881", "name": "...",
                                                          "weight": 62.0, ...}],
                                            "target_id": "…", "time": "…", "note": "…"}}]}]}

The parser only checks structure; whether a product or plate exists in a store is decided later
(:func:`walkout.sim.aifi.aifi_scenarios` records unreplayable labels as skipped). Dataset names
may repeat (``TEAM-5-1`` appears twice in the dev file): the n-th repetition of a name gets the
suffix ``#n`` so every :class:`LabelRecording` has a unique :attr:`~LabelRecording.name`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from walkout.core.errors import GroundTruthError
from walkout.io.jsonfile import read_json


@dataclass(frozen=True)
class LabelProduct:
    """A product named by a label: UPC (the label's ``id``), name and the label's unit weight."""

    upc: str
    name: str
    weight_g: float | None


@dataclass(frozen=True)
class LabelEvent:
    """One labelled shelf event.

    Attributes:
        event_id: the label's ``eventID`` (not necessarily unique within a recording).
        putback: True for a put-back, False for a pick-up.
        gondola: gondola id (1-based).
        shelf: shelf index within the gondola (1-based).
        plates: plate indices within the shelf (1-based), possibly empty.
        products: one entry per unit ([A, A] = two units of A in one event).
        target_id: the shopper's tracker id as a string ("" when the label has none).
        time: the label's free-form time text.
        note: the label's note, if any.
    """

    event_id: int
    putback: bool
    gondola: int
    shelf: int
    plates: tuple[int, ...]
    products: tuple[LabelProduct, ...]
    target_id: str
    time: str = ""
    note: str = ""


@dataclass(frozen=True)
class LabelRecording:
    """One labelled recording.

    Attributes:
        name: unique name within the file (``dataset``, plus ``#n`` for the n-th repetition).
        dataset: the label's ``dataset`` name as written.
        index: position in the file's ``lists`` (0-based).
        range: the label's ``range`` text (may be None).
        note: the recording's note, if any.
        events: the events in label order.
        source: the file the labels came from.
    """

    name: str
    dataset: str
    index: int
    range: str | None
    note: str
    events: tuple[LabelEvent, ...]
    source: str = ""


def _field(obj: Any, key: str, where: str, kinds: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise GroundTruthError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise GroundTruthError(f"{where}: field {key!r} missing")
    value = obj[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise GroundTruthError(f"{where}: field {key!r} has type bool")
    if not isinstance(value, kinds):
        raise GroundTruthError(f"{where}: field {key!r} has type {type(value).__name__}")
    return value


def _parse_product(raw: Any, where: str) -> LabelProduct:
    upc = _field(raw, "id", where, (str, int))
    weight = raw.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float))):
        raise GroundTruthError(f"{where}: field 'weight' has type {type(weight).__name__}")
    name = raw.get("name", "")
    return LabelProduct(upc=str(upc), name=str(name), weight_g=None if weight is None else float(weight))


def _parse_event(raw: Any, where: str) -> LabelEvent:
    event_id = _field(raw, "eventID", where, int)
    where = f"{where} (eventID {event_id})"
    putback = _field(raw, "putback", where, (int, bool))
    if putback not in (0, 1):
        raise GroundTruthError(f"{where}: field 'putback' must be 0 or 1, got {putback!r}")
    obs = _field(raw, "observation", where, dict)
    pos = _field(obs, "position", f"{where} observation", dict)
    pw = f"{where} observation.position"
    plates = _field(pos, "plates", pw, list)
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in plates):
        raise GroundTruthError(f"{pw}: field 'plates' must be a list of integers, got {plates!r}")
    products = _field(obs, "products", f"{where} observation", list)
    target = _field(obs, "target_id", f"{where} observation", (str, int))
    return LabelEvent(
        event_id=event_id,
        putback=bool(putback),
        gondola=_field(pos, "gondola", pw, int),
        shelf=_field(pos, "shelf", pw, int),
        plates=tuple(plates),
        products=tuple(_parse_product(p, f"{where} observation.products[{k}]") for k, p in enumerate(products)),
        target_id=str(target),
        time=str(obs.get("time") or ""),
        note=str(obs.get("note") or ""),
    )


def parse_aifi_ground_truth_document(doc: Any, source: str) -> tuple[LabelRecording, ...]:
    """Parse an already-loaded AiFi ground-truth document.

    Args:
        doc: the parsed JSON document.
        source: the file name to quote in errors.

    Returns:
        The labelled recordings, in file order, with unique names.

    Raises:
        GroundTruthError: naming ``source``, the recording and the event/field that is missing
            or has the wrong type.
    """
    lists = _field(doc, "lists", source, list)
    seen: Counter[str] = Counter()
    out = []
    for i, raw in enumerate(lists):
        where = f"{source}: lists[{i}]"
        dataset = str(_field(raw, "dataset", where, (str, int)))
        where = f"{source}: recording {dataset!r} (lists[{i}])"
        events = _field(raw, "events", where, list)
        seen[dataset] += 1
        name = dataset if seen[dataset] == 1 else f"{dataset}#{seen[dataset]}"
        rng = raw.get("range")
        out.append(
            LabelRecording(
                name=name,
                dataset=dataset,
                index=i,
                range=None if rng is None else str(rng),
                note=str(raw.get("note") or ""),
                events=tuple(_parse_event(e, f"{where} events[{k}]") for k, e in enumerate(events)),
                source=source,
            )
        )
    names = [r.name for r in out]
    if len(set(names)) != len(names):  # e.g. a dataset literally named "X#2" next to two "X"
        dup = sorted(n for n, c in Counter(names).items() if c > 1)
        raise GroundTruthError(f"{source}: recording names not unique after suffixing: {dup}")
    return tuple(out)


def parse_aifi_ground_truth(path: str | Path) -> tuple[LabelRecording, ...]:
    """Parse an AiFi ground-truth file (the ``{"lists": [...]}`` format of AutoCheckout).

    Args:
        path: a ``ground_truth_*.json`` file of any store in that format.

    Returns:
        The labelled recordings in file order; repeated dataset names get ``#2``, ``#3``, ...

    Raises:
        GroundTruthError: the file is missing or not JSON, or a field is missing or mistyped;
            the message names the file, the recording, the event and the field.
    """
    p = Path(path)
    doc = read_json(p, GroundTruthError)
    return parse_aifi_ground_truth_document(doc, str(p))
