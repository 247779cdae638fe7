"""Signed webhook intake: allowlist, HMAC + timestamp window, replay guard, then ingest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from caisse_shared.db import Database
from caisse_shared.errors import Forbidden, NotFound, Unprocessable
from caisse_shared.http.net import client_address, within

from caisse_payments.config import Settings
from caisse_payments.domain import signature
from caisse_payments.domain.channels import TRANSFORMS
from caisse_payments.domain.model import DateBounds, check_paid_at
from caisse_payments.domain.payload import parse_payload
from caisse_payments.services.ingest import IngestContext, IngestResult, ingest_delivery

SIGNATURE_HEADER = "x-caisse-signature"
TIMESTAMP_HEADER = "x-caisse-timestamp"


class UnknownChannel(Unprocessable):
    """A ``/webhooks/{channel}`` path naming no aggregator channel."""

    title, code = "Unknown webhook channel", "unknown_channel"


# Channels served under ``/webhooks/{channel}`` (``notification`` has its own path).
CHANNEL_WEBHOOKS = ("kkiapay", "mtn-momo", "moov", "bank-transfer")


def channel_source(channel: str) -> str:
    """The webhook source of a ``/webhooks/{channel}`` path, or 422."""
    if channel not in CHANNEL_WEBHOOKS:
        raise UnknownChannel(f"unknown webhook channel {channel[:40]!r}")
    return channel


def secret_for(settings: Settings, source: str) -> str:
    """The HMAC secret of one webhook source."""
    secrets = {
        "notification": settings.notification_secret,
        "kkiapay": settings.kkiapay_webhook_secret,
        "mtn-momo": settings.mtn_momo_webhook_secret,
        "moov": settings.moov_webhook_secret,
        "bank-transfer": settings.bank_transfer_webhook_secret,
    }
    return secrets[source].get_secret_value()


def check_allowlist(
    settings: Settings, source: str, client_ip: str | None, forwarded_for: str | None = None
) -> None:
    """Refuse a source address outside the channel's allowlist (when one is configured)."""
    allowed = settings.webhook_ip_allowlist.get(source)
    if not allowed:
        return
    caller = client_address(client_ip, forwarded_for, settings.webhook_trusted_proxies)
    if not within(caller, allowed):
        raise Forbidden("source address not allowed")


async def receive(
    database: Database,
    settings: Settings,
    ctx: IngestContext,
    *,
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    client_ip: str | None,
    forwarded_for: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Authenticate one webhook delivery and ingest its payment exactly once (own transaction)."""
    if source not in TRANSFORMS:
        raise NotFound(f"unknown webhook channel {source!r}")
    check_allowlist(settings, source, client_ip, forwarded_for)
    moment = now or datetime.now(UTC)
    sig = headers.get(SIGNATURE_HEADER)
    signature.verify(
        secret_for(settings, source),
        headers.get(TIMESTAMP_HEADER),
        sig,
        body,
        now=moment.timestamp(),
        tolerance_s=settings.webhook_tolerance_s,
    )
    assert sig is not None
    _, transform = TRANSFORMS[source]
    bounds = DateBounds.of(settings.payment_date_floor, settings.payment_date_max_ahead_s)
    notification = check_paid_at(transform(parse_payload(body), moment), moment, bounds)
    return await ingest_delivery(database, notification, ctx, (source, signature.delivery_id(sig)))
