"""Walking paths through the open floor, around the gondolas (world frame, metres, xy only).

Each gondola's footprint (its backboard and shelves) is a rectangle in the gondola frame. A path
between two floor points is straight when that segment keeps ``margin_m`` away from every
footprint; otherwise it is the shortest path through the visibility graph of the inflated
rectangles' corners (Lozano-Pérez & Wesley 1979, "An algorithm for planning collision-free paths
among polyhedral obstacles"). Start or goal points inside an inflated footprint (a shopper
standing close to a shelf) ignore that footprint.

People standing on the floor are obstacles too when the caller names them (``avoid_xy``): each is
a square of half-size ``person_m`` (plus the margin), so a walker passes a shopper standing at a
shelf behind their back instead of walking through them, as people do.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import Store


def along_segments(seg_t0_s: NDArray[np.float64], seg_t1_s: NDArray[np.float64], seg_p0_m: NDArray[np.float64],
                   seg_p1_m: NDArray[np.float64], t_s: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Where a walker is at times ``t_s`` (n,) on consecutive timed straight segments (m,) from
    ``seg_p0_m`` to ``seg_p1_m`` (m, 2), metres, moving at constant speed from ``seg_t0_s`` to
    ``seg_t1_s`` (seconds): the segment index (n,) int64 of each time and the floor position
    (n, 2); times outside the segments take the nearest end."""
    k = np.clip(np.searchsorted(seg_t1_s, t_s, side="left"), 0, len(seg_t1_s) - 1)
    f = np.clip((t_s - seg_t0_s[k]) / np.maximum(seg_t1_s[k] - seg_t0_s[k], 1e-9), 0.0, 1.0)[:, None]
    return k, seg_p0_m[k] + f * (seg_p1_m[k] - seg_p0_m[k])


