"""Device ingest over MQTT: a real Mosquitto, the in-process transport, validation, health."""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest

from mosquitto import NO_MQTT_ENV, require_mosquitto
from walkout.core.frames import GateScans, PersonObservations, PlateSamples
from walkout.io.mqtt import (
    BrokerUnavailable,
    ControlMessage,
    HealthParams,
    LocalTransport,
    MosquittoBroker,
    MqttIngest,
    PahoTransport,
    PlateBatch,
    Rejection,
    Topics,
    decode_message,
    encode_people,
    encode_plate,
    encode_plates,
    static_device_tokens,
)
from walkout.io.recording import Recording
from walkout.sim import random_scenario, simulate
from walkout.sim.publish import RecordingPublisher, publish_recording

DEVICE, TOKEN = "sim-publisher", "s3cret-device-token"
VERIFY = static_device_tokens({DEVICE: TOKEN})


@pytest.fixture(scope="module")
def rec(store) -> Recording:
    """One shopper, 30 s: ~551k plate samples, one gate scan, ~150 tracker rows."""
    recording, _ = simulate(random_scenario(store, 1, 30.0, seed=1), store, seed=1)
    assert len(recording.scans) and len(recording.people)
    return recording


class Collected:
    """Everything taken from an ingest, concatenated."""

    def __init__(self) -> None:
        self.control: list[ControlMessage] = []
        self.plates: list[PlateSamples] = []
        self.scans: list[GateScans] = []
        self.people: list[PersonObservations] = []

    def drain(self, ingest: MqttIngest) -> None:
        while not (inc := ingest.take()).empty:
            self.control += inc.control
            self.plates.append(inc.plates)
            self.scans.append(inc.scans)
            self.people.append(inc.people)

    def until_end(self, ingest: MqttIngest, timeout_s: float = 10.0) -> Collected:
        deadline = time.monotonic() + timeout_s
        while not any(c.type == "end" for c in self.control):
            assert time.monotonic() < deadline, f"no end message after {timeout_s} s; got {self.control}"
            ingest.buffer.wait(0.05)
            self.drain(ingest)
        return self

    def cat(self, stream: str, name: str) -> np.ndarray:
        return np.concatenate([getattr(x, name) for x in getattr(self, stream)])


def _sorted(plate: np.ndarray, t_s: np.ndarray, *cols: np.ndarray) -> list[np.ndarray]:
    order = np.lexsort((plate, t_s))
    return [a[order] for a in (plate, t_s, *cols)]


def assert_same_as_recording(got: Collected, rec: Recording) -> None:
    """Every sample, scan and observation of ``rec`` arrived, bit for bit, and nothing else."""
    assert [(c.type, c.recording, c.complete) for c in got.control] == [
        ("start", rec.meta.name, True),
        ("end", rec.meta.name, True),
    ]
    start = got.control[0]
    assert start.planogram == rec.meta.planogram and start.duration_s == rec.meta.duration_s
    assert start.start_unix_s == rec.meta.start_unix_s
    assert all(p.plate_ids == rec.plates.plate_ids for p in got.plates)
    want = _sorted(rec.plates.plate, rec.plates.t_s, rec.plates.mass_g)
    have = _sorted(got.cat("plates", "plate"), got.cat("plates", "t_s"), got.cat("plates", "mass_g"))
    assert len(have[0]) == len(want[0])
    assert have[1].dtype == np.float64 and have[2].dtype == np.float32
    for a, b in zip(have, want, strict=True):
        assert np.array_equal(a.view(f"i{a.itemsize}"), b.view(f"i{b.itemsize}"))  # bit for bit
    assert got.cat("scans", "token").tolist() == rec.scans.token.tolist()
    assert got.cat("scans", "gate_id").tolist() == rec.scans.gate_id.tolist()
    assert np.array_equal(got.cat("scans", "t_s").view(np.int64), rec.scans.t_s.view(np.int64))
    p = rec.people
    want_p = _sorted(p.track_id, p.t_s, p.head_xyz_m, p.left_hand_xyz_m, p.right_hand_xyz_m)
    have_p = _sorted(
        *(got.cat("people", n) for n in ("track_id", "t_s", "head_xyz_m", "left_hand_xyz_m", "right_hand_xyz_m"))
    )
    for a, b in zip(have_p, want_p, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)  # NaN hands (sent as null) compare equal
        seen = np.isfinite(b)
        assert np.array_equal(a[seen].view(f"i{a.itemsize}"), b[seen].view(f"i{b.itemsize}"))


