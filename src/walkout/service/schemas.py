"""Request and response bodies of the REST API (pydantic 2).

Naming follows the full-stack FastAPI template: ``...Create`` / ``...Update`` are what a client
sends, ``...Public`` what the API answers (never a password hash, token hash or provider token).
Units are in the field names: ``_cents`` (integer minor units of the store's currency), ``_m``
(metres, world frame: z up, floor z = 0), ``_t_s`` (seconds on the recording clock), ``_at``
(wall-clock, ISO 8601 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
TEXT_PATTERN = r"^[^\x00]*$"  # any text but NUL (path parameters)

Email = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN, examples=["ada@example.com"])
Password = Field(min_length=8, max_length=1024, examples=["correct horse battery staple"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """Refuse NUL characters (PostgreSQL text cannot hold them; no field needs them)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Polygon = list[tuple[float, float]]


def _utc(t: datetime) -> datetime:
    """Naive stamps (SQLite returns them so) are UTC; aware ones are converted to UTC."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


Utc = Annotated[datetime, AfterValidator(_utc)]


# ---------------------------------------------------------------- auth
class SignupCreate(_In):
    """A new customer account."""

    email: str = Email
    password: str = Password
    name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])


class LoginRequest(_In):
    """E-mail and password."""

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenPublic(_Out):
    """A bearer token for ``Authorization: Bearer <token>``."""

    token: str
    role: Literal["customer", "associate", "manager"]
    account_id: str
    expires_at: Utc


class StaffCreate(_In):
    """A store associate or manager account (created by a manager)."""

    email: str = Email
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    role: Literal["associate", "manager"] = "associate"


class AccountPublic(_Out):
    """An account."""

    account_id: str
    name: str
    email: str
    role: Literal["customer", "associate", "manager"]
    status: Literal["active", "erased"]
    created_at: Utc


class HealthPublic(_Out):
    """Liveness: the database answers and its schema is at the packaged head revision."""

    ok: bool
    revision: str | None
    head: str


# ---------------------------------------------------------------- the customer's own
class PaymentMethodCreate(_In):
    """A payment method to vault with the payment provider: a display label only, never card data."""

    label: str = Field(min_length=1, max_length=64, examples=["Visa ending 4242"])


class PaymentMethodPublic(_Out):
    """A payment method on file."""

    method_id: int
    label: str
    provider: str
    is_default: bool
    created_at: Utc


class EntryTokenPublic(_Out):
    """A fresh signed entry token for the gate's scanner and its QR code.

    ``svg`` is a standalone SVG document (QR code, error correction M). The token admits once
    and expires ``expires_in_s`` after ``issued_unix_s``; fetch a new one before then.
    """

    token: str
    svg: str
    issued_unix_s: int
    expires_in_s: int


class CartLinePublic(_Out):
    """Units of one product in a cart, at the catalogue price."""

    upc: str
    name: str
    quantity: int
    unit_price_cents: int


class CurrentSessionPublic(_Out):
    """The account's session in the store (``session_id`` None: not in the store)."""

    session_id: str | None
    status: Literal["open", "exited"] | None
    entry_t_s: float | None
    cart: list[CartLinePublic]
    subtotal_cents: int


class ReceiptSummaryPublic(_Out):
    """One receipt in a list."""

    session_id: str
    total_cents: int
    currency: str
    lines: int
    entry_t_s: float
    exit_t_s: float
    created_at: Utc


class ReceiptLinePublic(_Out):
    """A receipt line (``line_no`` from 0, what a dispute names)."""

    line_no: int
    upc: str
    name: str
    quantity: int
    unit_price_cents: int
    taxable: bool
    line_total_cents: int


class PaymentPublic(_Out):
    """A charge or refund of a receipt."""

    payment_id: int
    kind: Literal["charge", "refund"]
    amount_cents: int
    currency: str
    status: Literal["succeeded", "failed"]
    method_label: str | None
    reason: str
    created_at: Utc


class DisputePublic(_Out):
    """A disputed receipt line and where it stands."""

    dispute_id: int
    session_id: str
    account_id: str
    line_no: int
    upc: str
    quantity: int
    amount_cents: int
    status: Literal["refunded", "in_review", "rejected"]
    review_id: int | None
    reason: str
    created_at: Utc
    resolved_at: Utc | None


class ReceiptPublic(_Out):
    """A receipt with its payments and disputes."""

    session_id: str
    account_id: str
    entry_t_s: float
    exit_t_s: float
    lines: list[ReceiptLinePublic]
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    currency: str
    payments: list[PaymentPublic]
    disputes: list[DisputePublic]


class DisputeCreate(_In):
    """Dispute ``quantity`` units of receipt line ``line_no``."""

    line_no: int = Field(ge=0, le=10_000)
    quantity: int = Field(ge=1, le=10_000)
    reason: str = Field(min_length=1, max_length=500, examples=["I put it back"])


# ---------------------------------------------------------------- the store
class GondolaPublic(_Out):
    """A gondola's footprint on the floor."""

    id: int
    polygon_xy_m: Polygon
    height_m: float


class ShelfPublic(_Out):
    """A shelf's outline seen from above and the height of its surface."""

    gondola: int
    index: int
    polygon_xy_m: Polygon
    z_m: float


