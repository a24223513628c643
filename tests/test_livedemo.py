"""The live store without a browser: devices -> in-process transport -> live engine -> database + bus.

The in-process transport is the fallback of ``walkout demo --live`` when Mosquitto is missing;
the same day through it must end with the batch engine's receipts, stored and charged.
"""

from __future__ import annotations

import math
import time
from typing import Any

from walkout.core.store import Store
from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.io.mqtt.messages import static_device_tokens
from walkout.livedemo import LiveStore, publish_days, transport_for
from walkout.replay import open_database
from walkout.service.live import LiveBus
from walkout.sim import random_scenario, simulate


def test_a_day_through_the_in_process_transport_ends_with_the_batch_receipts(store: Store, tmp_path: Any) -> None:
    rec, _truth = simulate(random_scenario(store, 2, 40.0, 3), store, 3)
    batch = Engine(demo_entry_desk()).run(rec)
    db = open_database(f"sqlite:///{tmp_path / 'live.db'}")
    bus = LiveBus()
    seen: list[dict[str, Any]] = []
    publish = bus.publish
    bus.publish = lambda m: (seen.append(m), publish(m))[1]  # type: ignore[method-assign]
    with transport_for(use_mosquitto=False) as (pub, sub, description):
        assert "in-process" in description
        side = LiveStore(store, db, bus, sub, static_device_tokens({"shelf": "s3cret"}), tick_s=0.05).start()
        try:
            assert publish_days([rec], pub, device="shelf", token="s3cret", speed=math.inf) == 1
            deadline = time.monotonic() + 60
            while rec.meta.name not in side.days_done and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            side.stop()
    assert side.days_done == [rec.meta.name]
    assert batch.receipts
    for r in batch.receipts:  # stored by the day's final pass and finalized by checkout
        assert db.receipt(r.session_id) == r
        assert db.session(r.session_id).status == "closed"
    pushed = {m["session_id"] for m in seen if m["type"] == "receipt"}
    assert pushed == {r.session_id for r in batch.receipts}
    assert any(m["type"] == "health" for m in seen)
    db.dispose()


def test_a_forged_device_token_is_counted_and_nothing_is_decided(store: Store, tmp_path: Any) -> None:
    rec, _ = simulate(random_scenario(store, 1, 30.0, 4), store, 4)
    db = open_database(f"sqlite:///{tmp_path / 'live.db'}")
    with transport_for(use_mosquitto=False) as (pub, sub, _):
        side = LiveStore(store, db, LiveBus(), sub, static_device_tokens({"shelf": "s3cret"}), tick_s=0.05).start()
        try:
            publish_days([rec], pub, device="shelf", token="wrong", speed=math.inf)
            time.sleep(0.5)
        finally:
            side.stop()
    assert side.days_done == []  # not even the day's start control message was accepted
    assert sum(side.ingest.rejections.values()) > 0
    db.dispose()


def test_data_without_a_start_message_opens_a_day(store: Store, tmp_path: Any) -> None:
    """A real store's plates may publish with no store-day controller: the data is not dropped."""
    import numpy as np

    from walkout.io.mqtt.messages import Topics, encode_plate

    db = open_database(f"sqlite:///{tmp_path / 'live.db'}")
    with transport_for(use_mosquitto=False) as (pub, sub, _):
        side = LiveStore(store, db, LiveBus(), sub, static_device_tokens({"shelf": "s3cret"}), tick_s=0.05).start()
        try:
            plate = store.plates[0].id
            t = np.arange(0, 2.0, 1 / 60)
            pub.publish(Topics(store.name).plate(plate), encode_plate("shelf", "s3cret", t, np.full(t.shape, 500.0, np.float32)))
            deadline = time.monotonic() + 10
            while side.engine.day is None and time.monotonic() < deadline:
                time.sleep(0.02)
            day = side.engine.day
        finally:
            side.stop()
    assert day is not None and day.name.startswith("live-")
    assert len(day.plates) == 1 and len(day.plates[0].t_s) == len(t)  # the samples went into the day
    assert side.ingest.rejections["control: data before a start message (a day was opened)"] == 1
    db.dispose()
