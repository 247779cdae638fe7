"""The sandbox provider and its endpoint exist in development only; deployments name the real one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from caisse_payments.config import Settings
from payments_testkit import create_app, make_settings

ROOT = Path(__file__).resolve().parents[4]
SANDBOX = "/api/payments/sandbox-test"
STRONG = dict.fromkeys(
    (
        "kkiapay_webhook_secret",
        "mtn_momo_webhook_secret",
        "moov_webhook_secret",
        "bank_transfer_webhook_secret",
        "notification_secret",
        "receipt_secret",
        "kkiapay_api_key",
    ),
    "x" * 40,
)


async def _sandbox_route(settings: Settings, tf: Any) -> tuple[bool, int]:
    """Whether the OpenAPI lists the sandbox endpoint, and what a call to it answers."""
    app = create_app(settings, verifier=tf.verifier())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            listed = SANDBOX in (await c.get("/openapi.json")).json()["paths"]
            body = {"reference_number": "PAYX", "outcome": "SUCCESS"}
            status = (await c.post(SANDBOX, json=body, headers=tf.headers("payments:initiate"))).status_code
    finally:
        await app.state.database.dispose()
    return listed, status


async def test_sandbox_endpoint_only_with_the_sandbox_provider_in_development(
    db_url: str, token_factory: Any
) -> None:
    assert await _sandbox_route(make_settings(db_url), token_factory) == (True, 404)  # no PAYX
    listed, status = await _sandbox_route(make_settings(db_url, provider="kkiapay"), token_factory)
    assert not listed
    assert status in (404, 405)  # no such route (405: only GET /{referenceNumber} matches the path)


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
async def test_no_sandbox_endpoint_outside_development(
    db_url: str, token_factory: Any, environment: str
) -> None:
    settings = make_settings(db_url, environment=environment, provider="kkiapay", **STRONG)
    listed, status = await _sandbox_route(settings, token_factory)
    assert not listed
    assert status in (404, 405)


def _documents(folder: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text("utf-8")) if isinstance(d, dict)]
    return docs


def _payments_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Plain env values of the payments containers and the shared ConfigMap literals."""
    env: dict[str, str] = {}
    for doc in docs:
        if doc.get("kind") == "ConfigMap":
            env.update(doc.get("data") or {})
        if doc.get("kind") == "Deployment" and doc["metadata"]["name"] == "payments":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def test_k8s_sets_a_real_provider_and_no_overlay_brings_back_the_sandbox() -> None:
    env = _payments_env(_documents(ROOT / "deploy" / "k8s" / "base"))
    assert env.get("CAISSE_PAYMENTS_PROVIDER") == "kkiapay"
    assert env["CAISSE_ENV"] != "development"
    overlays = (ROOT / "deploy" / "k8s" / "overlays").rglob("*.yaml")
    for overlay in overlays:
        text = overlay.read_text("utf-8")
        assert "sandbox" not in text.lower(), overlay
        assert "CAISSE_ENV=development" not in text, overlay