# ---------------------------------------------------------------- end to end
@pytest.mark.parametrize(("per_plate_topics", "speed"), [(False, 20.0), (True, 30.0)], ids=["bulk", "per-plate"])
def test_recording_through_mosquitto_arrives_complete(mosquitto, store, rec, per_plate_topics, speed):
    ingest = MqttIngest.connect(store, mosquitto.host, mosquitto.port, VERIFY)
    try:
        stats = publish_recording(
            rec, mosquitto.host, mosquitto.port, speed=speed, device_token=TOKEN, per_plate_topics=per_plate_topics
        )
        got = Collected().until_end(ingest)
    finally:
        ingest.close()
    assert_same_as_recording(got, rec)
    assert ingest.rejections == {}
    assert stats.done and not stats.stopped and stats.samples == len(rec.plates)
    # paced in real time: 30 s of store time at `speed`, not faster, and not falling behind
    assert rec.meta.duration_s / speed - 0.05 <= stats.wall_s <= rec.meta.duration_s / speed + 1.0
    assert stats.max_lag_s < 0.5
    topics = ingest.health().messages
    assert (
        topics["plates/+" if per_plate_topics else "plates"] == stats.messages - 2 - len(rec.scans) - topics["people"]
    )
    assert topics["control"] == 2 and topics["gates/entry/scans"] == len(rec.scans)


def test_in_process_transport_gives_the_same_result(store, rec):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    stats = RecordingPublisher(rec, transport, device_token=TOKEN, speed=math.inf).run()
    got = Collected()
    got.drain(ingest)
    assert_same_as_recording(got, rec)
    assert ingest.rejections == {}
    assert stats.messages == transport.published


def test_publisher_paces_in_real_time_and_can_be_stopped(store, rec):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    pub = RecordingPublisher(rec, transport, device_token=TOKEN, speed=1.0, batch_s=0.05).start()
    time.sleep(0.3)
    pub.stop()
    stats = pub.join(5.0)
    assert stats.done and stats.stopped
    assert 0.1 <= stats.t_s <= 1.0  # ~0.3 s of store time went out in ~0.3 s of wall time
    assert stats.lag_s < 0.25
    got = Collected()
    got.drain(ingest)
    assert [(c.type, c.complete) for c in got.control] == [("start", True), ("end", False)]
    assert got.cat("plates", "t_s").max() < stats.t_s
    with pytest.raises(ValueError, match="speed"):
        RecordingPublisher(rec, transport, speed=0.0)


def test_missing_broker_is_a_clear_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        with pytest.raises(BrokerUnavailable, match=f"127.0.0.1:{port}"):
            PahoTransport("127.0.0.1", port, timeout_s=1.0)


@pytest.mark.parametrize(
    ("binary", "message"),
    [("missing", "apt-get install -y --no-install-recommends mosquitto"), ("/bin/false", "exited with 1")],
)
def test_a_broker_that_cannot_start_is_a_clear_error(tmp_path, binary, message):
    broker = MosquittoBroker(str(tmp_path / binary) if binary == "missing" else binary)
    with pytest.raises(BrokerUnavailable, match=message):
        broker.start()
    assert broker.base is None  # cleaned up


