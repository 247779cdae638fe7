"""/api/auth/oauth/token (client credentials) and /api/clients (their administration)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated
from urllib.parse import parse_qs

from caisse_shared.errors import AppError, Unprocessable
from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import Principal, require
from caisse_shared.permissions import AUTH_USERS_READ, AUTH_USERS_WRITE
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from caisse_auth.api.deps import KitDep, OriginDep, SessionDep, acting, error_response
from caisse_auth.api.schemas import ClientCreate, ClientCreatedRead, ClientRead, ClientTokenRead
from caisse_auth.services import clients

router = APIRouter(tags=["clients"])
Reader = Annotated[Principal, Depends(require(AUTH_USERS_READ))]
Writer = Annotated[Principal, Depends(require(AUTH_USERS_WRITE))]
ClientRef = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9._-]+$")]


async def _token_request(request: Request) -> dict[str, str]:
    """Form (RFC 6749) or JSON body, plus HTTP Basic client authentication."""
    raw = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(raw or b"{}")
            fields = {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        else:
            fields = {k: v[0] for k, v in parse_qs(raw.decode(), strict_parsing=False).items()}
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("body must be form-encoded or JSON") from None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unprocessable("malformed Basic credentials") from None
        fields.setdefault("client_id", cid)
        fields.setdefault("client_secret", secret)
    return fields


@router.post(
    "/api/auth/oauth/token",
    response_model=ClientTokenRead,
    summary="OAuth2 client-credentials grant (public; client authenticates)",
)
async def client_token(
    request: Request, session: SessionDep, kit: KitDep, origin: OriginDep
) -> ClientTokenRead | JSONResponse:
    f = await _token_request(request)
    if f.get("grant_type") != "client_credentials":
        raise Unprocessable("grant_type must be client_credentials", error="unsupported_grant_type")
    cid, secret = f.get("client_id", ""), f.get("client_secret", "")
    if not cid or not secret or len(cid) > 100 or len(secret) > 256 or "\x00" in cid + secret:
        raise Unprocessable("client_id and client_secret are required", error="invalid_request")
    result = await clients.issue(kit, session, cid, secret, f.get("scope"), origin, utcnow())
    if isinstance(result, AppError):
        return error_response(request, result)
    token, scope = result
    return ClientTokenRead(
        access_token=token, expires_in=kit.settings.client_token_ttl_s, scope=" ".join(scope)
    )


@router.post(
    "/api/clients",
    response_model=ClientCreatedRead,
    status_code=201,
    summary=f"Register an OAuth2 client; the secret is shown once ({AUTH_USERS_WRITE})",
)
async def register(
    body: ClientCreate, principal: Writer, session: SessionDep, origin: OriginDep
) -> ClientCreatedRead:
    client, secret = await clients.register(
        session,
        principal,
        body.client_id,
        body.name,
        body.permissions,
        body.institution_id,
        acting(origin, principal),
    )
    return ClientCreatedRead(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.get(
    "/api/clients", response_model=list[ClientRead], summary=f"List OAuth2 clients ({AUTH_USERS_READ})"
)
async def list_clients(principal: Reader, session: SessionDep) -> list[ClientRead]:
    return [ClientRead.model_validate(c) for c in await clients.list_clients(session, principal)]


@router.delete(
    "/api/clients/{client_id}",
    response_model=ClientRead,
    summary=f"Deactivate a client; its tokens stop validating ({AUTH_USERS_WRITE})",
)
async def deactivate(
    client_id: ClientRef, principal: Writer, session: SessionDep, origin: OriginDep
) -> ClientRead:
    client = await clients.deactivate(session, principal, client_id, acting(origin, principal))
    return ClientRead.model_validate(client)
