"""/api/auth: login, logout, token refresh and validation, password change, JWKS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from caisse_shared.errors import AppError
from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import Principal, require
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from caisse_auth.api.deps import (
    CurrentPrincipal,
    KitDep,
    OriginDep,
    SessionDep,
    acting,
    error_response,
)
from caisse_auth.api.schemas import (
    AuthResultRead,
    JwksRead,
    KeyRotatedRead,
    LoginCreate,
    PasswordUpdate,
    RefreshCreate,
    SuccessRead,
    TokenCreate,
    TokenRefreshRead,
    TokenValidationRead,
)
from caisse_auth.api.views import user_read
from caisse_auth.services import bootstrap, sessions, users
from caisse_auth.services import login as login_service

router = APIRouter(tags=["authentication"])
KEYS_ROTATE = "auth:keys:rotate"  # held through "*" or "auth:*" only


@router.post(
    "/api/auth/login",
    response_model=AuthResultRead,
    summary="Authenticate a user (public; throttled per username and per address)",
)
async def login(
    body: LoginCreate, request: Request, session: SessionDep, kit: KitDep, origin: OriginDep
) -> AuthResultRead | JSONResponse:
    result = await login_service.login(kit, session, body.username, body.password, origin, utcnow())
    if isinstance(result, AppError):
        return error_response(request, result)
    t = result.tokens
    return AuthResultRead(
        user=await user_read(session, result.user),
        token=t.access_token,
        refreshToken=t.refresh_token,
        expiresAt=t.expires_at,
        access_token=t.access_token,
        expires_in=t.expires_in,
        refresh_token=t.refresh_token,
        refresh_expires_at=t.refresh_expires_at,
        session_id=t.session_id,
    )


@router.post(
    "/api/auth/token/refresh",
    response_model=TokenRefreshRead,
    summary="Rotate a refresh token (public; reuse revokes the whole session)",
)
async def refresh(
    body: RefreshCreate, request: Request, session: SessionDep, kit: KitDep, origin: OriginDep
) -> TokenRefreshRead | JSONResponse:
    result = await sessions.refresh(kit, session, body.refreshToken, origin, utcnow())
    if isinstance(result, AppError):
        return error_response(request, result)
    return TokenRefreshRead(
        token=result.access_token,
        refreshToken=result.refresh_token,
        expiresAt=result.expires_at,
        access_token=result.access_token,
        expires_in=result.expires_in,
        refresh_token=result.refresh_token,
        refresh_expires_at=result.refresh_expires_at,
    )


@router.post(
    "/api/auth/token/validate",
    response_model=TokenValidationRead,
    summary="Validate an access token, revocation included (public)",
)
async def validate(body: TokenCreate, session: SessionDep, kit: KitDep) -> TokenValidationRead:
    claims, reason = await sessions.validate(kit, session, body.token, utcnow())
    if claims is None:
        return TokenValidationRead(valid=False, reason=reason)
    return TokenValidationRead(
        valid=True,
        subject=str(claims["sub"]),
        username=claims.get("preferred_username"),
        permissions=list(claims.get("permissions") or []),
        roles=list(claims.get("roles") or []),
        institution_id=claims.get("institution_id"),
        agency_id=claims.get("agency_id"),
        client_id=claims.get("client_id"),
        session_id=claims.get("sid"),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


@router.post(
    "/api/auth/logout",
    response_model=SuccessRead,
    summary="End the session of an access token (the token in the body authenticates)",
)
async def logout(body: TokenCreate, session: SessionDep, kit: KitDep, origin: OriginDep) -> SuccessRead:
    claims = await kit.verifier.verify(body.token)
    await sessions.logout(kit, session, claims, origin, utcnow())
    return SuccessRead()


@router.post(
    "/api/auth/password",
    response_model=SuccessRead,
    summary="Change your own password (any signed-in user; ends every session)",
)
async def change_password(
    body: PasswordUpdate, principal: CurrentPrincipal, session: SessionDep, kit: KitDep, origin: OriginDep
) -> SuccessRead:
    await users.change_password(
        kit, session, principal, body.current_password, body.new_password, acting(origin, principal), utcnow()
    )
    return SuccessRead()


@router.get(
    "/.well-known/jwks.json",
    response_model=JwksRead,
    summary="Public signing keys (public; cache for a few minutes)",
)
async def jwks(kit: KitDep) -> JSONResponse:
    return JSONResponse(await kit.ring.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.post(
    "/api/auth/keys/rotate",
    response_model=KeyRotatedRead,
    summary=f"Rotate the signing key (permission {KEYS_ROTATE})",
)
async def rotate_keys(
    principal: Annotated[Principal, Depends(require(KEYS_ROTATE))],
    session: SessionDep,
    kit: KitDep,
    origin: OriginDep,
) -> KeyRotatedRead:
    return KeyRotatedRead(kid=await bootstrap.rotate_keys(kit, session, acting(origin, principal)))
