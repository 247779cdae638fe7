"""bank-sync initial schema: entity tables, sync bookkeeping, messaging tables.

Revision ID: 0001
Revises:
"""
from alembic import op

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db.models import Base
from caisse_shared.migrations import messaging_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables as declared at revision 0001 (later revisions must alter explicitly, never re-create).
TABLES = ("customer", "phone", "address", "email", "loan", "collateral", "reference_customer",
          "sync_job", "sync_event", "sync_error")


def upgrade() -> None:
    messaging_ddl(op, SCHEMA)
    bind = op.get_bind()
    for name in TABLES:
        Base.metadata.tables[f"{SCHEMA}.{name}"].create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(TABLES):
        Base.metadata.tables[f"{SCHEMA}.{name}"].drop(bind, checkfirst=True)
