"""payments: ix_payment_account_number and ix_payment_cif only index rows that have a value.

Every query on them is an equality (payments of a loan, of a customer), which never matches
NULL; yet each tontine or savings payment without a loan or customer added a NULL entry to both.
Partial indexes skip those two index inserts: ~30-50 us of PostgreSQL CPU per webhook payment
at 16 concurrent intakes (measured A/B three times, ~12% of the intake statement).

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from caisse_payments.config import SCHEMA

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("account_number", "cif")


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.ix_payment_{column}")
        op.execute(
            f"CREATE INDEX ix_payment_{column} ON {SCHEMA}.payment ({column}) "
            f"WHERE {column} IS NOT NULL"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.ix_payment_{column}")
        op.execute(f"CREATE INDEX ix_payment_{column} ON {SCHEMA}.payment ({column})")
