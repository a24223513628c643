"""Sessions at the gates: scans, entries, groups, double scans, staff, exits.

The rules (the store's, as the product seeds describe them):

- A scan of a valid entry token opens a session for the next person who walks through the entry
  line within :attr:`GateParams.scan_link_window_s`; a scan nobody follows expires.
- The same account scanning again for each companion makes a group: every person who enters on
  one of those scans joins the account's open session (one payer, one cart). Companions leave
  whenever they like; the session ends when its last member leaves.
- A second scan by someone already inside (a member of the account's open session stands at the
  scanner on the inside and nobody else waits outside) deletes the session if its cart is empty
  and is refused otherwise.
- A staff badge opens a ``staff`` session: an associate restocking or facing; their shelf events
  move stock and never charge anyone.

Which person stands at the scanner comes from the linked person tracks at the scan time (the
scanner sits on the entry line); no ground truth, no faces.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from walkout.carts.cart import Cart
from walkout.carts.entry import EntryVerdict
from walkout.core.geometry import segment_distance_m
from walkout.core.store import Gate
from walkout.perception.people.linker import People


class EntryVerifier(Protocol):
    """Verifies what the entry scanner read (implemented by :class:`walkout.carts.entry.EntryDesk`)."""

    def verify(self, token: str, now_unix_s: float) -> EntryVerdict: ...


@dataclass(frozen=True)
class GateParams:
    """Gate rules.

    Attributes:
        scan_link_window_s: a scan opens a session (or adds a companion) for the next person
            crossing the entry line within this many seconds; later, it expires.
        scanner_reach_m: a person within this distance of the entry line segment, at the scan
            time, stands at the scanner.
    """

    scan_link_window_s: float = 20.0
    scanner_reach_m: float = 1.2


@dataclass
class Session:
    """A live session: one payer account, one cart, one or more persons (a group).

    Attributes:
        members: person id -> member number (0 = the first person in; the payer's scan).
        inside: persons of the group still in the store.
        kind: ``customer`` or ``staff``.
    """

    session_id: str
    account_id: str
    token: str
    kind: Literal["customer", "staff"]
    entry_t_s: float
    members: dict[int, int] = field(default_factory=dict)
    inside: set[int] = field(default_factory=set)
    exit_t_s: float | None = None
    deleted: bool = False
    cart: Cart = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.exit_t_s is None and not self.deleted


@dataclass(frozen=True)
class PendingScan:
    """An admitted scan waiting for its person to walk through the entry line."""

    t_s: float
    gate_id: str
    token: str
    verdict: EntryVerdict


@dataclass
class GateState:
    """Sessions and scans of one recording (mutable; owned by the engine loop)."""

    sessions: dict[str, Session] = field(default_factory=dict)
    by_person: dict[int, str] = field(default_factory=dict)
    pending: list[PendingScan] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)


def scanner_persons(people: People, gate: Gate, t_s: float, reach_m: float, window_s: float = 0.4
                    ) -> list[tuple[int, float]]:
    """Persons standing at a gate's scanner at ``t_s``: (person id, signed distance to the line).

    Args:
        people: linked persons.
        gate: the gate (its line a-b on the floor, ``inward_xy`` pointing into the store).
        t_s: the scan time, seconds on the recording clock.
        reach_m: how far from the line segment (m) counts as "at the scanner".
        window_s: observations within this many seconds of ``t_s`` are used (the nearest one).

    Returns:
        [(person, inward distance in metres; > 0 inside the store)], nearest to the line first.
    """
    rows = people.rows_between(t_s - window_s, t_s + window_s)
    if rows.stop <= rows.start:
        return []
    pid = people.person[rows]
    xy = people.obs.head_xyz_m[rows, :2].astype(np.float64)
    dt = np.abs(people.obs.t_s[rows] - t_s)
    n = np.asarray(gate.inward_xy, float) / np.linalg.norm(gate.inward_xy)
    dist = segment_distance_m(xy, gate.a_xy_m, gate.b_xy_m)
    inward = (xy - np.asarray(gate.a_xy_m, float)) @ n
    best: dict[int, tuple[float, float]] = {}
    for p, d, w, e in zip(pid.tolist(), dist.tolist(), inward.tolist(), dt.tolist(), strict=True):
        if d <= reach_m and (p not in best or e < best[p][0]):
            best[p] = (e, w)
    return sorted(((p, w) for p, (_, w) in best.items()), key=lambda x: abs(x[1]))


def is_double_scan(state: GateState, people: People, gate: Gate, t_s: float, account_id: str,
                   params: GateParams) -> Session | None:
    """The account's open session if this scan is a second scan by one of its members already inside.

    That is: a member of the account's open customer session stands at the scanner on the inside,
    and nobody who belongs to no session waits at it on the outside (else the scan is for a
    companion about to walk in).
    """
    open_sessions = [s for s in state.sessions.values() if s.live and s.account_id == account_id and s.kind == "customer"]
    if not open_sessions:
        return None
    at_scanner = scanner_persons(people, gate, t_s, params.scanner_reach_m)
    waiting_outside = any(w < 0 and p not in state.by_person for p, w in at_scanner)
    if waiting_outside:
        return None
    for s in open_sessions:
        if any(w > 0 and p in s.inside for p, w in at_scanner):
            return s
    return None
