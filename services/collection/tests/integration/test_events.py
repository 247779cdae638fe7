"""Kafka in, Kafka out: bank-sync and payment events drive cases; promise kept / broken;
duplicates change nothing; the outbox publishes the three workflow events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from caisse_collection.db.models import PaymentCredit, PromiseToPay
from caisse_collection.main import create_app
from caisse_collection.services import jobs
from caisse_shared import permissions as P
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.testing.kafka import next_offsets, wait_for_committed
from sqlalchemy import func, select

pytestmark = pytest.mark.integration
ALL = [v for k, v in vars(P).items() if k.startswith("COLLECTION_")]
INST = "SFD-INT"


@pytest.fixture(scope="module")
async def live(
    pg: Any, kafka_bootstrap: str, token_factory: Any, service_dir: Any, settings_factory: Any
) -> AsyncIterator[dict[str, Any]]:
    """The app with its relay, consumer and scheduler running, and a producer."""
    url = await pg.migrated_database(service_dir)
    group = f"collection-{uuid.uuid4().hex[:8]}"
    app = create_app(
        settings_factory(
            url, kafka_bootstrap, consumer_group=group, jobs_interval_s=3600, run_jobs_on_start=False
        ),
        verifier=token_factory.verifier(),
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield {
                "app": app,
                "client": client,
                "producer": producer,
                "db": app.state.database,
                "bootstrap": kafka_bootstrap,
                "group": group,
                "tf": token_factory,
            }
    await producer.stop()


@pytest.fixture
async def env(live: dict[str, Any]) -> dict[str, Any]:
    """This test's own institution and agent (its cases are assigned to her alone)."""
    inst, tf = f"{INST}-{uuid.uuid4().hex[:8]}", live["tf"]
    mgr = tf.headers(*ALL, sub="mgr", institution_id=inst)
    resp = await live["client"].post(
        "/api/agents", headers=mgr, json={"code": "A1", "name": "Awa", "user_id": "awa"}
    )
    assert resp.status_code == 201, resp.text
    awa = tf.headers(*ALL[:-1], sub="awa", institution_id=inst)
    return {**live, "inst": inst, "mgr": mgr, "agent": resp.json(), "awa": awa, "sent": []}


