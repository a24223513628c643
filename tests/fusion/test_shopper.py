"""Who did it: attribution between people standing side by side when no hand is seen."""

from __future__ import annotations

import numpy as np

from walkout.core.frames import PersonObservations
from walkout.core.store import PlateId
from walkout.events.types import ShelfEvent
from walkout.fusion.shopper import attribute_shopper
from walkout.perception.people.linker import link_people


def _two_people_no_hands(reacher_xy: tuple[float, float], neighbour_xy: tuple[float, float]) -> PersonObservations:
    t = np.repeat(np.arange(0.0, 4.0, 1 / 15), 2)
    tid = np.tile([1, 2], len(t) // 2).astype(np.int64)
    head = np.where(tid[:, None] == 1, [*reacher_xy, 1.55], [*neighbour_xy, 1.60]).astype(np.float32)
    nan = np.full_like(head, np.nan)  # a hand in a low shelf: neither hand is seen
    return PersonObservations(t, tid, head, nan, nan.copy())


def test_with_no_hand_seen_the_person_standing_at_the_plate_is_the_likely_one(store):
    plate = PlateId.parse("1.2.12")
    front = store.plate_front_m(plate)
    ev = ShelfEvent(0, plate.gondola, plate.shelf, 1.5, 2.5, (plate,), (-150.0,))
    # the reacher's head 0.33 m from the plate front, a neighbour's 0.6 m to the side (0.7 m away)
    reacher = (float(front[0]) + 0.08, float(front[1]) - 0.32)
    neighbour = (reacher[0] + 0.6, reacher[1] - 0.05)
    people = link_people(_two_people_no_hands(reacher, neighbour))
    prob = attribute_shopper(ev, store, people)
    who = {int(people.person[people.obs.track_id == k][0]): k for k in (1, 2)}
    by_track = {who[pid]: p for pid, p in prob.items() if pid >= 0}
    assert by_track[1] > 0.85 > by_track[2]


def test_someone_whose_seen_hand_is_in_another_shelf_is_not_the_one_reaching_here(store):
    plate = PlateId.parse("2.1.4")  # the lowest shelf: a hand reaching in is not seen
    front = store.plate_front_m(plate)
    ev = ShelfEvent(0, plate.gondola, plate.shelf, 1.5, 2.5, (plate,), (-150.0,))
    a = (float(front[0]) - 0.35, float(front[1]) - 0.3)  # both heads equally near the plate
    b = (float(front[0]) + 0.35, float(front[1]) - 0.3)
    obs = _two_people_no_hands(a, b)
    left = obs.left_hand_xyz_m.copy()
    busy = (obs.track_id == 2) & (obs.t_s > 1.5) & (obs.t_s < 3.0)
    left[busy] = [b[0] - 0.1, float(front[1]) + 0.05, 1.2]  # b's left hand is in a shelf 0.9 m higher
    people = link_people(PersonObservations(obs.t_s, obs.track_id, obs.head_xyz_m, left, obs.right_hand_xyz_m))
    prob = attribute_shopper(ev, store, people)
    by_track = {int(people.obs.track_id[people.person == pid][0]): p for pid, p in prob.items() if pid >= 0}
    assert by_track[1] > 0.8 > by_track[2]