class PlatePublic(_Out):
    """A weight plate (load cell): id ``G.S.P``, outline from above, surface height, front edge middle."""

    id: str
    polygon_xy_m: Polygon
    z_m: float
    front_xy_m: tuple[float, float]
    upcs: list[str]


class GatePublic(_Out):
    """A gate line; ``inward_xy`` points into the store (entry = crossing along it)."""

    id: str
    kind: Literal["entry", "exit"]
    a_xy_m: tuple[float, float]
    b_xy_m: tuple[float, float]
    inward_xy: tuple[float, float]


class CameraPublic(_Out):
    """A ceiling camera's position."""

    id: str
    kind: Literal["rgb", "depth"]
    xyz_m: tuple[float, float, float]


class StoreLayoutPublic(_Out):
    """Everything needed to draw the store map (metres, world frame, z up)."""

    name: str
    currency: str
    floor_ltrb_m: tuple[float, float, float, float]
    gondolas: list[GondolaPublic]
    shelves: list[ShelfPublic]
    plates: list[PlatePublic]
    gates: list[GatePublic]
    cameras: list[CameraPublic]


class ProductPublic(_Out):
    """A product of the catalogue."""

    upc: str
    name: str
    price_cents: int
    taxable: bool
    mass_g: float


class FacingPublic(_Out):
    """A planogram facing: ``count`` units (of ``capacity``) of ``upc`` on ``plates``."""

    upc: str
    name: str
    plates: list[str]
    count: int
    capacity: int


# ---------------------------------------------------------------- staff
class SessionPublic(_Out):
    """A shopping session (customer) or a restocking visit (staff)."""

    session_id: str
    account_id: str
    recording: str
    kind: Literal["customer", "staff"]
    status: Literal["open", "exited", "closed", "deleted"]
    entry_t_s: float
    exit_t_s: float | None
    created_at: Utc


class MemberPublic(_Out):
    """A person of a (group) session; member 0 is the payer."""

    member_no: int
    entry_t_s: float
    exit_t_s: float | None


class SessionDetailPublic(SessionPublic):
    """A session with its members, cart, receipt and review tasks."""

    members: list[MemberPublic]
    cart: list[CartLinePublic]
    subtotal_cents: int
    receipt: ReceiptPublic | None
    review_ids: list[int]


class ProductStockPublic(_Out):
    """A product's units across plates; ``low`` at or below its threshold."""

    upc: str
    name: str
    units: int
    plates: list[str]
    threshold: int | None
    low: bool


class PlateStockPublic(_Out):
    """Units of a product on a plate."""

    plate_id: str
    upc: str
    name: str
    units: int


class InventoryPublic(_Out):
    """Stock per product (every product of the catalogue) and per plate."""

    products: list[ProductStockPublic]
    plates: list[PlateStockPublic]
    low: list[str]


class ThresholdUpdate(_In):
    """A product's low-stock threshold in units across all plates (None removes it)."""

    threshold: int | None = Field(ge=0, le=1_000_000)


class MisplacedPublic(_Out):
    """Units on a plate outside their product's facings."""

    plate_id: str
    upc: str
    name: str
    units: int
    facing_plates: list[str]


class ReviewTaskPublic(_Out):
    """A review task and its evidence (see docs/operations.md)."""

    review_id: int
    kind: Literal["event", "dispute"]
    recording: str
    event_id: int
    t_s: float
    reason: str
    confidence: float
    evidence: dict[str, Any]
    status: Literal["open", "resolved"]
    session_id: str | None
    created_at: Utc
    decision: dict[str, Any] | None
    decided_by: str | None
    resolved_at: Utc | None


class ItemCreate(_In):
    """``quantity`` units of ``upc``."""

    upc: str = Field(min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=1000)


class ReviewDecisionCreate(_In):
    """A verdict: ``approve``; ``correct`` with what really moved (``items``, [] = nothing) and who
    did it (``session_id``, None = nobody or an associate); ``reject`` (dispute tasks)."""

    action: Literal["approve", "correct", "reject"]
    items: list[ItemCreate] | None = None
    session_id: str | None = Field(default=None, max_length=64)


class ReviewDecisionPublic(_Out):
    """What a verdict changed: compensating cart lines, money adjustments, stock corrections, dispute."""

    review_id: int
    kind: Literal["event", "dispute"]
    action: Literal["approve", "correct", "reject"]
    decided_by: str
    replayed: bool
    cart: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    stock: list[tuple[str, str, int]]
    dispute: dict[str, Any] | None


# ---------------------------------------------------------------- devices
class DeviceCreate(_In):
    """A device to register (``device_id`` default ``<kind>-<8 hex digits>``)."""

    kind: Literal["plates", "gate", "tracker", "camera"]
    device_id: str | None = Field(default=None, pattern=ID_PATTERN)


class DeviceCreatedPublic(_Out):
    """A registered device and its token (shown this once)."""

    device_id: str
    kind: Literal["plates", "gate", "tracker", "camera"]
    token: str


class DevicePublic(_Out):
    """A registered device."""

    device_id: str
    kind: Literal["plates", "gate", "tracker", "camera"]
    created_at: Utc
    revoked_at: Utc | None
    last_seen_at: Utc | None
