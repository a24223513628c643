"""Simulator parameters: frozen dataclasses with documented defaults.

Every number the simulator draws from comes from one of these, so a recording is fully described
by ``(scenario, store, seed, SimParams)``. Ranges are ``(low, high)`` tuples sampled uniformly.

Sources of the defaults: the brief of the walkout simulator (load-cell noise, drift, ringing,
hand pressure and resting items as observed on the AiFi Nanostore plates, which were sampled at
about 60 Hz and reported grams, NOTES.md), and typical ceiling-tracker behaviour (15 Hz, a few
centimetres of head jitter, hands lost near shelves, identity switches on close encounters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from walkout.sim.phone import PhoneCameraParams

Range = tuple[float, float]


def _check_range(name: str, r: Range, low: float = 0.0) -> None:
    if len(r) != 2 or not (low <= r[0] <= r[1]):
        raise ValueError(f"{name}: expected (low, high) with {low} <= low <= high, got {r}")


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p}")


@dataclass(frozen=True)
class StockParams:
    """The physical units on the shelves.

    Attributes:
        mass_rel_sigma: unit-to-unit mass spread, 1 sigma as a fraction of the nominal mass
            (``mass = nominal * (1 + N(0, sigma))``).
        mass_clip_sigma: unit masses are clipped to ``nominal * (1 +/- clip * sigma)``.
        span_prob: probability that a unit of a multi-plate facing lies across two adjacent plates.
        split_min_frac: minimum share of a unit's weight on each plate it spans.
    """

    mass_rel_sigma: float = 0.015
    mass_clip_sigma: float = 3.0
    span_prob: float = 0.5
    split_min_frac: float = 0.2

    def __post_init__(self) -> None:
        if self.mass_rel_sigma < 0 or self.mass_clip_sigma < 0:
            raise ValueError("StockParams: mass spreads must be >= 0")
        _check_prob("StockParams.span_prob", self.span_prob)
        if not 0.0 <= self.split_min_frac <= 1.0 / 3.0:
            raise ValueError(f"StockParams.split_min_frac: expected [0, 1/3], got {self.split_min_frac}")


@dataclass(frozen=True)
class LoadCellParams:
    """Plate (load cell) signal model.

    Attributes:
        rate_hz: sampling rate, one shared clock for every plate.
        noise_sigma_g: white noise, 1 sigma.
        drift_max_g_per_10min: the slow drift changes by at most this much over any 10 minutes
            (a slow sinusoid per plate with a random amplitude and phase, zero at t = 0: the
            plates are tared when the recording starts).
        drift_period_s: range of the drift sinusoid's period.
        ring_freq_hz: frequency range of the damped oscillation after a pick or place.
        ring_settle_s: range of the time for the oscillation to decay to ~2% (4 time constants).
        ring_amp_frac: range of the initial oscillation amplitude as a fraction of the weight change.
        min_reading_g: the oscillation is capped so the settled level minus its amplitude never
            goes below this (a recording reader rejects readings below -50 g as impossible).
        touch_fluct_frac: relative fluctuation of a hand's pressure while it leans on a plate.
        rest_fluct: absolute fluctuation (fraction of the item) of a resting item's load.
    """

    rate_hz: float = 60.0
    noise_sigma_g: float = 1.5
    drift_max_g_per_10min: float = 3.0
    drift_period_s: Range = (1200.0, 3600.0)
    ring_freq_hz: Range = (1.0, 4.0)
    ring_settle_s: Range = (0.3, 1.5)
    ring_amp_frac: Range = (0.0, 0.4)
    min_reading_g: float = -30.0
    touch_fluct_frac: float = 0.15
    rest_fluct: float = 0.08

    def __post_init__(self) -> None:
        if self.rate_hz <= 0 or self.noise_sigma_g < 0 or self.drift_max_g_per_10min < 0:
            raise ValueError("LoadCellParams: rate_hz must be > 0, noise and drift >= 0")
        for name in ("drift_period_s", "ring_freq_hz", "ring_settle_s", "ring_amp_frac"):
            _check_range(f"LoadCellParams.{name}", getattr(self, name))
        if self.ring_settle_s[0] <= 0 or self.drift_period_s[0] <= 0:
            raise ValueError("LoadCellParams: settle time and drift period must be > 0")


@dataclass(frozen=True)
class PeopleParams:
    """Ceiling person tracker model (what an external tracker would report).

    Attributes:
        rate_hz: frame rate of the person observations.
        height_m: range of shopper heights.
        head_below_top_m: the head point lies this far below the top of the head.
        bob_m: vertical head bob amplitude while walking.
        step_hz: walking step frequency (head bob and hand swing).
        hand_rest_side_m: resting hands sit this far left/right of the body centre.
        hand_rest_z_m: height of resting hands.
        hand_swing_m: fore-aft hand swing amplitude while walking.
        reach_inside_m: a reaching hand stops this far inside the shelf front edge.
        head_sigma_m: head position noise, 1 sigma per axis.
        hand_sigma_m: hand position noise, 1 sigma per axis.
        drop_prob: probability that an observation row is dropped.
        hand_missing_frac: fraction of frames a hand is missing (NaN) while near a shelf.
        hand_missing_run_frames: mean length of a run of missing hand frames.
        near_shelf_m: "near a shelf" means the body is within this distance of a gondola footprint.
        swap_distance_m: two tracks may swap ids when their bodies come this close.
        swap_prob: probability that an encounter swaps the two track ids (from then on).
    """

    rate_hz: float = 15.0
    height_m: Range = (1.50, 1.95)
    head_below_top_m: float = 0.12
    bob_m: float = 0.02
    step_hz: float = 1.8
    hand_rest_side_m: float = 0.25
    hand_rest_z_m: float = 0.8
    hand_swing_m: float = 0.06
    reach_inside_m: float = 0.05
    head_sigma_m: float = 0.03
    hand_sigma_m: float = 0.06
    drop_prob: float = 0.05
    hand_missing_frac: float = 0.20
    hand_missing_run_frames: float = 4.0
    near_shelf_m: float = 0.8
    swap_distance_m: float = 0.6
    swap_prob: float = 0.3

    def __post_init__(self) -> None:
        if self.rate_hz <= 0:
            raise ValueError("PeopleParams.rate_hz must be > 0")
        _check_range("PeopleParams.height_m", self.height_m, 0.5)
        for name in ("drop_prob", "swap_prob"):
            _check_prob(f"PeopleParams.{name}", getattr(self, name))
        if not 0.0 <= self.hand_missing_frac < 1.0 or self.hand_missing_run_frames < 1.0:
            raise ValueError("PeopleParams: hand_missing_frac in [0, 1), hand_missing_run_frames >= 1")


@dataclass(frozen=True)
class ShopperParams:
    """Shopper behaviour, used by the scheduler and by :func:`random_scenario`.

    Attributes:
        speed_mps: walking speed range (one speed per shopper, +/-10% per segment).
        stand_off_m: a shopper stands this far in front of the shelf front edge.
        stand_lateral_m: and this far (at most) sideways of the plate.
        personal_space_m: nobody stands closer than this to another shopper who is standing at a
            shelf; a shopper whose spot is taken stands beside them (up to two ``side_step_m``
            sideways) or waits until it is free.
        side_step_m: how far a shopper steps sideways along the shelf when their spot is taken.
        reach_clear_m: a spot is taken, too, when the reach from it to the shelf would come closer
            than this to the reach of somebody standing there (floor plane, centre lines):
            people do not reach across somebody who is reaching.
        pass_clear_m: a walker passes nobody closer than this (centre to centre); the closest
            approach is bent aside when the routes the scheduler planned would come closer.
        avoid_slack_s: a walker steps around every shopper who stands at a shelf at any time
            from the start of the walk to this long after its planned arrival.
        pause_s: pause between arriving at a shelf and reaching.
        first_appear_s: when the first shopper appears outside the entry gate.
        stagger_s: delay between consecutive shoppers' appearances (AiFi replays).
        scan_fumble_s: time at the gate scanner before the token is read.
        scan_before_cross_s: the token is scanned this long before the shopper crosses the entry.
        exit_linger_s: a shopper disappears this long after crossing the exit line.
        reach_s: one-way hand travel time between body and shelf.
        grasp_s: time the hand spends at the shelf before the item starts to move (pick).
        place_delay_s: time from touching the shelf to the item starting to land (put-back).
        lift_s: duration of the weight ramp while an item leaves or reaches a plate.
        release_s: time the hand stays at the shelf after the weight change is complete.
        second_hand_lag_s: lag of the second hand in a two-product event.
        rest_prob: probability that a picked item rests on the plate before it is lifted.
        rest_s: how long it rests.
        rest_frac: share of the item's weight the plate carries while it rests.
        touch_prob: probability that the hand leans on the shelf during a reach.
        touch_g: extra weight of a leaning hand.
        touch_s: how long it leans.
        resource_gap_s: gap between two shoppers' events on the same shelf or product.
        browse_stops: number of shelf stops of a shopper who takes nothing.
        events_per_shopper: (random scenarios) range of the number of events per shopper.
        putback_prob: (random) probability that an event puts back a held item.
        wrong_place_prob: (random) probability that a put-back goes to a wrong plate or shelf.
        wrong_shelf_prob: (random) given a wrong place, probability it is another shelf.
        multi_unit_prob: (random) probability that a pick takes 2-3 units at once.
        two_product_prob: (random) probability of a two-handed pick of two products.
        misplaced_pick_prob: (random) probability of picking up a known misplaced unit.
        event_estimate_s: (random) planning estimate of one event's duration incl. walking.
    """

    speed_mps: Range = (0.8, 1.4)
    stand_off_m: Range = (0.35, 0.5)
    stand_lateral_m: float = 0.1
    personal_space_m: float = 0.55
    side_step_m: float = 0.2
    reach_clear_m: float = 0.15
    pass_clear_m: float = 0.5
    avoid_slack_s: float = 1.0
    pause_s: Range = (0.5, 3.0)
    first_appear_s: Range = (0.3, 1.0)
    stagger_s: Range = (0.5, 3.0)
    scan_fumble_s: Range = (0.2, 0.8)
    scan_before_cross_s: Range = (0.5, 2.0)
    exit_linger_s: Range = (0.9, 1.1)
    reach_s: Range = (0.4, 0.8)
    grasp_s: Range = (0.2, 0.6)
    place_delay_s: Range = (0.05, 0.3)
    lift_s: Range = (0.1, 0.3)
    release_s: Range = (0.1, 0.4)
    second_hand_lag_s: Range = (0.1, 1.0)
    rest_prob: float = 0.15
    rest_s: Range = (2.0, 6.0)
    rest_frac: Range = (0.3, 0.9)
    touch_prob: float = 0.25
    touch_g: Range = (50.0, 800.0)
    touch_s: Range = (0.2, 3.0)
    resource_gap_s: Range = (0.3, 1.0)
    browse_stops: tuple[int, int] = (1, 2)
    events_per_shopper: tuple[int, int] = (3, 10)
    putback_prob: float = 0.2
    wrong_place_prob: float = 0.3
    wrong_shelf_prob: float = 0.4
    multi_unit_prob: float = 0.1
    two_product_prob: float = 0.08
    misplaced_pick_prob: float = 0.3
    event_estimate_s: float = 7.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if name.endswith("_prob"):
                _check_prob(f"ShopperParams.{name}", v)
            elif isinstance(v, tuple):
                _check_range(f"ShopperParams.{name}", v)
        if self.speed_mps[0] <= 0 or self.reach_s[0] <= 0 or self.lift_s[0] <= 0 or self.event_estimate_s <= 0:
            raise ValueError("ShopperParams: speed, reach time and event estimate must be > 0")


@dataclass(frozen=True)
class DepthParams:
    """Ceiling RGB-D units (depth plus registered colour) and the bodies they see.

    The sensor defaults describe an active-stereo unit of the Intel RealSense D4xx class: depth
    noise growing with the square of the distance (stereo depth error is proportional to z^2 /
    (focal length x baseline); Intel's D400 datasheet quotes < 2% RMS error at 2 m), no return at
    depth edges and in small holes, and occasionally a dropped frame.

    Attributes:
        width_px, height_px: image size of every unit (each calibration's normalised K is scaled
            to it, so a 16:9 calibration gives non-square pixels at 320x240).
        fps: frame rate; frame k is at t = k / fps seconds.
        noise_k_per_m: depth noise, 1 sigma = ``noise_k_per_m * z**2`` metres for a depth of z
            metres (0.004 gives 2.5 cm, 1% of the range, at 2.5 m and 4 mm at 1 m).
        min_range_m, max_range_m: nearer or farther surfaces read 0 (no return).
        hole_frac: expected share of pixels lost to small holes (3x3 crosses, 5x5 discs), per frame.
        edge_step_m: two neighbouring pixels whose true depths differ by more than this form a
            depth edge.
        edge_drop_prob: probability that a pixel at a depth edge (either side) has no return.
        drop_frame_prob: probability that a unit drops a frame (``valid`` False, pixels 0).
        rgb_sigma: colour noise, 1 sigma in 8-bit levels.
        bank_frames: noisy empty-store frames precomputed per unit and reused (picked at random)
            for every frame, so frames with nobody in view cost one copy.
        empty_store_frames: frames per unit returned by ``empty_store()``.
        shelf_board_m: thickness of a shelf board, below the shelf's plate surface.
        build: range of a shopper's girth factor (torso and limb radii, shoulder width).
        long_sleeve_prob: probability that a shopper's forearms are clothed (else bare skin).
    """

    width_px: int = 320
    height_px: int = 240
    fps: float = 15.0
    noise_k_per_m: float = 0.004
    min_range_m: float = 0.3
    max_range_m: float = 10.0
    hole_frac: float = 0.015
    edge_step_m: float = 0.05
    edge_drop_prob: float = 0.5
    drop_frame_prob: float = 0.005
    rgb_sigma: float = 2.0
    bank_frames: int = 8
    empty_store_frames: int = 10
    shelf_board_m: float = 0.03
    build: Range = (0.85, 1.2)
    long_sleeve_prob: float = 0.5

    def __post_init__(self) -> None:
        if self.width_px < 8 or self.height_px < 8 or self.fps <= 0:
            raise ValueError(
                f"DepthParams: image >= 8x8 px and fps > 0, got {self.width_px}x{self.height_px} at {self.fps}"
            )
        if self.noise_k_per_m < 0 or self.rgb_sigma < 0 or self.edge_step_m <= 0 or self.shelf_board_m <= 0:
            raise ValueError("DepthParams: noise_k_per_m, rgb_sigma >= 0; edge_step_m, shelf_board_m > 0")
        _check_range("DepthParams.range_m", (self.min_range_m, self.max_range_m))
        _check_range("DepthParams.build", self.build, 0.1)
        if not 0.0 <= self.hole_frac < 0.5:
            raise ValueError(f"DepthParams.hole_frac: expected [0, 0.5), got {self.hole_frac}")
        for name in ("edge_drop_prob", "drop_frame_prob", "long_sleeve_prob"):
            _check_prob(f"DepthParams.{name}", getattr(self, name))
        if self.bank_frames < 1 or self.empty_store_frames < 1:
            raise ValueError("DepthParams: bank_frames and empty_store_frames must be >= 1")


@dataclass(frozen=True)
class GateSimParams:
    """The entry gate: the app's QR code and the reader's camera.

    Attributes:
        shown_for_s: how long the app has been showing the current token when it is scanned
            (tokens rotate every 30 s, so this stays under the 30 s lifetime).
        expired_age_s: the age of an expired token (an old screenshot).
        camera: the reader's camera looking at the phone screen (:class:`walkout.sim.phone.PhoneCameraParams`).
    """

    shown_for_s: tuple[float, float] = (0.0, 25.0)
    expired_age_s: tuple[float, float] = (45.0, 600.0)
    camera: PhoneCameraParams = field(default_factory=PhoneCameraParams)


@dataclass(frozen=True)
class SimParams:
    """All simulator parameters, grouped.

    ``start_unix_s`` is the wall-clock time at the recording's t = 0 (2026-01-01T00:00:00Z by
    default); entry tokens carry wall-clock issue times.
    """

    stock: StockParams = field(default_factory=StockParams)
    load_cell: LoadCellParams = field(default_factory=LoadCellParams)
    people: PeopleParams = field(default_factory=PeopleParams)
    shopper: ShopperParams = field(default_factory=ShopperParams)
    depth: DepthParams = field(default_factory=DepthParams)
    gate: GateSimParams = field(default_factory=GateSimParams)
    start_unix_s: float = 1_767_225_600.0
