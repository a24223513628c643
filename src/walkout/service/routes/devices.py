"""Store devices: managers register and revoke them; a device proves its token with a heartbeat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from walkout.service import auth
from walkout.service.auth import Principal
from walkout.service.deps import CtxDep, require
from walkout.service.schemas import ID_PATTERN, DeviceCreate, DeviceCreatedPublic, DevicePublic

router = APIRouter(prefix="/api/devices", tags=["devices"])
DeviceId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post(
    "",
    status_code=201,
    response_model=DeviceCreatedPublic,
    dependencies=[require("manager")],
    responses={409: {"description": "the device id is taken"}},
)
def create_device(body: DeviceCreate, ctx: CtxDep) -> DeviceCreatedPublic:
    """Register a device and mint its token (shown once: the device sends it with its data)."""
    device_id, token = auth.create_device(ctx.db, body.kind, body.device_id)
    return DeviceCreatedPublic(device_id=device_id, kind=body.kind, token=token)


@router.get("", response_model=list[DevicePublic], dependencies=[require("manager")])
def devices(ctx: CtxDep) -> list[DevicePublic]:
    """Every registered device (revoked ones too) and when it was last heard from."""
    return [DevicePublic.model_validate(d) for d in auth.devices(ctx.db)]


@router.delete(
    "/{device_id}",
    response_model=DevicePublic,
    dependencies=[require("manager")],
    responses={404: {"description": "unknown device"}},
)
def revoke_device(device_id: DeviceId, ctx: CtxDep) -> DevicePublic:
    """Revoke a device: its token stops working at once (HTTP and MQTT)."""
    return DevicePublic.model_validate(auth.revoke_device(ctx.db, device_id))


@router.post(
    "/{device_id}/heartbeat",
    response_model=DevicePublic,
    responses={403: {"description": "a device may only beat for itself"}},
)
def heartbeat(device_id: DeviceId, ctx: CtxDep, who: Annotated[Principal, require("device")]) -> DevicePublic:
    """A device reports that it is alive (its own id only)."""
    if who.device_id != device_id:
        raise HTTPException(403, "a device may only send heartbeats for itself")
    return DevicePublic.model_validate(auth.heartbeat(ctx.db, device_id))
