"""Gate line crossings of linked persons (entry inward, exit outward), with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from walkout.core.store import Gate
from walkout.perception.people.linker import People


@dataclass(frozen=True)
class GateCrossing:
    """A person crossing a gate line: ``kind`` entry (inward) or exit (outward) at ``t_s``."""

    kind: Literal["entry", "exit"]
    gate_id: str
    person: int
    t_s: float


def _side_and_along(gate: Gate, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(gate.a_xy_m)
    b = np.asarray(gate.b_xy_m)
    u = (b - a) / np.linalg.norm(b - a)
    n = np.array([-u[1], u[0]])
    if np.dot(n, gate.inward_xy) < 0:
        n = -n
    rel = xy - a
    return rel @ n, (rel @ u) / np.linalg.norm(b - a)


def detect_crossings(people: People, gates: tuple[Gate, ...], hysteresis_m: float = 0.15,
                     margin: float = 0.2) -> list[GateCrossing]:
    """Entry and exit crossings of every person, sorted by time.

    A person counts as having entered when their head goes from at least ``hysteresis_m``
    outside an entry line to at least ``hysteresis_m`` inside, within the gate's extent
    (``margin`` as a fraction of the gate length on either end); exits mirror that on exit lines,
    and only for persons who are inside. A person first seen already on the outside of an entry
    line (closer than ``hysteresis_m``: the cameras picked them up late, or they stood at the
    scanner while someone else was in the way) is armed as if seen farther out.

    Args:
        people: linked persons.
        gates: the store's gates.

    Returns:
        crossings sorted by ``t_s``.
    """
    out: list[GateCrossing] = []
    for pid in people.ids():
        rows = np.flatnonzero(people.person == pid)
        t = people.obs.t_s[rows]
        xy = people.obs.head_xyz_m[rows, :2].astype(np.float64)
        inside = False
        sides = {g.id: _side_and_along(g, xy) for g in gates}
        armed = {g.id: bool(len(rows)) and g.kind == "entry" and sides[g.id][0][0] < 0
                 and -margin <= sides[g.id][1][0] <= 1 + margin for g in gates}
        for i in range(len(rows)):
            for g in gates:
                side, along = sides[g.id]
                if not (-margin <= along[i] <= 1 + margin):
                    continue
                want_out = g.kind == "entry"
                if (side[i] < -hysteresis_m) if want_out else (side[i] > hysteresis_m):
                    armed[g.id] = True
                elif armed[g.id] and ((side[i] > hysteresis_m) if want_out else (side[i] < -hysteresis_m)):
                    armed[g.id] = False
                    if g.kind == "entry" and not inside:
                        inside = True
                        out.append(GateCrossing("entry", g.id, int(pid), float(t[i])))
                    elif g.kind == "exit" and inside:
                        inside = False
                        out.append(GateCrossing("exit", g.id, int(pid), float(t[i])))
    return sorted(out, key=lambda c: c.t_s)
