"""RunResult <-> JSON (``result.json`` written by ``walkout run``, read by ``walkout evaluate``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from walkout.carts.receipt import Receipt, ReceiptLine
from walkout.core.errors import RecordingError
from walkout.core.store import PlateId
from walkout.engine.result import Attribution, ReviewItem, RunResult, SessionInfo
from walkout.events.types import ShelfEvent
from walkout.io.jsonfile import read_json

RESULT_FORMAT = "walkout-result"
RESULT_VERSION = 1


def result_to_dict(r: RunResult) -> dict[str, Any]:
    """A JSON-ready dict of a RunResult."""
    return {
        "format": RESULT_FORMAT,
        "version": RESULT_VERSION,
        "recording": r.recording,
        "sessions": [vars(s) for s in r.sessions],
        "receipts": [
            {**{k: v for k, v in vars(rc).items() if k != "lines"}, "lines": [vars(line) for line in rc.lines]}
            for rc in r.receipts
        ],
        "shelf_events": [
            {**{k: v for k, v in vars(e).items() if k != "plates"}, "plates": [str(p) for p in e.plates]}
            for e in r.shelf_events
        ],
        "attributions": [vars(a) for a in r.attributions],
        "review": [vars(i) for i in r.review],
        "rejections": r.rejections,
        "stats": r.stats,
    }


def result_from_dict(doc: dict[str, Any], source: str = "result") -> RunResult:
    """Rebuild a RunResult; raises RecordingError naming ``source`` and the field on bad input."""
    if doc.get("format") != RESULT_FORMAT or doc.get("version") != RESULT_VERSION:
        raise RecordingError(f"{source}: field format/version: expected {RESULT_FORMAT!r} v{RESULT_VERSION}")
    try:
        return RunResult(
            recording=doc["recording"],
            sessions=tuple(SessionInfo(**s) for s in doc["sessions"]),
            receipts=tuple(
                Receipt(**{**{k: v for k, v in rc.items() if k != "lines"},
                           "lines": tuple(ReceiptLine(**ln) for ln in rc["lines"])})
                for rc in doc["receipts"]
            ),
            shelf_events=tuple(
                ShelfEvent(**{**{k: v for k, v in e.items() if k not in ("plates", "plate_delta_g")},
                              "plates": tuple(PlateId.parse(p) for p in e["plates"]),
                              "plate_delta_g": tuple(e["plate_delta_g"])})
                for e in doc["shelf_events"]
            ),
            attributions=tuple(
                Attribution(**{**a, "items": tuple(tuple(i) for i in a["items"]),
                               "alternatives": tuple(tuple(x) for x in a["alternatives"])})
                for a in doc["attributions"]
            ),
            review=tuple(ReviewItem(**i) for i in doc["review"]),
            rejections=dict(doc.get("rejections", {})),
            stats=dict(doc.get("stats", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{source}: invalid result document: {exc}") from exc


def write_result(r: RunResult, path: str | Path) -> Path:
    """Write ``result.json`` atomically."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(result_to_dict(r), indent=1))
    tmp.replace(p)
    return p


def read_result(path: str | Path) -> RunResult:
    """Read a ``result.json``; raises RecordingError naming the file."""
    p = Path(path)
    doc = read_json(p, RecordingError)
    return result_from_dict(doc, str(p))