def test_missing_mosquitto_fails_with_an_install_hint(monkeypatch):
    monkeypatch.delenv(NO_MQTT_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y --no-install-recommends mosquitto"):
        require_mosquitto(None)
    monkeypatch.setenv(NO_MQTT_ENV, "1")
    with pytest.raises(pytest.skip.Exception):
        require_mosquitto(None)


# ---------------------------------------------------------------- validation
T = Topics("aifi-nanostore")


def _plate(t_s, mass_g, device=DEVICE, token=TOKEN, **extra) -> bytes:
    return json.dumps({"device": device, "token": token, "t_s": t_s, "mass_g": mass_g, **extra}).encode()


def _people(**over) -> bytes:
    doc = {
        "device": DEVICE,
        "token": TOKEN,
        "t_s": [1.0, 1.1],
        "track_id": [7, 7],
        "head_xyz_m": [[1, 2, 1.7], [1, 2.1, 1.7]],
        "left_hand_xyz_m": [None, [1, 2, 1]],
        "right_hand_xyz_m": [None, None],
    }
    return json.dumps({**doc, **over}).encode()


def _msg(**doc) -> bytes:
    return json.dumps({"device": DEVICE, "token": TOKEN, **doc}).encode()


BAD = [
    # (id, topic, payload, {reason: count}, rows accepted)
    ("other store", "walkout/elsewhere/plates/1.1.1", _plate([1.0], [5.0]), {"unknown topic": 1}, 0),
    ("unknown topic", "walkout/aifi-nanostore/shelves", _plate([1.0], [5.0]), {"unknown topic": 1}, 0),
    ("not json", T.plate("1.1.1"), b"{t_s: [1", {"plates: not valid JSON": 1}, 0),
    ("not utf-8", T.plate("1.1.1"), b"\xff\xfe\x00", {"plates: not valid JSON": 1}, 0),
    ("empty", T.plate("1.1.1"), b"", {"plates: not valid JSON": 1}, 0),
    ("array root", T.plate("1.1.1"), b"[1, 2]", {"plates: bad payload field (root)": 1}, 0),
    ("string mass", T.plate("1.1.1"), _plate([1.0], ["5"]), {"plates: bad payload field mass_g": 1}, 0),
    ("bool time", T.plate("1.1.1"), _plate([True], [5.0]), {"plates: bad payload field t_s": 1}, 0),
    ("missing field", T.plate("1.1.1"), _msg(t_s=[1.0]), {"plates: bad payload field mass_g": 1}, 0),
    ("extra field", T.plate("1.1.1"), _plate([1.0], [5.0], unit="g"), {"plates: bad payload field unit": 1}, 0),
    ("lengths differ", T.plate("1.1.1"), _plate([1.0, 2.0], [5.0]), {"plates: t_s and mass_g lengths differ": 1}, 0),
    ("unknown plate", T.plate("9.9.9"), _plate([1.0], [5.0]), {"plates: unknown plate id": 1}, 0),
    ("malformed plate", T.plate("shelf-1"), _plate([1.0], [5.0]), {"plates: unknown plate id": 1}, 0),
    ("forged token", T.plate("1.1.1"), _plate([1.0], [5.0], token="guess"), {"plates: bad device token": 1}, 0),
    ("unknown device", T.plate("1.1.1"), _plate([1.0], [5.0], device="x"), {"plates: bad device token": 1}, 0),
    (
        "NaN mass",
        T.plate("1.1.1"),
        _plate([1.0, 2.0, 3.0], [5.0, math.nan, 5.0]),
        {"plates: NaN or infinite value": 1},
        2,
    ),
    ("mass beyond float32", T.plate("1.1.1"), _plate([1.0, 2.0], [1e39, 5.0]), {"plates: NaN or infinite value": 1}, 1),
    ("inf time", T.plate("1.1.1"), _plate([1.0, math.inf], [5.0, 5.0]), {"plates: NaN or infinite value": 1}, 1),
    ("impossible mass", T.plate("1.1.1"), _plate([1.0, 2.0], [-80.0, 5.0]), {"plates: mass below -50 g": 1}, 1),
    (
        "before start",
        T.plate("1.1.1"),
        _plate([-1.0, 2.0], [5.0, 5.0]),
        {"plates: time before the recording started": 1},
        1,
    ),
    ("backwards", T.plate("1.1.1"), _plate([1.0, 3.0, 2.0], [5.0] * 3), {"plates: timestamp going backwards": 1}, 2),
    (
        "bulk unknown plate",
        T.plates,
        _msg(
            plates=[
                {"plate_id": "1.1.1", "t_s": [1.0], "mass_g": [5.0]},
                {"plate_id": "9.1.1", "t_s": [1.0, 2.0], "mass_g": [5.0, 5.0]},
            ]
        ),
        {"plates: unknown plate id": 2},
        1,
    ),
    ("unknown gate", T.scans("side-door"), _msg(t_s=1.0, code="WO2.x"), {"scans: unknown gate id": 1}, 0),
    ("empty code", T.scans("entry"), _msg(t_s=1.0, code=""), {"scans: missing time or token": 1}, 0),
    ("scan NaN time", T.scans("entry"), _msg(t_s=math.nan, code="WO2.x"), {"scans: missing time or token": 1}, 0),
    ("people lengths", T.people, _people(track_id=[7]), {"people: field lengths differ": 1}, 0),
    (
        "people null head",
        T.people,
        _people(head_xyz_m=[None, [1, 2, 1]]),
        {"people: bad payload field head_xyz_m": 1},
        0,
    ),
    (
        "people 2-d hand",
        T.people,
        _people(left_hand_xyz_m=[[1, 2], None]),
        {"people: bad payload field left_hand_xyz_m": 1},
        0,
    ),
    ("people huge id", T.people, _people(track_id=[2**63, 2**63]), {"people: track id out of int64 range": 1}, 0),
    (
        "people NaN head",
        T.people,
        _people(head_xyz_m=[[math.nan, 2, 1.7], [1, 2, 1.7]]),
        {"people: missing time or head position": 1},
        1,
    ),
    ("control type", T.control, _msg(type="pause", recording="r"), {"control: bad payload field type": 1}, 0),
    (
        "control planogram",
        T.control,
        _msg(
            type="start",
            recording="r",
            planogram=[{"upc": "835144008984", "plates": [[9, 9, 9]], "count": 1, "capacity": 2}],
        ),
        {"control: planogram names an unknown plate or product": 1},
        0,
    ),
]


@pytest.mark.parametrize(("topic", "payload", "reasons", "accepted"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_messages_are_counted_not_fatal(store, topic, payload, reasons, accepted):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    ingest.handle(topic, payload)  # as the transport delivers it (another store's topic only by misconfiguration)
    transport.publish(T.plate("1.1.2"), _plate([5.0, 6.0], [10.0, 11.0]))  # still working afterwards
    assert dict(ingest.rejections) == reasons
    inc = ingest.take()
    n = len(inc.plates) + len(inc.scans) + len(inc.people) - 2
    assert n == accepted
    # the pure decoder agrees: a whole message refused, or rows dropped from an accepted one
    decoded = decode_message(topic, payload, store, verify_device=VERIFY)
    assert isinstance(decoded, Rejection) == (accepted == 0)


def test_a_raising_verify_device_is_a_bad_token(store):
    def broken(device: str, token: str) -> bool:
        raise RuntimeError("device table unavailable")

    transport = LocalTransport()
    ingest = MqttIngest(store, transport, broken)
    transport.publish(T.plate("1.1.1"), _plate([1.0], [5.0]))
    assert dict(ingest.rejections) == {"plates: bad device token": 1}


def test_time_going_backwards_across_messages_is_dropped_until_a_new_day(store):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    transport.publish(T.plate("1.1.1"), _plate([1.0, 2.0], [5.0, 5.0]))
    transport.publish(T.plate("1.1.1"), _plate([1.5, 2.0, 2.5], [5.0] * 3))  # 1.5 < 2.0; 2.0 again is fine
    transport.publish(T.plate("1.1.2"), _plate([0.5], [5.0]))  # another plate has its own clock
    transport.publish(T.people, _people())
    transport.publish(T.people, _people(t_s=[1.05, 1.2]))
    assert dict(ingest.rejections) == {"plates: timestamp going backwards": 1, "people: timestamp going backwards": 1}
    transport.publish(T.control, _msg(type="start", recording="day-2"))
    transport.publish(T.plate("1.1.1"), _plate([0.0], [5.0]))  # the new day's clock starts at 0
    assert sum(ingest.rejections.values()) == 2
    first, second = ingest.take(), ingest.take()
    assert first.plates.t_s.tolist() == [0.5, 1.0, 2.0, 2.0, 2.5] and len(first.people) == 3
    assert [c.recording for c in second.control] == ["day-2"] and second.plates.t_s.tolist() == [0.0]


def test_increments_are_cut_at_control_messages(store):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    assert ingest.take().empty and not ingest.buffer.wait(0.0)
    transport.publish(T.control, _msg(type="start", recording="a"))
    transport.publish(T.plate("1.1.1"), _plate([1.0], [5.0]))
    transport.publish(T.control, _msg(type="end", recording="a"))
    transport.publish(T.control, _msg(type="start", recording="b"))
    transport.publish(T.plate("1.1.1"), _plate([0.5], [6.0]))
    transport.publish(T.scans("entry"), _msg(t_s=0.7, code="WO2.abc"))
    assert ingest.buffer.wait(0.0) and ingest.buffer.pending_rows == 3
    a, b = ingest.take(), ingest.take()
    assert [(c.type, c.recording) for c in a.control] == [("start", "a")] and a.plates.mass_g.tolist() == [5.0]
    assert [(c.type, c.recording) for c in b.control] == [("end", "a"), ("start", "b")]
    assert b.plates.mass_g.tolist() == [6.0] and b.scans.token.tolist() == ["WO2.abc"]
    assert ingest.take().empty and ingest.buffer.pending_rows == 0


def test_a_full_buffer_refuses_and_counts(store):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY, max_pending_rows=3)
    transport.publish(T.plate("1.1.1"), _plate([1.0, 2.0], [5.0, 5.0]))
    transport.publish(T.plate("1.1.2"), _plate([1.0, 2.0], [5.0, 5.0]))
    assert dict(ingest.rejections) == {"ingest: buffer full (consumer too slow)": 2}
    assert len(ingest.take().plates) == 2


def test_concurrent_publishers_lose_nothing(store):
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY)
    ids = [p.id for p in store.plates[:8]]
    taken: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or ingest.buffer.pending_rows:
            taken.append(len(ingest.take().plates))

    def produce(pid) -> None:
        for k in range(50):
            transport.publish(
                T.plate(pid),
                encode_plate(DEVICE, TOKEN, np.arange(k * 10, k * 10 + 10) / 60.0, np.full(10, 3.0, np.float32)),
            )

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(pid,)) for pid in ids]
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    done.set()
    consumer.join(10)
    assert sum(taken) == len(ids) * 500 and ingest.rejections == {}


