"""FastAPI dependencies: unit-of-work session, the auth kit, caller origin, error responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from caisse_shared.errors import AppError, problem
from caisse_shared.http.net import client_address, forwarded_for, ip_address
from caisse_shared.http.security import Principal, current_principal
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.domain.context import Origin
from caisse_auth.services.kit import AuthKit


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed once, before the response is sent."""
    async with request.app.state.database.unit_of_work() as session:
        yield session


def _kit(request: Request) -> AuthKit:
    kit: AuthKit = request.app.state.kit
    return kit


def _clean(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    return "".join(c for c in value if 32 <= ord(c) != 127)[:limit] or None


def _ip(request: Request, kit: AuthKit) -> str | None:
    """Client address: the peer, or behind a trusted proxy the hop that proxy saw (a valid IP)."""
    peer = request.client.host if request.client else None
    address = client_address(peer, forwarded_for(request.headers), kit.settings.trusted_proxies)
    # Not an IP only if a trusted proxy forwarded junk: keep the proxy as the (shared) key.
    return str(parsed) if (parsed := ip_address(address)) is not None else peer


def _origin(request: Request, kit: Annotated[AuthKit, Depends(_kit)]) -> Origin:
    return Origin(ip=_ip(request, kit), user_agent=_clean(request.headers.get("user-agent"), 300))


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
KitDep = Annotated[AuthKit, Depends(_kit)]
OriginDep = Annotated[Origin, Depends(_origin)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def acting(origin: Origin, principal: Principal) -> Origin:
    """The origin with the acting administrator."""
    return origin.by(principal.subject, principal.institution_id)


def error_response(request: Request, err: AppError) -> JSONResponse:
    """A problem+json response for an error that must not roll the transaction back."""
    headers: dict[str, str] = {}
    if err.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = err.extra.get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return problem(
        err.status,
        err.title,
        err.detail,
        code=err.code,
        instance=request.url.path,
        headers=headers or None,
        **err.extra,
    )