async def send(
    env: dict[str, Any],
    topic: str,
    event_type: str,
    key: str,
    payload: dict[str, Any],
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Produce one event the way the owning service's relay would (its offset kept in env["sent"])."""
    ev = Event(
        event_type=event_type,
        topic=topic,
        key=key,
        payload=payload,
        event_id=event_id or uuid.uuid4(),
        producer="test",
    )
    value = default_registry().encode(event_type, 1, payload)
    meta = await env["producer"].send_and_wait(topic, value=value, key=key.encode(), headers=ev.headers())
    env["sent"].append(meta)
    return ev.event_id


def delinquency(cif: str, account: str, dpd: int, overdue: int, institution: str) -> dict[str, Any]:
    """A LoanDelinquencyChanged payload."""
    return {
        "account_number": account,
        "cif": cif,
        "source_system": "T24",
        "currency": "XOF",
        "previous_bucket": "CURRENT",
        "current_bucket": "1-30",
        "days_past_due": dpd,
        "overdue_amount": overdue,
        "outstanding_amount": 1_000_000,
        "institution_id": institution,
        "agency_id": None,
    }


def payment(pid: str, cif: str, account: str, amount: int) -> dict[str, Any]:
    """A PaymentReceived payload."""
    return {
        "payment_id": pid,
        "reference_number": f"REF-{pid}",
        "channel": "MTN_MOMO",
        "provider_reference": f"P-{pid}",
        "account_number": account,
        "cif": cif,
        "amount": amount,
        "currency": "XOF",
        "status": "ALLOCATED",
        "paid_at": datetime.now(UTC),
    }


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Poll until ``check`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


async def case_of(env: dict[str, Any], cif: str) -> dict[str, Any] | None:
    resp = await env["client"].get(f"/api/cases/customer/{cif}/summary", headers=env["mgr"])
    return resp.json() if resp.status_code == 200 else None


async def open_case(env: dict[str, Any], cif: str, overdue: int = 60_000) -> None:
    await send(
        env,
        "banksync.loan.delinquency_changed",
        "banksync.LoanDelinquencyChanged",
        f"L-{cif}",
        delinquency(cif, f"L-{cif}", 20, overdue, env["inst"]),
    )

    async def ready() -> bool:
        case = await case_of(env, cif)
        return case is not None and case["agent_id"] is not None

    await eventually(ready)


async def promise(env: dict[str, Any], cif: str, amount: int, days: int = 3) -> dict[str, Any]:
    due = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
    resp = await env["client"].post(
        "/api/actions",
        headers=env["awa"],
        json={
            "cif": cif,
            "action_type": "PROMISE_TO_PAY",
            "account_number": f"L-{cif}",
            "promise_amount": amount,
            "promise_currency": "XOF",
            "promise_date": due,
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_delinquency_opens_assigns_and_payment_keeps_promise(env: dict[str, Any]) -> None:
    await open_case(env, "K1")
    case = await case_of(env, "K1")
    assert case is not None
    assert (case["status"], case["agent_id"]) == ("NEW", env["agent"]["id"])
    await promise(env, "K1", 25_000)
    assert (await case_of(env, "K1"))["status"] == "PROMISE"  # type: ignore[index]
    pay = payment("PAY-K1", "K1", "L-K1", 25_000)
    eid = await send(env, "payments.payment.received", "payments.PaymentReceived", "L-K1", pay)
    await send(
        env, "payments.payment.received", "payments.PaymentReceived", "L-K1", pay, event_id=eid
    )  # redelivery: same event id
    await send(env, "payments.payment.received", "payments.PaymentReceived", "L-K1", pay)

    async def kept() -> bool:
        acts = (await env["client"].get("/api/actions/customer/K1", headers=env["mgr"])).json()
        return any(a["promise_status"] == "KEPT" for a in acts)

    await eventually(kept)
    await wait_for_committed(env["bootstrap"], env["group"], next_offsets(env["sent"]))  # duplicates too
    case = await case_of(env, "K1")
    assert case is not None
    assert (case["status"], case["overdue_amount"]) == ("IN_PROGRESS", 35_000)
    perf = (
        await env["client"].get(f"/api/agents/{env['agent']['id']}/performance", headers=env["mgr"])
    ).json()
    assert perf["collected"] == {"XOF": 25_000}
    assert (perf["promises_kept"], perf["kept_rate"]) == (1, 1.0)


async def test_full_payment_settles_and_reversal_reopens(env: dict[str, Any]) -> None:
    await open_case(env, "K2", overdue=40_000)
    await send(
        env,
        "payments.payment.received",
        "payments.PaymentReceived",
        "L-K2",
        payment("PAY-K2", "K2", "L-K2", 40_000),
    )

    async def status_is(s: str) -> bool:
        case = await case_of(env, "K2")
        return case is not None and case["status"] == s

    await eventually(lambda: status_is("SETTLED"))
    await send(
        env,
        "payments.payment.reversed",
        "payments.PaymentReversed",
        "L-K2",
        {
            "payment_id": "REV-K2",
            "reference_number": "R",
            "original_payment_id": "PAY-K2",
            "account_number": "L-K2",
            "cif": "K2",
            "amount": 40_000,
            "currency": "XOF",
            "reason": "chargeback",
            "reversed_at": datetime.now(UTC),
        },
    )
    await eventually(lambda: status_is("NEW"))
    async with env["db"].unit_of_work() as s:
        net = (
            await s.execute(select(func.sum(PaymentCredit.amount)).where(PaymentCredit.cif == "K2"))
        ).scalar_one()
    assert net == 0


async def test_broken_promise_detected_by_job(env: dict[str, Any]) -> None:
    await open_case(env, "K3")
    await promise(env, "K3", 10_000, days=1)
    later = datetime.now(UTC).date() + timedelta(days=3)
    async with env["db"].unit_of_work() as s:
        assert await jobs.detect_broken_promises(s, later) == 1  # K3's (K1's is due on `later`)
    async with env["db"].unit_of_work() as s:
        assert await jobs.detect_broken_promises(s, later) == 0  # idempotent
        p = (await s.execute(select(PromiseToPay).where(PromiseToPay.cif == "K3"))).scalar_one()
        assert p.status == "BROKEN"
    case = await case_of(env, "K3")
    assert case is not None
    assert (case["status"], case["broken_promises"], case["reminder_level"]) == ("BROKEN_PROMISE", 1, "FIRM")


async def test_outbox_publishes_workflow_events(env: dict[str, Any]) -> None:
    await open_case(env, "K4")
    resp = await env["client"].post(
        "/api/actions", headers=env["awa"], json={"cif": "K4", "action_type": "SMS"}
    )
    assert resp.status_code == 201
    consumer = AIOKafkaConsumer(
        "collection.action.recorded",
        "collection.customer.assigned",
        "collection.case.status_changed",
        bootstrap_servers=env["bootstrap"],
        group_id=f"t-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: set[str] = set()
    try:

        async def got_all() -> bool:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.key == b"K4":
                        seen.add(dict(r.headers)["event_type"].decode())
            return {
                "collection.CustomerAssigned",
                "collection.CaseStatusChanged",
                "collection.ActionRecorded",
            } <= seen

        await eventually(got_all, timeout=40)
    finally:
        await consumer.stop()
