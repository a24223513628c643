"""Edges of the engine: store files, recordings and device adapters -> core types."""

from walkout.io.recording import (
    RECORDING_FORMAT_VERSION,
    Recording,
    RecordingMeta,
    read_recording,
    write_recording,
)
from walkout.io.store_file import load_embedded_store, load_store, save_store

__all__ = [
    "RECORDING_FORMAT_VERSION",
    "Recording",
    "RecordingMeta",
    "load_embedded_store",
    "load_store",
    "read_recording",
    "save_store",
    "write_recording",
]
