"""Weight-trace pictures of wrong receipt lines."""

from __future__ import annotations

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.eval.diagnosis import ReceiptError
from walkout.eval.traces import trace_png, write_traces
from walkout.io import load_embedded_store
from walkout.sim import random_scenario, simulate


def test_trace_png_is_written_for_a_true_event_and_skipped_without_one(tmp_path):
    store = load_embedded_store()
    rec, truth = simulate(random_scenario(store, 1, 40.0, 3), store, 3)
    result = Engine(demo_entry_desk()).run(rec)
    ev = truth.events[0]
    err = ReceiptError(rec.meta.name, ev.shopper, ev.upc, "x", "missing", 1, "missed event")
    path = trace_png(rec, truth, result, err, tmp_path / "a" / "t.png")
    assert path is not None and path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
    nobody = ReceiptError(rec.meta.name, ev.shopper, "no-such-upc", "x", "extra", 1, "spurious event")
    assert trace_png(rec, truth, result, nobody, tmp_path / "b.png") is None
    assert not (tmp_path / "b.png").exists()
    assert len(write_traces(rec, truth, result, [err, nobody, err], tmp_path / "c", limit=2)) == 1
