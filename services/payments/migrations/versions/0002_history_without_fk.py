"""payments: payment_history without its foreign key; payments cannot be deleted instead.

The foreign key's check (a KEY SHARE lock on the payment row, WAL-logged) cost ~60 us of
PostgreSQL CPU per new webhook payment at 16 concurrent intakes (~20% of the statement). Every
history row is written with the id of a payment inserted by the same statement or locked in the
same transaction, and a payment is never deleted (a reversal is a new record); the trigger below
makes that rule the database's, so no history row can lose its payment.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from caisse_payments.config import SCHEMA

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {SCHEMA}.payment_history "
        "DROP CONSTRAINT IF EXISTS fk_payment_history_payment_id_payment"
    )
    op.execute(
        f"""CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_payment_delete() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'payments are never deleted (reverse them instead)'
                USING ERRCODE = 'restrict_violation';
        END $$"""
    )
    for event in ("DELETE", "TRUNCATE"):
        op.execute(
            f"CREATE TRIGGER payment_no_{event.lower()} BEFORE {event} ON {SCHEMA}.payment "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_payment_delete()"
        )


def downgrade() -> None:
    for event in ("DELETE", "TRUNCATE"):
        op.execute(f"DROP TRIGGER IF EXISTS payment_no_{event.lower()} ON {SCHEMA}.payment")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.refuse_payment_delete()")
    op.execute(
        f"ALTER TABLE {SCHEMA}.payment_history ADD CONSTRAINT fk_payment_history_payment_id_payment "
        f"FOREIGN KEY (payment_id) REFERENCES {SCHEMA}.payment (id)"
    )
