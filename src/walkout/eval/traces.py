"""Weight traces of the shelves where receipts went wrong: what the plates felt, what really
happened, and what the engine decided — one PNG per wrong receipt line.

A picture of a shelf event answers in seconds what a table of numbers does not: was the change
missed, merged with another, or given to the wrong shopper.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from walkout.engine.result import RunResult
from walkout.eval.diagnosis import ReceiptError
from walkout.eval.truth import GroundTruth, TruthEvent
from walkout.io.recording import Recording

MAX_PLATES = 6


def _event_for(error: ReceiptError, truth: GroundTruth) -> TruthEvent | None:
    for ev in truth.events:
        if ev.upc == error.upc and (error.shopper is None or ev.shopper == error.shopper):
            return ev
    for ev in truth.events:
        if ev.upc == error.upc:
            return ev
    return None


def _plate_series(rec: Recording, plate: int, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    s = rec.plates
    sel = (s.plate == plate) & (s.t_s >= t0) & (s.t_s <= t1)
    return s.t_s[sel], s.mass_g[sel].astype(np.float64)


def trace_png(rec: Recording, truth: GroundTruth, result: RunResult, error: ReceiptError, path: str | Path,
              pad_s: float = 4.0) -> Path | None:
    """Draw the plates of the shelf behind ``error`` around its true event and save a PNG.

    Args:
        rec: the recording (plate samples, store).
        truth: its ground truth (true events, drawn as green spans with labels).
        result: the engine's run (decided shelf events, drawn as orange spans with the decision).
        error: the wrong receipt line to illustrate.
        path: the PNG to write (parent directories are created).
        pad_s: seconds shown before and after the true event.

    Returns:
        The path written, or None if the error has no true event to show (e.g. a spurious unit).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ev = _event_for(error, truth)
    if ev is None:
        return None
    store = rec.store
    g, sh = ev.plates[0].gondola, ev.plates[0].shelf
    t0, t1 = ev.t_start_s - pad_s, ev.t_s + pad_s
    plates = [i for i, p in enumerate(store.plates) if (p.id.gondola, p.id.shelf) == (g, sh)]
    series = [(i, *_plate_series(rec, i, t0, t1)) for i in plates]
    moving = sorted(series, key=lambda x: -(np.ptp(x[2]) if x[2].size else 0.0))[:MAX_PLATES]
    fig = Figure(figsize=(10, 4.8), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for i, t, m in sorted(moving, key=lambda x: x[0]):
        if t.size:
            ax.plot(t, m - m[0], lw=1.0, label=f"plate {store.plates[i].id}")
    names = {p.upc: p.name for p in store.products}
    for tev in truth.events:
        if {(p.gondola, p.shelf) for p in tev.plates} == {(g, sh)} and tev.t_s >= t0 and tev.t_start_s <= t1:
            ax.axvspan(tev.t_start_s, tev.t_s, color="tab:green", alpha=0.15)
            ax.annotate(f"truth: {tev.kind} {tev.quantity}x {names.get(tev.upc, tev.upc)[:22]} by {tev.shopper[:20]}",
                        (tev.t_start_s, 0.97), xycoords=("data", "axes fraction"), fontsize=7, color="darkgreen",
                        va="top")
    decided = {a.event_id: a for a in result.attributions}
    key_of_token = {sh.token: sh.key for sh in truth.shoppers}
    who_of = {se.session_id: key_of_token.get(se.token, se.session_id) for se in result.sessions}
    for sev in result.shelf_events:
        if (sev.gondola, sev.shelf) == (g, sh) and sev.t_end_s >= t0 and sev.t_start_s <= t1:
            a = decided.get(sev.event_id)
            what = " + ".join(f"{q}x {names.get(u, u)[:18]}" for u, q in a.items) if a and a.items else "unknown"
            who = who_of.get(a.session_id, a.session_id)[:20] if a and a.session_id else "nobody"
            ax.axvspan(sev.t_start_s, sev.t_end_s, color="tab:orange", alpha=0.15)
            ax.annotate(f"engine: {sev.kind} {what} -> {who} ({sev.delta_g:+.0f} g)", (sev.t_start_s, 0.05),
                        xycoords=("data", "axes fraction"), fontsize=7, color="saddlebrown")
    ax.set_xlim(t0, t1)
    ax.set_xlabel("t (s, recording clock)")
    ax.set_ylabel("change since window start (g)")
    ax.set_title(f"{error.recording} · shelf {g}.{sh} · {error.kind} {error.quantity}x {error.name[:30]} · {error.cause[:60]}",
                 fontsize=9)
    ax.legend(fontsize=7, loc="center right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig).print_png(str(out))
    return out


def write_traces(rec: Recording, truth: GroundTruth, result: RunResult, errors: Sequence[ReceiptError],
                 out_dir: str | Path, limit: int = 20) -> list[Path]:
    """One trace PNG per wrong receipt line of one recording (at most ``limit``)."""
    written = []
    for k, err in enumerate(errors[:limit]):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in err.recording)
        path = trace_png(rec, truth, result, err, Path(out_dir) / f"{safe}_{k + 1}_{err.kind}_{err.upc}.png")
        if path is not None:
            written.append(path)
    return written
