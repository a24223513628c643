"""Ground truth: what really happened in a (simulated) recording. Read only by walkout.eval.

The simulator writes it next to a recording (``<name>.truth.json``), never inside it; the engine
never sees it (an import-linter contract enforces this).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from walkout.core.errors import GroundTruthError
from walkout.core.store import PlateId
from walkout.io.jsonfile import read_json

TRUTH_FORMAT = "walkout-truth"
TRUTH_FORMAT_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TruthShopper(_Frozen):
    """A simulated shopper: the label's ``target_id`` and the token that admitted them at entry.

    A companion (``payer`` set) entered on the payer's app; whatever they take belongs on the
    payer's receipt. ``rescan`` says the shopper scanned again from inside (``"empty"``: their
    session was deleted; they left without shopping).
    """

    key: str = Field(description="shopper key, e.g. the AiFi target_id")
    token: str = Field(description="the token (app QR or staff badge) that admitted them at the entry gate")
    role: Literal["customer", "associate"] = "customer"
    entry_t_s: float
    exit_t_s: float
    height_m: float
    account_id: str = ""
    payer: str | None = Field(default=None, description="key of the group's payer, for a companion")
    rescan: Literal["empty", "with_items"] | None = None


class TruthEvent(_Frozen):
    """A shelf event that really happened.

    ``t_s`` is when the weight change was complete (the item left or reached the plate);
    ``t_start_s`` when the hand first touched the shelf for it; ``t_settled_s`` (simulated
    recordings) when its plates' readings had settled: the oscillation after the change decayed
    and any hand leaning on them lifted.
    """

    kind: Literal["pick", "putback"]
    upc: str
    quantity: int = Field(ge=1)
    plates: tuple[PlateId, ...]
    shopper: str
    t_start_s: float
    t_s: float
    label_event_id: int | None = None
    misplaced: bool = False
    t_settled_s: float | None = None


class SkippedLabel(_Frozen):
    """A label the simulator could not replay (e.g. unknown product), and why."""

    label_event_id: int
    reason: str


class GroundTruth(_Frozen):
    """Everything the evaluator needs about one recording."""

    recording: str
    seed: int
    shoppers: tuple[TruthShopper, ...]
    events: tuple[TruthEvent, ...]
    skipped_labels: tuple[SkippedLabel, ...] = ()


def write_truth(truth: GroundTruth, path: str | Path) -> Path:
    """Write a ground-truth file atomically."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps({"format": TRUTH_FORMAT, "version": TRUTH_FORMAT_VERSION, **truth.model_dump(mode="json")}, indent=1))
    tmp.replace(p)
    return p


def read_truth(path: str | Path) -> GroundTruth:
    """Read a ground-truth file; raises GroundTruthError naming the file and field."""
    p = Path(path)
    doc = read_json(p, GroundTruthError)
    if not isinstance(doc, dict) or doc.get("format") != TRUTH_FORMAT or doc.get("version") != TRUTH_FORMAT_VERSION:
        raise GroundTruthError(f"{p}: field format/version: expected {TRUTH_FORMAT!r} version {TRUTH_FORMAT_VERSION}")
    body = {k: v for k, v in doc.items() if k not in ("format", "version")}
    try:
        return GroundTruth.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise GroundTruthError(f"{p}: field {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