# ---------------------------------------------------------------- encoding, health
def test_encoding_round_trips_bit_for_bit(store):
    rng = np.random.default_rng(3)
    t_s = np.sort(rng.uniform(0, 86400, 2000))
    t_s[:3] = [0.0, 5e-324, 1e-300]  # zero, subnormal, tiny
    bits = rng.integers(0, 2**31, 2000, dtype=np.uint32)  # random float32 bit patterns, finite positive
    mass = bits.view(np.float32)
    mass = np.where(np.isfinite(mass) & (mass < 1e30), mass, np.float32(1.5)).astype(np.float32)
    for topic, payload in (
        (T.plate("1.1.1"), encode_plate(DEVICE, TOKEN, t_s, mass)),
        (T.plates, encode_plates(DEVICE, TOKEN, [(store.plates[0].id, t_s, mass)])),
    ):
        out = decode_message(topic, payload, store, verify_device=VERIFY)
        assert isinstance(out, PlateBatch) and out.dropped == ()
        assert np.array_equal(out.t_s.view(np.int64), t_s.view(np.int64))
        assert np.array_equal(out.mass_g.view(np.int32), mass.view(np.int32))
    head = rng.standard_normal((5, 3)).astype(np.float32)
    hand = head.copy()
    hand[1] = np.nan
    obs = PersonObservations(
        np.arange(5) / 15.0, np.array([2**62, 1, 2, 3, -4]), head, hand, np.full((5, 3), np.nan, np.float32)
    )
    doc = json.loads(encode_people(DEVICE, TOKEN, obs))
    assert doc["left_hand_xyz_m"][1] is None and doc["right_hand_xyz_m"] == [None] * 5
    back = decode_message(T.people, encode_people(DEVICE, TOKEN, obs), store).observations  # type: ignore[union-attr]
    assert back.track_id.tolist() == obs.track_id.tolist()
    np.testing.assert_array_equal(back.left_hand_xyz_m, hand)


