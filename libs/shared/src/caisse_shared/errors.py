"""Typed application errors and their mapping to RFC 9457 problem+json responses."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status."""

    status: int = 400
    title: str = "Bad request"
    code: str = "bad_request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(AppError):
    """The resource does not exist (or is outside the caller's scope)."""

    status, title, code = 404, "Not found", "not_found"


class Conflict(AppError):
    """The request conflicts with the current state (duplicate, invalid transition, busy)."""

    status, title, code = 409, "Conflict", "conflict"


class Unprocessable(AppError):
    """The request is well-formed but breaks a business rule."""

    status, title, code = 422, "Unprocessable request", "unprocessable"


class Unauthorized(AppError):
    """No valid credentials were presented."""

    status, title, code = 401, "Unauthorized", "unauthorized"


class Forbidden(AppError):
    """The caller is authenticated but lacks the permission or scope."""

    status, title, code = 403, "Forbidden", "forbidden"


class PayloadTooLarge(AppError):
    """The request body exceeds the configured limit."""

    status, title, code = 413, "Payload too large", "payload_too_large"


class TooManyRequests(AppError):
    """Rate limit or lockout in force."""

    status, title, code = 429, "Too many requests", "too_many_requests"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://caisse.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _jsonable_errors(errors: Any) -> Any:
    """Validation errors may embed exceptions and bytes: keep only JSON-safe parts."""
    return json.loads(json.dumps(errors, default=str))


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        code=exc.code,
        instance=request.url.path,
        headers=headers,
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _jsonable_errors(exc.errors())
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    status = 400 if malformed else 422
    title = "Malformed JSON body" if malformed else "Validation failed"
    for e in errors:
        e.pop("input", None)  # never echo back what the client sent (may hold secrets)
        e.pop("ctx", None)
    return problem(
        status,
        title,
        title,
        code="malformed" if malformed else "validation_failed",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        code=f"http_{exc.status_code}",
        instance=request.url.path,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map typed errors, validation errors and HTTP errors to problem+json.

    Anything else is answered by :class:`caisse_shared.http.middleware.RequestContextMiddleware`
    (a problem+json 500 with the correlation id), not here: an ``Exception`` handler would run
    in Starlette's outermost middleware, which re-raises and makes uvicorn drop the connection.
    """
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
