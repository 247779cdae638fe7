"""Outbound aggregator adapters (initiate / check status): KKiaPay over httpx, and a sandbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

import httpx
from caisse_shared.errors import AppError

from caisse_payments.config import Settings
from caisse_payments.domain.identifiers import MAX_LENGTH
from caisse_payments.domain.model import NotificationOutcome


class ProviderUnavailable(AppError):
    """The aggregator did not answer or answered with an error."""

    status, title, code = 502, "Payment provider unavailable", "provider_unavailable"


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """What we ask the aggregator to collect."""

    reference_number: str
    amount: int
    currency: str
    phone: str
    description: str


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """The aggregator's view of one transaction."""

    provider_reference: str
    outcome: NotificationOutcome
    failure_reason: str | None = None


class PaymentProvider(Protocol):
    """An aggregator we can ask to collect money and query."""

    name: str

    async def initiate(self, req: InitiateRequest) -> ProviderStatus: ...
    async def status(self, provider_reference: str) -> ProviderStatus: ...


class SandboxProvider:
    """Stateless sandbox: a phone ending in 9 fails, any other succeeds (like official test numbers)."""

    name = "sandbox"

    async def initiate(self, req: InitiateRequest) -> ProviderStatus:
        """Accept the request; the outcome is encoded in the reference so any worker can answer."""
        suffix = "F" if req.phone.strip().endswith("9") else "S"
        ref = f"SBX-{uuid.uuid4().hex[:16]}-{suffix}"
        return ProviderStatus(ref, NotificationOutcome.PENDING)

    async def status(self, provider_reference: str) -> ProviderStatus:
        """Final outcome of a sandbox transaction."""
        if not provider_reference.startswith("SBX-"):
            return ProviderStatus(provider_reference, NotificationOutcome.PENDING)
        if provider_reference.endswith("-F"):
            return ProviderStatus(
                provider_reference, NotificationOutcome.FAILED, "sandbox: insufficient funds"
            )
        return ProviderStatus(provider_reference, NotificationOutcome.SUCCESS)


class KkiapayProvider:
    """KKiaPay-style REST API through httpx (base URL and key from settings)."""

    name = "kkiapay"

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=settings.kkiapay_base_url,
            timeout=settings.provider_timeout_s,
            headers={"x-api-key": settings.kkiapay_api_key.get_secret_value()},
            transport=transport,
        )

    async def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        try:
            resp = await self._client.post(path, json=body)
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"aggregator call failed: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable("aggregator answered with an unexpected body")
        return data

    @staticmethod
    def _parse(data: dict[str, object]) -> ProviderStatus:
        ref = data.get("transactionId")
        if not isinstance(ref, str) or not ref:
            raise ProviderUnavailable("aggregator answer lacks transactionId")
        if len(ref) > MAX_LENGTH["provider_reference"]:  # never cut; its webhook is still recorded
            raise ProviderUnavailable("aggregator answered with a transactionId too long to store")
        status = str(data.get("status", "PENDING")).upper()
        outcome = {"SUCCESS": NotificationOutcome.SUCCESS, "FAILED": NotificationOutcome.FAILED}
        reason = data.get("reason")
        return ProviderStatus(
            ref, outcome.get(status, NotificationOutcome.PENDING), str(reason) if reason else None
        )

    async def initiate(self, req: InitiateRequest) -> ProviderStatus:
        """Request a mobile-money debit of the payer."""
        return self._parse(
            await self._post(
                "/api/v1/payments/request",
                {
                    "amount": req.amount,
                    "currency": req.currency,
                    "phone": req.phone,
                    "reason": req.description,
                    "partnerId": req.reference_number,
                },
            )
        )

    async def status(self, provider_reference: str) -> ProviderStatus:
        """Ask the aggregator for a transaction's status."""
        return self._parse(
            await self._post("/api/v1/transactions/status", {"transactionId": provider_reference})
        )


def make_provider(settings: Settings) -> PaymentProvider:
    """The configured adapter."""
    return KkiapayProvider(settings) if settings.provider == "kkiapay" else SandboxProvider()
