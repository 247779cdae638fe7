"""Collection end to end, across auth, bank-sync, payments and collection over HTTP and Kafka only.

A T24 extract with a delinquent loan is synced -> collection opens a case and assigns it to an
agent -> the agent records a promise to pay -> a signed mobile-money webhook pays the loan ->
the promise is kept, the case settled and the agent's performance shows the amount. Then the same
scenario replayed with duplicated events (every event copied back onto its topic, the webhook
resent, the sync rerun) changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from caisse_bank_sync.synthetic import customer_row, loan_row, write_rows

from .helpers import Bus, Suite, Users, event_ids, events_by_topic, eventually

pytestmark = pytest.mark.e2e

DELINQUENCY = "banksync.loan.delinquency_changed"
LOAN_UPDATED = "banksync.loan.updated"
PAYMENT_RECEIVED = "payments.payment.received"
# What collection announces for the scenario: opened (NEW), -> PROMISE, -> SETTLED; one
# assignment; one action recorded.
COLLECTION_EVENTS = {
    "collection.case.status_changed": 3,
    "collection.customer.assigned": 1,
    "collection.action.recorded": 1,
}
OVERDUE, DPD = 60_000, 45  # XOF: no minor unit
WEBHOOK_SECRET = "dev-secret"  # payments' development default for the mtn-momo channel


@dataclass(frozen=True)
class Paid:
    """What the first pass of the scenario produced."""

    cif: str
    account: str
    agent_id: str
    payment_reference: str
    webhook_body: bytes
    webhook_headers: dict[str, str]


def write_extract(suite: Suite, cif: str, account: str) -> None:
    """A T24 extract (synthetic layout): one customer with one loan 45 days past due."""
    customer = {**customer_row(0), "cif": cif, "institution_id": suite.institution}
    loan = {
        **loan_row(0, 1, delinquent_ratio=1.0),
        "account_number": account,
        "cif": cif,
        "currency": "XOF",
        "status": "ACTIVE",
        "outstanding_principal": "500000",
        "outstanding_interest": "25000",
        "outstanding_penalties": "5000",
        "overdue_amount": str(OVERDUE),
        "days_past_due": str(DPD),
        "institution_id": suite.institution,
    }
    write_rows("T24", suite.extract_dir, "customer", [customer], append=False)
    write_rows("T24", suite.extract_dir, "loan", [loan], append=False)


async def run_sync(suite: Suite, users: Users) -> dict[str, Any]:
    """``POST /api/sync/run`` for T24 and poll the job until it ends; it must complete."""
    resp = await suite.bank_sync.post(
        "/api/sync/run", json={"source": "T24", "mode": "FULL"}, headers=users.operator
    )
    assert resp.status_code == 202, resp.text
    url = f"/api/sync/jobs/{resp.json()['id']}"

    async def ended() -> dict[str, Any] | None:
        job = (await suite.bank_sync.get(url, headers=users.operator)).json()
        return job if job["status"] in ("COMPLETED", "FAILED") else None

    job = await eventually(ended, "the T24 sync job")
    assert job["status"] == "COMPLETED" and job["errors"] == 0, job
    return job


async def create_agent(suite: Suite, users: Users) -> dict[str, Any]:
    """The manager creates a team and registers the auth user ``e2e-agent`` as its agent."""
    team = await suite.collection.post("/api/teams", headers=users.manager, json={"name": "Recouvrement E2E"})
    assert team.status_code == 201, team.text
    agent = await suite.collection.post(
        "/api/agents",
        headers=users.manager,
        json={
            "code": "AG-E2E",
            "name": "Agent E2E",
            "user_id": users.agent_subject,
            "team_id": team.json()["id"],
        },
    )
    assert agent.status_code == 201, agent.text
    return dict(agent.json())


async def case_of(suite: Suite, users: Users, cif: str) -> dict[str, Any] | None:
    """The customer's case as the manager sees it (None while collection has none)."""
    resp = await suite.collection.get(f"/api/cases/customer/{cif}/summary", headers=users.manager)
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def promise_to_pay(suite: Suite, users: Users, cif: str, account: str) -> dict[str, Any]:
    """The agent records that the customer promised to pay the arrears within three days."""
    due = datetime.now(UTC).date() + timedelta(days=3)
    resp = await suite.collection.post(
        "/api/actions",
        headers=users.agent,
        json={
            "cif": cif,
            "account_number": account,
            "action_type": "PROMISE_TO_PAY",
            "result": "PROMISED",
            "promise_amount": OVERDUE,
            "promise_currency": "XOF",
            "promise_date": due.isoformat(),
            "notes": "paiera par MTN MoMo",
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def signed(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Webhook headers: ``sha256=HMAC(secret, timestamp + "." + body)`` as payments documents."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return {
        "X-Caisse-Timestamp": stamp,
        "X-Caisse-Signature": f"sha256={mac.hexdigest()}",
        "Content-Type": "application/json",
    }


def momo_callback(account: str) -> bytes:
    """An MTN MoMo collection callback paying the loan's arrears."""
    return json.dumps(
        {
            "financialTransactionId": f"MTN-{uuid.uuid4().hex[:12]}",
            "externalId": account,
            "amount": str(OVERDUE),
            "currency": "XOF",
            "status": "SUCCESSFUL",
            "payer": {"partyIdType": "MSISDN", "partyId": "22177000111"},
        }
    ).encode()


async def promise_status(suite: Suite, users: Users, cif: str) -> str | None:
    """Status of the promise recorded on the customer (None if there is none)."""
    resp = await suite.collection.get(f"/api/actions/customer/{cif}", headers=users.manager)
    assert resp.status_code == 200, resp.text
    promises = [a["promise_status"] for a in resp.json() if a["promise_id"] is not None]
    assert len(promises) <= 1, promises
    return promises[0] if promises else None


async def performance(suite: Suite, users: Users, agent_id: str) -> dict[str, Any]:
    """The agent's figures for the last 30 days."""
    resp = await suite.collection.get(f"/api/agents/{agent_id}/performance", headers=users.manager)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def open_assigned_case(
    suite: Suite, users: Users, bus: Bus, cif: str, account: str, agent_id: str
) -> None:
    """Sync, then wait for collection's assigned case and for payments' loan read model."""
    job = await run_sync(suite, users)
    assert (job["entitiesCreated"], job["entitiesUpdated"]) == (2, 0), job

    async def assigned() -> dict[str, Any] | None:
        case = await case_of(suite, users, cif)
        return case if case is not None and case["agent_id"] is not None else None

    case = await eventually(assigned, f"collection to open and assign a case for {cif}")
    assert (case["agent_id"], case["status"]) == (agent_id, "NEW"), case
    assert (case["overdue_amount"], case["days_past_due"], case["bucket"]) == (OVERDUE, DPD, "31-60")
    # payments allocates against its loan read model: it must have consumed the snapshot first.
    snapshot = await bus.read([LOAN_UPDATED], account, want=1)
    await bus.wait_consumed(
        suite.groups["payments"], {TopicPartition(r.topic, r.partition): r.offset for r in snapshot}
    )


async def pay_by_webhook(suite: Suite, account: str) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    """Send a signed MTN MoMo webhook; payments allocates it to the loan."""
    body = momo_callback(account)
    headers = signed(body)
    resp = await suite.payments.post("/api/payments/webhooks/mtn-momo", content=body, headers=headers)
    assert resp.status_code == 201, resp.text
    payment = dict(resp.json())
    assert (payment["status"], payment["amount"], payment["account_number"]) == (
        "ALLOCATED",
        OVERDUE,
        account,
    ), payment
    assert (
        payment["allocated_penalties"] + payment["allocated_interest"] + payment["allocated_principal"]
        == OVERDUE
    ), payment
    return body, headers, payment


@pytest.fixture(scope="module")
async def paid(suite: Suite, users: Users, bus: Bus) -> Paid:
    """First pass: sync -> case assigned -> promise -> webhook payment -> promise kept."""
    run = uuid.uuid4().hex[:8].upper()
    cif, account = f"CIFE2E{run}", f"LNE2E{run}"
    agent = await create_agent(suite, users)
    write_extract(suite, cif, account)
    await open_assigned_case(suite, users, bus, cif, account, agent["id"])
    action = await promise_to_pay(suite, users, cif, account)
    assert (action["promise_status"], action["agent_id"]) == ("PENDING", agent["id"]), action
    assert (await case_of(suite, users, cif) or {}).get("status") == "PROMISE"
    body, headers, payment = await pay_by_webhook(suite, account)

    async def kept() -> bool:
        case = await case_of(suite, users, cif) or {}
        return await promise_status(suite, users, cif) == "KEPT" and case.get("status") == "SETTLED"

    await eventually(kept, "the promise to be kept and the case settled")
    return Paid(cif, account, agent["id"], payment["reference_number"], body, headers)


async def test_paid_loan_keeps_the_promise_and_credits_the_agent(
    suite: Suite, users: Users, paid: Paid
) -> None:
    """After the webhook: case settled, promise kept, the agent credited with the amount."""
    case = await case_of(suite, users, paid.cif)
    assert case is not None
    assert (case["status"], case["agent_id"], case["overdue_amount"], case["days_past_due"]) == (
        "SETTLED",
        paid.agent_id,
        0,
        0,
    ), case
    assert [(ln["account_number"], ln["overdue_amount"]) for ln in case["loans"]] == [(paid.account, 0)]
    history = (await suite.collection.get(f"/api/cases/customer/{paid.cif}", headers=users.manager)).json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("OPENED", None, "NEW"),
        ("STATUS_CHANGE", "NEW", "PROMISE"),
        ("STATUS_CHANGE", "PROMISE", "SETTLED"),
    ], history
    perf = await performance(suite, users, paid.agent_id)
    assert perf["collected"] == {"XOF": OVERDUE}, perf
    assert (
        perf["contacts"],
        perf["promises"],
        perf["promises_kept"],
        perf["kept_rate"],
        perf["cases_resolved"],
    ) == (1, 1, 1, 1.0, 1), perf
    assignments = (
        await suite.collection.get(f"/api/assignments/customer/{paid.cif}", headers=users.manager)
    ).json()
    assert [(a["agent_id"], a["method"], a["active"]) for a in assignments] == [
        (paid.agent_id, "AUTO", True)
    ], assignments
    payments = (await suite.payments.get(f"/api/payments/loan/{paid.account}", headers=users.agent)).json()
    assert [(p["reference_number"], p["status"], p["cif"]) for p in payments] == [
        (paid.payment_reference, "ALLOCATED", paid.cif)
    ], payments


async def test_collection_announces_the_workflow_on_kafka(bus: Bus, paid: Paid) -> None:
    """The case opening, the assignment, the promise and the settlement are published, keyed by CIF."""
    published = await bus.read(COLLECTION_EVENTS, paid.cif, want=sum(COLLECTION_EVENTS.values()))
    assert events_by_topic(published) == COLLECTION_EVENTS, published


async def observable_state(suite: Suite, users: Users, paid: Paid) -> dict[str, Any]:
    """Everything the services expose about the scenario, over HTTP."""
    urls = {
        "case": f"/api/cases/customer/{paid.cif}/summary",
        "history": f"/api/cases/customer/{paid.cif}",
        "actions": f"/api/actions/customer/{paid.cif}",
        "assignments": f"/api/assignments/customer/{paid.cif}",
        "performance": f"/api/agents/{paid.agent_id}/performance",
        "workload": f"/api/agents/{paid.agent_id}/workload",
    }
    state: dict[str, Any] = {}
    for name, url in urls.items():
        resp = await suite.collection.get(url, headers=users.manager)
        assert resp.status_code == 200, (url, resp.text)
        state[name] = resp.json()
    for name, url in {
        "payments": f"/api/payments/loan/{paid.account}",
        "payment": f"/api/payments/{paid.payment_reference}",
    }.items():
        resp = await suite.payments.get(url, headers=users.agent)
        assert resp.status_code == 200, (url, resp.text)
        state[name] = resp.json()
    loan = await suite.bank_sync.get(f"/api/loans/{paid.account}", headers=users.operator)
    assert loan.status_code == 200, loan.text
    state["loan"] = loan.json()
    return state


async def resend_webhook(suite: Suite, paid: Paid) -> None:
    """The exact delivery again is refused as a replay; a provider retry gets the same payment."""
    url = "/api/payments/webhooks/mtn-momo"
    replay = await suite.payments.post(url, content=paid.webhook_body, headers=paid.webhook_headers)
    assert replay.status_code == 409, replay.text
    later = int(paid.webhook_headers["X-Caisse-Timestamp"]) + 1
    retry = await suite.payments.post(
        url, content=paid.webhook_body, headers=signed(paid.webhook_body, later)
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["reference_number"] == paid.payment_reference


async def replay_events(suite: Suite, bus: Bus, paid: Paid) -> None:
    """Copy every event of the scenario back onto its topic, twice, and wait until consumed."""
    topics = [DELINQUENCY, LOAN_UPDATED, PAYMENT_RECEIVED]
    records = await bus.read(topics, paid.account, want=3)
    # One event each: the rerun sync and the resent webhook published nothing new.
    assert events_by_topic(records) == dict.fromkeys(topics, 1), records
    last = await bus.republish([*records, *records])
    await bus.wait_consumed(suite.groups["collection"], last)
    await bus.wait_consumed(
        suite.groups["payments"], {tp: off for tp, off in last.items() if tp.topic == LOAN_UPDATED}
    )
    again = await bus.read(topics, paid.account, want=3)
    assert (event_ids(again), len(again)) == (event_ids(records), 3 * len(records)), again


async def test_replaying_duplicated_events_changes_nothing(
    suite: Suite, users: Users, bus: Bus, paid: Paid
) -> None:
    """Rerun sync, resent webhook and duplicated events: same case, promise, money, assignments."""
    before = await observable_state(suite, users, paid)
    job = await run_sync(suite, users)
    assert (job["entitiesCreated"], job["entitiesUpdated"], job["entitiesUnchanged"]) == (0, 0, 2), job
    await resend_webhook(suite, paid)
    await replay_events(suite, bus, paid)
    after = await observable_state(suite, users, paid)
    assert after == before
    assert after["performance"]["collected"] == {"XOF": OVERDUE}
    assert len(after["payments"]) == 1 and len(after["assignments"]) == 1
    # collection announced nothing new: no status change, assignment or action event
    published = await bus.read(COLLECTION_EVENTS, paid.cif, want=sum(COLLECTION_EVENTS.values()))
    assert events_by_topic(published) == COLLECTION_EVENTS, published
    metrics = (await suite.collection.get("/metrics")).text
    for group in suite.groups.values():
        assert f'caisse_consumer_events_total{{consumer="{group}"' in metrics
        assert f'caisse_dlq_messages_total{{consumer="{group}"' not in metrics
        assert f'caisse_retry_messages_total{{consumer="{group}"' not in metrics
