"""The live (dynamic) planogram: what is on each plate now, including misplaced items.

Starts from the store's operating planogram (facings with counts). A pick takes units from a
*source* (a facing, or misplaced units lying on some plates); a put-back adds units to the
product's own facing when it lands there, or records them as misplaced on the plates that
received the weight, so a later pick from those plates can be that product. Counts never go negative: a
pick the ledger did not expect is clamped and counted in ``unexpected_picks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from walkout.core.store import Facing, PlateId


@dataclass(frozen=True)
class Source:
    """Where units of a product can be taken from: a facing (index) or a misplaced plate."""

    upc: str
    plates: tuple[PlateId, ...]
    count: int
    facing: int | None = None

    @property
    def misplaced(self) -> bool:
        return self.facing is None


@dataclass(frozen=True)
class LivePlanogram:
    """Immutable live planogram; every update returns a new instance."""

    facings: tuple[Facing, ...]
    counts: tuple[int, ...]
    misplaced: tuple[tuple[tuple[PlateId, ...], str, int], ...] = ()
    unexpected_picks: int = 0
    _by_plate: dict[PlateId, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_facings(cls, facings: Iterable[Facing]) -> LivePlanogram:
        fs = tuple(facings)
        return cls(fs, tuple(f.count for f in fs))

    def _plate_map(self) -> dict[PlateId, tuple[int, ...]]:
        if not self._by_plate:
            m: dict[PlateId, list[int]] = {}
            for i, f in enumerate(self.facings):
                for p in f.plates:
                    m.setdefault(p, []).append(i)
            self._by_plate.update({k: tuple(v) for k, v in m.items()})
        return self._by_plate

    def sources_near(self, plates: Iterable[PlateId]) -> list[Source]:
        """Facings touching ``plates`` and misplaced units lying on them (counts may be 0)."""
        plates = set(plates)
        seen: set[int] = set()
        out: list[Source] = []
        pm = self._plate_map()
        for p in sorted(plates):
            for i in pm.get(p, ()):
                if i not in seen:
                    seen.add(i)
                    f = self.facings[i]
                    out.append(Source(f.upc, f.plates, self.counts[i], i))
        for where, upc, n in self.misplaced:
            if plates & set(where) and n > 0:
                out.append(Source(upc, where, n, None))
        return out

    def facing_of(self, upc: str) -> list[int]:
        """Indices of the facings of ``upc``."""
        return [i for i, f in enumerate(self.facings) if f.upc == upc]

    def take(self, source: Source, quantity: int) -> LivePlanogram:
        """Remove ``quantity`` units from ``source`` (clamped at zero)."""
        if source.facing is not None:
            counts = list(self.counts)
            have = counts[source.facing]
            counts[source.facing] = max(have - quantity, 0)
            return replace(self, counts=tuple(counts), unexpected_picks=self.unexpected_picks + max(quantity - have, 0),
                           _by_plate=self._by_plate)
        mis = []
        short = quantity
        for where, upc, n in self.misplaced:
            if short > 0 and upc == source.upc and set(where) & set(source.plates):
                used = min(n, short)
                short -= used
                n -= used
            if n > 0:
                mis.append((where, upc, n))
        return replace(self, misplaced=tuple(mis), unexpected_picks=self.unexpected_picks + short, _by_plate=self._by_plate)

    def landing(self, upc: str, plates: tuple[PlateId, ...]) -> tuple[int | None, PlateId]:
        """Where units of ``upc`` put on ``plates`` go: (the facing they rejoin, or None when they
        are misplaced; the plate their units are listed on in :meth:`stock_rows`).

        They rejoin a facing of ``upc`` when ``plates`` all lie within its plates (listed on the
        facing's first plate); otherwise they lie misplaced on exactly ``plates`` (listed on the
        lowest of them).
        """
        for i in self.facing_of(upc):
            if set(plates) <= set(self.facings[i].plates):
                return i, self.facings[i].plates[0]
        return None, min(plates)

    def put(self, upc: str, quantity: int, plates: tuple[PlateId, ...]) -> LivePlanogram:
        """Add ``quantity`` units of ``upc`` that landed on ``plates`` (see :meth:`landing`)."""
        facing, _ = self.landing(upc, plates)
        if facing is not None:
            counts = list(self.counts)
            counts[facing] += quantity
            return replace(self, counts=tuple(counts), _by_plate=self._by_plate)
        where = tuple(sorted(plates))
        mis = list(self.misplaced)
        for k, (w, u, n) in enumerate(mis):
            if w == where and u == upc:
                mis[k] = (w, u, n + quantity)
                break
        else:
            mis.append((where, upc, quantity))
        return replace(self, misplaced=tuple(mis), _by_plate=self._by_plate)

    def stock_rows(self) -> list[tuple[str, str, int]]:
        """(plate id "G.S.P", upc, units) rows: units are listed on the first plate they lie on."""
        total: dict[tuple[str, str], int] = {}
        for f, c in zip(self.facings, self.counts, strict=True):
            total[(str(f.plates[0]), f.upc)] = total.get((str(f.plates[0]), f.upc), 0) + c
        for w, u, n in self.misplaced:
            total[(str(w[0]), u)] = total.get((str(w[0]), u), 0) + n
        return [(plate, upc, n) for (plate, upc), n in total.items()]
