from __future__ import annotations

import json
import shutil

import pytest

from walkout.core.errors import StoreFileError
from walkout.io import load_store, save_store
from walkout.io.store_file import embedded_store_dir


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_store_file_round_trip(store, tmp_path, suffix):
    path = save_store(store, tmp_path / f"store{suffix}")
    assert load_store(path) == store


def test_bad_store_file_names_file_and_field(store, tmp_path):
    doc = json.loads((save_store(store, tmp_path / "s.json")).read_text())
    doc["products"][0]["mass_g"] = -5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(StoreFileError, match=r"bad\.json: field products\.0\.mass_g"):
        load_store(bad)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "Plates.json").write_text("{not json"), r"Plates\.json: not valid JSON"),
        (lambda d: (d / "prices.json").write_text('{"prices": {}}'), r"products\.json: invalid product: .*has no price"),
        (lambda d: (d / "Gondolas.json").unlink(), r"Gondolas\.json: file not found"),
    ],
)
def test_bad_aifi_dir_names_file(tmp_path, mutate, message):
    d = tmp_path / "store"
    shutil.copytree(embedded_store_dir(), d)
    mutate(d)
    with pytest.raises(StoreFileError, match=message):
        load_store(d)


def test_unknown_embedded_store():
    with pytest.raises(StoreFileError, match="file not found"):
        load_store("no-such-store")
