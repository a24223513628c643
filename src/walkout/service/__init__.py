"""The walkout REST service (FastAPI): auth, the customer app's routes, staff routes, devices.

``create_app(Settings(...))`` builds the app; ``walkout serve`` runs it with uvicorn. Routes are
thin: they call the functions of :mod:`walkout.service.auth`, :mod:`walkout.service.shopping`,
:mod:`walkout.service.staff` and :mod:`walkout.operations`. See docs/api.md.
"""

from walkout.service.app import create_app
from walkout.service.auth import Principal
from walkout.service.settings import Settings

__all__ = ["Principal", "Settings", "create_app"]
