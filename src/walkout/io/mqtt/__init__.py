"""Device ingest over MQTT: the path real shelves, gate readers and the person tracker use.

Devices publish JSON (UTF-8) on these topics (``<store>`` is the store's topic name, by default
``Store.name``; payloads, clock and rejection reasons in ``docs/mqtt.md``)::

    walkout/<store>/plates/<plate_id>       one plate's samples   {device, token, t_s[], mass_g[]}
    walkout/<store>/plates                  many plates (a gondola controller)
                                            {device, token, plates: [{plate_id, t_s[], mass_g[]}]}
    walkout/<store>/gates/<gate_id>/scans   one scan              {device, token, t_s, code}
    walkout/<store>/people                  tracker observations  {device, token, t_s[], track_id[],
                                            head_xyz_m, left_hand_xyz_m, right_hand_xyz_m}
    walkout/<store>/control                 store day start / end {device, token, type, recording, ...}

One clock: ``t_s`` is seconds since the store day (a recording) started; the ``start`` control
message carries ``start_unix_s``, the Unix time of ``t_s = 0``.

Modules: :mod:`~walkout.io.mqtt.messages` (topics, payload models, the pure
:func:`decode_message`, the ``encode_*`` functions), :mod:`~walkout.io.mqtt.transport`
(:class:`Transport`; :class:`PahoTransport` on a real broker, :class:`LocalTransport` in-process),
:mod:`~walkout.io.mqtt.ingest` (:class:`MqttIngest`, :class:`IngestBuffer`, :class:`Increment`,
:class:`IngestHealth`), :mod:`~walkout.io.mqtt.broker` (:class:`MosquittoBroker`: a private
Mosquitto on a free loopback port, for the live demo and the tests).

Typical use::

    try:
        transport = PahoTransport("127.0.0.1", 1883)
    except BrokerUnavailable:
        transport = LocalTransport()  # "mosquitto not found, using in-process transport"
    ingest = MqttIngest(store, transport, verify_device=static_device_tokens({"shelf-1": "..."}))
    while True:
        ingest.buffer.wait(0.1)
        while not (inc := ingest.take()).empty:
            ...  # apply inc.control, then feed inc.plates / inc.scans / inc.people
"""

from walkout.io.mqtt.broker import MosquittoBroker, find_mosquitto
from walkout.io.mqtt.ingest import HealthParams, Increment, IngestBuffer, IngestHealth, MqttIngest
from walkout.io.mqtt.messages import (
    ControlMessage,
    ControlPayload,
    Decoded,
    PeopleBatch,
    PeoplePayload,
    PlateBatch,
    PlateEntry,
    PlatePayload,
    PlatesPayload,
    Rejection,
    ScanMessage,
    ScanPayload,
    Topics,
    VerifyDevice,
    decode_message,
    encode_control,
    encode_people,
    encode_plate,
    encode_plates,
    encode_scan,
    static_device_tokens,
)
from walkout.io.mqtt.transport import BrokerUnavailable, LocalTransport, MessageCallback, PahoTransport, Transport

__all__ = [
    "BrokerUnavailable",
    "ControlMessage",
    "ControlPayload",
    "Decoded",
    "HealthParams",
    "Increment",
    "IngestBuffer",
    "IngestHealth",
    "LocalTransport",
    "MessageCallback",
    "MosquittoBroker",
    "MqttIngest",
    "PahoTransport",
    "PeopleBatch",
    "PeoplePayload",
    "PlateBatch",
    "PlateEntry",
    "PlatePayload",
    "PlatesPayload",
    "Rejection",
    "ScanMessage",
    "ScanPayload",
    "Topics",
    "Transport",
    "VerifyDevice",
    "decode_message",
    "encode_control",
    "encode_people",
    "encode_plate",
    "encode_plates",
    "encode_scan",
    "find_mosquitto",
    "static_device_tokens",
]
