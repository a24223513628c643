"""One-to-one matching of the engine's shelf events to the true shelf events of a recording.

An engine :class:`~walkout.events.types.ShelfEvent` and a true
:class:`~walkout.eval.truth.TruthEvent` may match when they are on the same shelf (gondola and
shelf index), are of the same kind (pick or put-back), and the engine's settle time ``t_end_s``
is within ``tolerance_s`` of the true completion time ``t_s``. Among all one-to-one matchings of
such pairs the evaluator takes one with the most pairs and, among those, the least total time
difference (the Hungarian method, ``scipy.optimize.linear_sum_assignment``; Kuhn 1955).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from walkout.eval.truth import TruthEvent
from walkout.events.types import ShelfEvent

#: default time tolerance between an engine event's ``t_end_s`` and a true event's ``t_s``.
EVENT_TOLERANCE_S = 2.0
_EPS_S = 1e-9


@dataclass(frozen=True)
class EventMatching:
    """The result of matching engine shelf events to true events.

    Attributes:
        pairs: ``(engine event_id, index into the truth's events)`` of each matched pair, in
            true-event order.
        n_engine: number of engine shelf events considered.
        n_truth: number of true events considered.
        tolerance_s: the time tolerance used (seconds).
    """

    pairs: tuple[tuple[int, int], ...]
    n_engine: int
    n_truth: int
    tolerance_s: float = EVENT_TOLERANCE_S

    @property
    def matched(self) -> int:
        """Number of matched pairs."""
        return len(self.pairs)

    @property
    def precision(self) -> float:
        """Matched / engine events (1.0 when the engine reported no events)."""
        return ratio(self.matched, self.n_engine)

    @property
    def recall(self) -> float:
        """Matched / true events (1.0 when nothing happened)."""
        return ratio(self.matched, self.n_truth)

    @cached_property
    def truth_for_engine(self) -> dict[int, int]:
        """Engine event_id -> index of its matched true event."""
        return {e: t for e, t in self.pairs}

    @cached_property
    def engine_for_truth(self) -> dict[int, int]:
        """Index of a true event -> engine event_id matched to it."""
        return {t: e for e, t in self.pairs}


def ratio(num: int, den: int) -> float:
    """``num / den`` with the evaluator's convention that 0/0 = 1.0 (nothing to get wrong)."""
    return 1.0 if den == 0 else num / den


def _truth_shelves(event: TruthEvent) -> frozenset[tuple[int, int]]:
    return frozenset((p.gondola, p.shelf) for p in event.plates)


def _feasible(
    engine: Sequence[ShelfEvent], truth: Sequence[TruthEvent], tolerance_s: float
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """(E, T) mask of pairs that may match, and (E, T) absolute end-time differences in seconds.

    A pair may match when the engine's interval [t_start_s, t_end_s] and the true interval
    [t_start_s, t_s] overlap or lie within ``tolerance_s`` of each other (a hand resting on the
    shelf after the lift delays the settled time without changing the event)."""
    t_engine = np.array([e.t_end_s for e in engine], dtype=np.float64)
    s_engine = np.array([e.t_start_s for e in engine], dtype=np.float64)
    t_truth = np.array([t.t_s for t in truth], dtype=np.float64)
    s_truth = np.array([t.t_start_s for t in truth], dtype=np.float64)
    dt = np.abs(t_engine[:, None] - t_truth[None, :])
    gap = np.maximum(np.maximum(s_engine[:, None] - t_truth[None, :], s_truth[None, :] - t_engine[:, None]), 0.0)
    shelves = [_truth_shelves(t) for t in truth]
    same = np.array([[(e.gondola, e.shelf) in s for s in shelves] for e in engine], dtype=bool).reshape(dt.shape)
    kinds = np.array([[e.kind == t.kind for t in truth] for e in engine], dtype=bool).reshape(dt.shape)
    return same & kinds & (gap <= tolerance_s + _EPS_S), dt


def match_events(
    engine_events: Sequence[ShelfEvent],
    truth_events: Sequence[TruthEvent],
    tolerance_s: float = EVENT_TOLERANCE_S,
) -> EventMatching:
    """Match engine shelf events to true events one-to-one.

    Args:
        engine_events: the engine's shelf events (``RunResult.shelf_events``); times in seconds
            on the recording clock.
        truth_events: the true events (``GroundTruth.events``), same clock.
        tolerance_s: largest allowed gap in seconds between the engine's [t_start_s, t_end_s] and
            the truth's [t_start_s, t_s] (0 when they overlap).

    Returns:
        An :class:`EventMatching` with a maximum number of pairs and, among those, the least
        total time difference.

    Raises:
        ValueError: if ``tolerance_s`` is negative.
    """
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    from scipy.optimize import linear_sum_assignment  # lazy: keeps `import walkout.eval` cheap

    pairs: list[tuple[int, int]] = []
    if engine_events and truth_events:
        ok, dt = _feasible(engine_events, truth_events, tolerance_s)
        rows = np.flatnonzero(ok.any(axis=1))
        cols = np.flatnonzero(ok.any(axis=0))
        if rows.size:
            sub_ok = ok[np.ix_(rows, cols)]
            # An infeasible pair costs more than any set of feasible pairs, so the assignment
            # first maximises the number of feasible pairs, then minimises their time differences.
            penalty = tolerance_s * (min(rows.size, cols.size) + 1) + 1.0
            cost = np.where(sub_ok, dt[np.ix_(rows, cols)], penalty)
            r, c = linear_sum_assignment(cost)
            pairs = [(engine_events[rows[i]].event_id, int(cols[j])) for i, j in zip(r, c, strict=True) if sub_ok[i, j]]
    pairs.sort(key=lambda p: p[1])
    return EventMatching(tuple(pairs), len(engine_events), len(truth_events), tolerance_s)
