"""The OpenAPI document says what each operation really answers, errors included.

Every error of the suite is ``application/problem+json`` with one :data:`PROBLEM_SCHEMA`. The
statuses the shared kit itself produces are added to every operation they can come from, so a
route declares only its own (409, 429, …):

- 400 on every operation: malformed JSON, a NUL or invalid UTF-8 in the path or query, a bad
  ``X-Correlation-ID`` (the request middleware);
- 401 and 403 on every operation behind a bearer token;
- 404 on every operation with a path parameter (the resource, or one outside the caller's scope);
- 413 and 422 on every operation with a body, 422 on every operation with parameters.

A route's own ``responses={409: {"description": ...}}`` gets the problem content too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from caisse_shared.errors import PROBLEM_JSON
from caisse_shared.http.models import NAMING_NOTE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457 problem details).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Identifies the kind of problem"},
        "title": {"type": "string", "description": "Short summary of the kind of problem"},
        "status": {"type": "integer", "description": "The HTTP status"},
        "detail": {"type": "string", "description": "What happened, for a human"},
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "instance": {"type": "string", "description": "The request path"},
        "errors": {
            "type": "array",
            "description": "Validation errors: location, message and type of each",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
    "example": {
        "type": "https://caisse.dev/problems/validation_failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "Validation failed",
        "code": "validation_failed",
        "instance": "/api/payments",
        "errors": [{"loc": ["body", "amount"], "msg": "must be an integer", "type": "value_error"}],
    },
}
STANDARD_ERRORS: dict[str, str] = {
    "400": "Malformed request: invalid JSON, NUL or invalid UTF-8 in the path or query",
    "401": "No valid bearer token (missing, malformed, expired, revoked or forged)",
    "403": "The token lacks the permission, or the data is outside the caller's scope",
    "404": "Not found (or outside the caller's scope)",
    "409": "Conflicts with the current state",
    "413": "Request body larger than the service accepts",
    "422": "Well-formed but invalid: field errors, unknown parameters, broken business rules",
    "429": "Too many requests",
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _kit_statuses(path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses the shared kit can answer for this operation."""
    statuses = ["400"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if operation.get("requestBody"):
        statuses += ["413", "422"]
    elif operation.get("parameters"):
        statuses.append("422")
    return statuses


def _document_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError: ours is a Problem
    for status in _kit_statuses(path, operation):
        responses.setdefault(status, _problem_response(STANDARD_ERRORS[status]))
    for status, response in responses.items():
        if status[0] in "45" and "content" not in response:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every error response documented as a Problem."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=f"{app.description}\n\n{NAMING_NOTE}".strip(),
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                _document_operation(path, operation)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`build_openapi` (built once, on first request) at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