def test_health_flags_silent_noisy_and_stuck_plates(store):
    now = [100.0]
    transport = LocalTransport()
    ingest = MqttIngest(store, transport, VERIFY, clock=lambda: now[0], health=HealthParams(silent_after_s=2.0))
    rng = np.random.default_rng(0)
    quiet, noisy, stuck = store.plates[0].id, store.plates[1].id, store.plates[2].id
    for tick in range(10):  # 10 s, one message per plate per second; plate 0 falls silent after 3 s
        t = tick + np.arange(60) / 60.0
        entries = []
        for p in store.plates:
            if p.id == quiet and tick >= 3:
                continue
            sigma = 20.0 if p.id == noisy else 1.5
            mass = (
                np.full(60, 250.0, np.float32)
                if p.id == stuck
                else (250 + sigma * rng.standard_normal(60)).astype(np.float32)
            )
            if p.id == store.plates[3].id and tick == 5:
                mass[30:] += 400.0  # a pick: a step is not noise
            entries.append((p.id, t, mass))
        transport.publish(T.plates, encode_plates(DEVICE, TOKEN, entries))
        now[0] += 1.0
    h = ingest.health()
    assert h.silent == (quiet,)
    assert h.noisy == (noisy,)
    assert h.stuck == (stuck,)
    assert h.samples[0] == 180 and h.samples[4] == 600
    assert h.silent_s[0] == pytest.approx(8.0) and h.last_t_s[4] == pytest.approx(9 + 59 / 60)
    assert 1.2 < np.nanmedian(h.noise_g) < 1.8
    assert h.messages == {"plates": 10}
    summary = h.as_dict()
    assert summary["silent"] == [str(quiet)] and summary["rejections"] == {}
    json.dumps(summary)
