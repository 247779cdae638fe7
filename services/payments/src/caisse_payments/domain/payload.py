"""A webhook body as a JSON object PostgreSQL can store whole (the raw payload is JSONB), or 400.

Every signed delivery ends as a recorded payment, a review flag, or a clear 4xx: never a 500
that the provider retries for days. PostgreSQL refuses in ``text`` and ``jsonb`` what Python's
``json`` accepts: NUL (``\\u0000``), unpaired surrogates (``\\ud800``), NaN and infinities. A
body nested deeper than Python's recursion limit raised ``RecursionError``. These are refused
before anything is written, in keys as in values, whatever field they are in: storing the body
otherwise than whole would lose what the provider sent.
"""

from __future__ import annotations

import json
import math
from typing import Any

from caisse_shared.errors import AppError

# Provider payloads nest two or three levels; a bound keeps the walk (and JSONB) cheap.
MAX_DEPTH = 32


class MalformedBody(AppError):
    """The body is not a JSON object that can be stored whole."""

    status, title, code = 400, "Malformed JSON body", "malformed"


def _no_constant(name: str) -> Any:
    raise MalformedBody(f"{name} is not a JSON number PostgreSQL can store")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedBody(f"number {text[:20]} overflows")
    return value


def _check_text(value: str) -> None:
    if value.isascii():  # the common case: no surrogate possible, one scan for NUL
        if "\x00" in value:
            raise MalformedBody("a string contains NUL (\\u0000)")
        return
    if "\x00" in value:
        raise MalformedBody("a string contains NUL (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody("a string contains an unpaired surrogate") from None


def _check(value: object, depth: int) -> None:
    """Raise unless every string is storable and containers nest at most MAX_DEPTH deep."""
    if isinstance(value, str):
        _check_text(value)
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_DEPTH:
        raise MalformedBody(f"body nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check(item, depth + 1)
    else:
        for item in value:
            _check(item, depth + 1)


def parse_payload(body: bytes) -> dict[str, Any]:
    """The body as a JSON object whose every key and value PostgreSQL can store, or 400."""
    try:
        data = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise MalformedBody(f"body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedBody("body must be a JSON object")
    _check(data, 1)
    return data
