"""Demo accounts shipped with walkout (for simulated shoppers and the demo)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from walkout.io.aifi import read_json

#: The demo store's secret: signs the simulated app's entry tokens and staff badges. A real store
#: sets its own (``WALKOUT_STORE_SECRET``); this one is public, like the demo accounts.
DEMO_STORE_SECRET = b"walkout-demo-store-secret-v1"


class DemoAccount(BaseModel):
    """A demo account: id, display name, e-mail, its static app id (``token``), and role.

    The entry QR code does not carry ``token``: it carries a signed entry token that rotates
    every 30 s (:mod:`walkout.carts.entry`), keyed by :data:`DEMO_STORE_SECRET`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    name: str
    email: str
    token: str
    role: Literal["customer", "associate"] = "customer"


@lru_cache(maxsize=1)
def demo_accounts() -> tuple[DemoAccount, ...]:
    """The 64 demo accounts in ``walkout/data/demo_accounts.json`` (60 customers, 4 associates)."""
    doc = read_json(Path(str(resources.files("walkout") / "data" / "demo_accounts.json")))
    return tuple(DemoAccount(**a) for a in doc["accounts"])
