"""The REST routes, one router per audience (see docs/api.md)."""

from walkout.service.routes import devices, me, public, staff, store

ROUTERS = (public.router, me.router, store.router, staff.router, devices.router)

__all__ = ["ROUTERS"]