@dataclass(frozen=True)
class Footprint:
    """A gondola footprint: world-from-local 2D rotation and translation, local box (x0, y0, x1, y1)."""

    rot: NDArray[np.float64]
    origin: NDArray[np.float64]
    box: tuple[float, float, float, float]

    def to_local(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """World xy (..., 2) -> gondola-local xy (..., 2)."""
        return (xy - self.origin) @ self.rot

    def distance(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Distance (...,) from world points (..., 2) to the rectangle (0 inside)."""
        loc = self.to_local(xy)
        x0, y0, x1, y1 = self.box
        dx = np.maximum(np.maximum(x0 - loc[..., 0], loc[..., 0] - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - loc[..., 1], loc[..., 1] - y1), 0.0)
        return np.hypot(dx, dy)


def gondola_footprints(store: Store) -> tuple[Footprint, ...]:
    """Footprints of every gondola: the xy bounding box of its own box and its shelves' boxes."""
    out = []
    for g in store.gondolas:
        corners = [np.array([[0, 0], [g.size_m[0], 0], [0, g.size_m[1]], [g.size_m[0], g.size_m[1]]], float)]
        for s in store.shelves:
            if s.gondola != g.id:
                continue
            m = s.pose.matrix()
            sx, sy = s.size_m[0], s.size_m[1]
            local = np.array([[0, 0, 0, 1], [sx, 0, 0, 1], [0, sy, 0, 1], [sx, sy, 0, 1]], float)
            corners.append((local @ m.T)[:, :2])
        c = np.vstack(corners)
        w = g.pose.matrix()
        out.append(
            Footprint(
                rot=w[:2, :2].copy(),
                origin=w[:2, 3].copy(),
                box=(float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max())),
            )
        )
    return tuple(out)


def _segment_hits_box(a: NDArray[np.float64], b: NDArray[np.float64], box: tuple[float, float, float, float]) -> bool:
    """Liang-Barsky: does segment a-b (local frame) pass through the open box?"""
    t0, t1 = 0.0, 1.0
    d = b - a
    for p, q in ((-d[0], a[0] - box[0]), (d[0], box[2] - a[0]), (-d[1], a[1] - box[1]), (d[1], box[3] - a[1])):
        if abs(p) < 1e-12:
            if q <= 0:
                return False
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 >= t1:
            return False
    return True


class PathPlanner:
    """Shortest collision-free floor paths for one store.

    Args:
        store: the store (gondola footprints and floor extent).
        margin_m: clearance kept from every footprint.
        person_m: half-size of the square a standing person occupies (``path(avoid_xy=...)``);
            with the margin a walker passes at least ``person_m + margin_m`` from their centre.
    """

    def __init__(self, store: Store, margin_m: float = 0.25, person_m: float = 0.25) -> None:
        self.footprints = gondola_footprints(store)
        self.margin = margin_m
        self.person_m = person_m
        self.floor = store.floor_ltrb_m
        self.nodes = self._corners(self.footprints, self.footprints)
        self._vis = self._visibility(self.nodes, self.footprints)

    def _corners(self, of: tuple[Footprint, ...], obstacles: tuple[Footprint, ...]) -> NDArray[np.float64]:
        """Corners (n, 2) of the inflated footprints ``of`` that lie on the floor, outside every obstacle."""
        x0, y0, x1, y1 = self.floor
        nodes = []
        for fp in of:
            bx0, by0, bx1, by1 = fp.box
            m = self.margin + 0.02
            for lx, ly in ((bx0 - m, by0 - m), (bx1 + m, by0 - m), (bx0 - m, by1 + m), (bx1 + m, by1 + m)):
                w = fp.rot @ np.array([lx, ly]) + fp.origin
                if x0 <= w[0] <= x1 and y0 <= w[1] <= y1 and not self._inside_any(w, obstacles):
                    nodes.append(w)
        return np.array(nodes).reshape(-1, 2)

    def _visibility(self, nodes: NDArray[np.float64], obstacles: tuple[Footprint, ...]) -> NDArray[np.bool_]:
        n = len(nodes)
        vis = np.zeros((n, n), dtype=bool)
        for i in range(n):
            for j in range(i + 1, n):
                vis[i, j] = vis[j, i] = self._clear(nodes[i], nodes[j], obstacles)
        return vis

    def _inflated(self, fp: Footprint) -> tuple[float, float, float, float]:
        m = self.margin
        return (fp.box[0] - m, fp.box[1] - m, fp.box[2] + m, fp.box[3] + m)

    def _inside_any(self, xy: NDArray[np.float64], obstacles: tuple[Footprint, ...]) -> bool:
        return any(float(fp.distance(xy)) < self.margin for fp in obstacles)

    def _clear(self, a: NDArray[np.float64], b: NDArray[np.float64], obstacles: tuple[Footprint, ...]) -> bool:
        for fp in obstacles:
            if float(fp.distance(a)) < self.margin or float(fp.distance(b)) < self.margin:
                continue
            if _segment_hits_box(fp.to_local(a), fp.to_local(b), self._inflated(fp)):
                return False
        return True

    def clear(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
        """True if the segment a-b (world xy) keeps the margin from every footprint.

        Footprints whose inflated box contains a or b are ignored (standing close to a shelf).
        """
        return self._clear(a, b, self.footprints)

    def _people(self, avoid_xy: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]
                ) -> tuple[Footprint, ...]:
        """Person squares, each shrunk so that it leaves the start and the goal outside (a walker
        setting off next to somebody steps away from them as far as it can)."""
        out = []
        for xy in avoid_xy:
            near = min(float(np.max(np.abs(a - xy))), float(np.max(np.abs(b - xy))))
            r = min(self.person_m, near - self.margin - 0.03)
            if r >= 0.03:
                out.append(Footprint(rot=np.eye(2), origin=np.asarray(xy, float).copy(), box=(-r, -r, r, r)))
        return tuple(out)

    def path(
        self, a: NDArray[np.float64], b: NDArray[np.float64], avoid_xy: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """Waypoints (m, 2) from a to b inclusive (world xy, metres); straight if possible.

        Args:
            a: start (2,), world xy, metres.
            b: goal (2,).
            avoid_xy: (k, 2) floor positions of people standing still to walk around (a person
                close to the start or the goal gets a smaller square, so that the walker can set
                off or arrive next to them).
        """
        a, b = np.asarray(a, float), np.asarray(b, float)
        route = self._route(a, b, self.nodes, self._vis, self.footprints)
        if avoid_xy is None or len(avoid_xy) == 0:
            return route
        people = self._people(np.asarray(avoid_xy, float).reshape(-1, 2), a, b)
        if all(self._clear(p, q, people) for p, q in zip(route[:-1], route[1:], strict=True)):
            return route
        obstacles = self.footprints + people
        nodes = np.vstack([self.nodes[[not self._inside_any(w, people) for w in self.nodes]],
                           self._corners(people, obstacles)])
        return self._route(a, b, nodes, self._visibility(nodes, obstacles), obstacles)

    def _route(self, a: NDArray[np.float64], b: NDArray[np.float64], nodes: NDArray[np.float64],
               vis: NDArray[np.bool_], obstacles: tuple[Footprint, ...]) -> NDArray[np.float64]:
        """Dijkstra over the visibility graph ``nodes``/``vis`` plus a and b."""
        if self._clear(a, b, obstacles) or len(nodes) == 0:
            return np.vstack([a, b])
        n = len(nodes)
        pts = np.vstack([nodes, a, b])
        vis_a = np.array([self._clear(a, p, obstacles) for p in nodes] + [False, False])
        vis_b = np.array([self._clear(p, b, obstacles) for p in nodes] + [False, False])
        dist = np.full(n + 2, np.inf)
        prev = np.full(n + 2, -1)
        dist[n] = 0.0
        heap = [(0.0, n)]
        while heap:
            d, i = heapq.heappop(heap)
            if d > dist[i] or i == n + 1:
                continue
            nbrs = np.flatnonzero(vis_a) if i == n else np.r_[np.flatnonzero(vis[i]), [n + 1] if vis_b[i] else []]
            for j in nbrs.astype(int):
                nd = d + float(np.hypot(*(pts[j] - pts[i])))
                if nd < dist[j]:
                    dist[j], prev[j] = nd, i
                    heapq.heappush(heap, (nd, j))
        if not np.isfinite(dist[n + 1]):
            return np.vstack([a, b])  # no clear route (should not happen on an open floor): go straight
        route, i = [], n + 1
        while i != -1:
            route.append(pts[i])
            i = prev[i]
        return np.array(route[::-1])
