"""bank-sync: row_hash on entity tables (md5 of the source row that produced the record).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from caisse_bank_sync.config import SCHEMA

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENTITY_TABLES = ("customer", "phone", "address", "email", "loan", "collateral",
                 "reference_customer")


def upgrade() -> None:
    # IF NOT EXISTS: revision 0001 creates tables from the current models, which already have it.
    for name in ENTITY_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{name} ADD COLUMN IF NOT EXISTS row_hash bytea")


def downgrade() -> None:
    for name in ENTITY_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{name} DROP COLUMN IF EXISTS row_hash")
