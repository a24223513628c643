"""Store files: walkout's own format and AiFi store directories.

Walkout store file (``*.json`` or ``*.yaml``, documented in ``docs/store-format.md``): one
document that is exactly :class:`walkout.core.store.Store` serialised (``format: walkout-store``,
``version: 1``).

AiFi store directory: ``Gondolas.json``, ``Shelves.json``, ``Plates.json``, ``calibration.json``,
``products.json``, ``facings.json`` plus walkout's overlay ``walkout.json`` (name, source, tax,
gates) and ``prices.json`` (UPC -> price in cents). The embedded default store
``aifi-nanostore`` is such a directory inside the package.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from walkout.core.errors import StoreFileError
from walkout.core.store import Camera, Gate, Store
from walkout.io import aifi

STORE_FORMAT = "walkout-store"
STORE_FORMAT_VERSION = 1
EMBEDDED_STORES = ("aifi-nanostore",)


def embedded_store_dir(name: str = "aifi-nanostore") -> Path:
    """Directory of an embedded store's data files; raises StoreFileError for unknown names."""
    if name not in EMBEDDED_STORES:
        raise StoreFileError(f"unknown embedded store {name!r}; known: {', '.join(EMBEDDED_STORES)}")
    return Path(str(resources.files("walkout") / "data" / name))


@lru_cache(maxsize=4)
def load_embedded_store(name: str = "aifi-nanostore") -> Store:
    """The embedded store ``name`` (default: the real AiFi Nanostore)."""
    return load_aifi_store_dir(embedded_store_dir(name))


def load_aifi_store_dir(directory: Path) -> Store:
    """Build a Store from an AiFi store directory with walkout's overlay files.

    Raises:
        StoreFileError: naming the file and field that is missing or invalid.
    """
    d = Path(directory)
    overlay = aifi.read_json(d / "walkout.json")
    prices_doc = aifi.read_json(d / "prices.json")
    try:
        prices = {upc: int(v["price_cents"]) for upc, v in prices_doc["prices"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreFileError(f"{d / 'prices.json'}: invalid price entry: {exc}") from exc
    cameras, floor = aifi.load_cameras(d / "calibration.json")
    try:
        gates = tuple(Gate(**g) for g in overlay.get("gates", []))
        cameras = cameras + tuple(Camera(**c) for c in overlay.get("extra_cameras", []))
        return Store(
            name=overlay["name"],
            source=overlay.get("source", ""),
            currency=overlay.get("currency", "USD"),
            tax_rate=overlay.get("tax_rate", 0.0),
            floor_ltrb_m=floor,
            gondolas=aifi.load_gondolas(d / "Gondolas.json"),
            shelves=aifi.load_shelves(d / "Shelves.json"),
            plates=aifi.load_plates(d / "Plates.json"),
            products=aifi.load_products(d / "products.json", prices),
            planogram=aifi.load_facings(d / "facings.json", int(overlay.get("units_per_plate", 4))),
            cameras=cameras,
            gates=gates,
        )
    except (KeyError, TypeError) as exc:
        raise StoreFileError(f"{d / 'walkout.json'}: missing or invalid field {exc}") from exc
    except ValidationError as exc:
        raise StoreFileError(f"{d}: invalid store: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"field {loc or '(root)'}: {err['msg']}")
    return "; ".join(parts)


def store_from_document(doc: Any, source: str) -> Store:
    """Validate a parsed walkout store document; raises StoreFileError naming ``source``."""
    if not isinstance(doc, dict):
        raise StoreFileError(f"{source}: expected a mapping at the top level")
    if doc.get("format") != STORE_FORMAT:
        raise StoreFileError(f"{source}: field format: expected {STORE_FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != STORE_FORMAT_VERSION:
        raise StoreFileError(f"{source}: field version: unsupported version {doc.get('version')!r}")
    body = {k: v for k, v in doc.items() if k not in ("format", "version")}
    try:
        return Store.model_validate(body)
    except ValidationError as exc:
        raise StoreFileError(f"{source}: {_describe(exc)}") from exc


def load_store(path: str | Path) -> Store:
    """Load a store: an embedded name, an AiFi store directory, or a walkout store file.

    Args:
        path: ``"aifi-nanostore"``, a directory with AiFi store_meta files and ``walkout.json``,
            or a ``.json`` / ``.yaml`` walkout store file.

    Raises:
        StoreFileError: naming the file and the field that is wrong.
    """
    if str(path) in EMBEDDED_STORES:
        return load_embedded_store(str(path))
    p = Path(path)
    if p.is_dir():
        return load_aifi_store_dir(p)
    if not p.exists():
        raise StoreFileError(f"{p}: file not found")
    text = p.read_text()
    try:
        doc = yaml.safe_load(text) if p.suffix in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise StoreFileError(f"{p}: cannot parse: {exc}") from exc
    return store_from_document(doc, str(p))


def store_document(store: Store) -> dict[str, Any]:
    """The walkout store document (JSON-ready dict) of a Store."""
    return {"format": STORE_FORMAT, "version": STORE_FORMAT_VERSION, **store.model_dump(mode="json")}


def save_store(store: Store, path: str | Path) -> Path:
    """Write a walkout store file (JSON, or YAML if the suffix is .yaml/.yml)."""
    p = Path(path)
    doc = store_document(store)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False) if p.suffix in (".yaml", ".yml") else json.dumps(doc, indent=1))
    tmp.replace(p)
    return p
