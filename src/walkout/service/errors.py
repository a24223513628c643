"""How errors become HTTP answers: always JSON ``{"detail": ...}``, a 4xx for anything the caller did.

The service's own refusals extend the package's exception tree (``walkout.core.errors``) under
:class:`~walkout.core.errors.OperationError`::

    OperationError
    ├── NotFound         404: unknown id, or one the caller may not see (another customer's)
    ├── Conflict         409: already exists (an e-mail, a device id)
    └── AuthFailed       401: wrong e-mail or password

Status codes of the rest of the tree: ``OperationError`` 400 (the store operation refused the
input), ``PaymentError`` 402 (the provider declined; Stripe answers card errors with 402 too),
``StorageError`` 409 for a constraint the database enforced (a concurrent duplicate), 400 for a
value a column refuses, else 503 (the database failed), any other ``WalkoutError`` 400. Request validation stays FastAPI's 422.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from walkout.core.errors import OperationError, PaymentError, StorageError, WalkoutError

log = logging.getLogger("walkout.service")


class NotFound(OperationError):
    """The resource does not exist, or the caller may not know that it does (HTTP 404)."""


class Conflict(OperationError):
    """The resource already exists (HTTP 409)."""


class AuthFailed(OperationError):
    """Sign-in refused: wrong e-mail or password (HTTP 401)."""


def status_of(exc: WalkoutError) -> int:
    """The HTTP status of a walkout error (see the module docstring)."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, AuthFailed):
        return 401
    if isinstance(exc, PaymentError):
        return 402
    if isinstance(exc, StorageError):
        return _storage_status(exc)
    return 400


def _storage_status(exc: StorageError) -> int:
    from sqlalchemy.exc import DataError, IntegrityError

    if isinstance(exc.__cause__, IntegrityError):
        return 409
    if isinstance(exc.__cause__, DataError) or "invalid input" in str(exc):  # a value the column refuses
        return 400
    return 503


async def _walkout_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WalkoutError)
    status = status_of(exc)
    if status >= 500:
        log.error("storage failure: %s", exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(WalkoutError, _walkout_error)
    app.add_exception_handler(Exception, _unexpected)
