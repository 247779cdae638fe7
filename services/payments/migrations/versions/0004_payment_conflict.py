"""payments: payment_conflict, the provider deliveries that disagree with a stored payment.

A retry of a known provider reference with another amount, loan, customer, transaction type
or outcome (SUCCESSFUL then FAILED) keeps the payment exactly once; the disagreeing delivery is
kept here whole (raw payload) and the payment is flagged for review. No foreign key to payment
(as payment_history since 0002: payments are never deleted, the trigger refuses it).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from caisse_payments.config import SCHEMA

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_conflict",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("payment_id", UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("delivery_id", sa.String(64)),
        sa.Column("raw", JSONB),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_conflict")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_payment_conflict_payment_id"), "payment_conflict", ["payment_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("payment_conflict", schema=SCHEMA)
