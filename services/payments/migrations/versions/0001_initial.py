"""Initial payments schema: payments, allocations, history, loan read model, webhook deliveries, reconciliation; plus outbox/inbox/idempotency.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 07:34:13.888930
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caisse_shared.migrations import messaging_ddl

SCHEMA = "payments"

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    messaging_ddl(op, SCHEMA)
    op.create_table('loan',
    sa.Column('account_number', sa.String(length=60), nullable=False),
    sa.Column('cif', sa.String(length=60), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('outstanding_principal', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_interest', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_penalties', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.String(length=60), nullable=True),
    sa.Column('agency_id', sa.String(length=60), nullable=True),
    sa.Column('source_occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('account_number', name=op.f('pk_loan')),
    schema='payments'
    )
    op.create_index(op.f('ix_loan_cif'), 'loan', ['cif'], unique=False, schema='payments')
    op.create_table('payment',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('reference_number', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('provider_reference', sa.String(length=120), nullable=False),
    sa.Column('transaction_type', sa.String(length=40), nullable=False),
    sa.Column('account_number', sa.String(length=60), nullable=True),
    sa.Column('cif', sa.String(length=60), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('allocated_penalties', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('allocated_interest', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('allocated_principal', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('unallocated_amount', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('needs_review', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('payer_phone', sa.String(length=40), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('original_payment_id', sa.UUID(), nullable=True),
    sa.Column('institution_id', sa.String(length=60), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['original_payment_id'], ['payments.payment.id'], name=op.f('fk_payment_original_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('channel', 'provider_reference', name=op.f('uq_payment_channel_provider_reference')),
    sa.UniqueConstraint('reference_number', name=op.f('uq_payment_reference_number')),
    schema='payments'
    )
    op.create_index('ix_payment_account_number', 'payment', ['account_number'], unique=False, schema='payments')
    op.create_index('ix_payment_cif', 'payment', ['cif'], unique=False, schema='payments')
    op.create_index('ix_payment_paid_at', 'payment', ['paid_at'], unique=False, schema='payments')
    op.create_index('ix_payment_review', 'payment', ['needs_review'], unique=False, schema='payments', postgresql_where=sa.text('needs_review'))
    op.create_index('uq_payment_original_payment_id', 'payment', ['original_payment_id'], unique=True, schema='payments', postgresql_where=sa.text('original_payment_id IS NOT NULL'))
    op.create_table('reconciliation_job',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('statement_lines', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('internal_records', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('matched', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('issues', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('requested_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_job')),
    schema='payments'
    )
    op.create_table('statement_line',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('provider_reference', sa.String(length=120), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.UUID(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_line')),
    schema='payments'
    )
    op.create_index('ix_statement_line_channel_value_date', 'statement_line', ['channel', 'value_date'], unique=False, schema='payments')
    op.create_table('webhook_delivery',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'delivery_id', name=op.f('pk_webhook_delivery')),
    schema='payments'
    )
    op.create_index('ix_webhook_delivery_received_at', 'webhook_delivery', ['received_at'], unique=False, schema='payments')
    op.create_table('payment_allocation',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=False),
    sa.Column('account_number', sa.String(length=60), nullable=False),
    sa.Column('component', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.payment.id'], name=op.f('fk_payment_allocation_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocation')),
    schema='payments'
    )
    op.create_index(op.f('ix_payment_allocation_payment_id'), 'payment_allocation', ['payment_id'], unique=False, schema='payments')
    op.create_table('payment_history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.payment.id'], name=op.f('fk_payment_history_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_history')),
    schema='payments'
    )
    op.create_index(op.f('ix_payment_history_payment_id'), 'payment_history', ['payment_id'], unique=False, schema='payments')
    op.create_table('reconciliation_issue',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('job_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('provider_reference', sa.String(length=120), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('internal_amount', sa.BigInteger(), nullable=True),
    sa.Column('provider_amount', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='OPEN', nullable=False),
    sa.Column('resolution', sa.String(length=40), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=120), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['payments.reconciliation_job.id'], name=op.f('fk_reconciliation_issue_job_id_reconciliation_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_issue')),
    schema='payments'
    )
    op.create_index(op.f('ix_reconciliation_issue_job_id'), 'reconciliation_issue', ['job_id'], unique=False, schema='payments')
    op.create_index('ix_reconciliation_issue_status', 'reconciliation_issue', ['status'], unique=False, schema='payments')


def downgrade() -> None:
    op.drop_index('ix_reconciliation_issue_status', table_name='reconciliation_issue', schema='payments')
    op.drop_index(op.f('ix_reconciliation_issue_job_id'), table_name='reconciliation_issue', schema='payments')
    op.drop_table('reconciliation_issue', schema='payments')
    op.drop_index(op.f('ix_payment_history_payment_id'), table_name='payment_history', schema='payments')
    op.drop_table('payment_history', schema='payments')
    op.drop_index(op.f('ix_payment_allocation_payment_id'), table_name='payment_allocation', schema='payments')
    op.drop_table('payment_allocation', schema='payments')
    op.drop_index('ix_webhook_delivery_received_at', table_name='webhook_delivery', schema='payments')
    op.drop_table('webhook_delivery', schema='payments')
    op.drop_index('ix_statement_line_channel_value_date', table_name='statement_line', schema='payments')
    op.drop_table('statement_line', schema='payments')
    op.drop_table('reconciliation_job', schema='payments')
    op.drop_index('uq_payment_original_payment_id', table_name='payment', schema='payments', postgresql_where=sa.text('original_payment_id IS NOT NULL'))
    op.drop_index('ix_payment_review', table_name='payment', schema='payments', postgresql_where=sa.text('needs_review'))
    op.drop_index('ix_payment_paid_at', table_name='payment', schema='payments')
    op.drop_index('ix_payment_cif', table_name='payment', schema='payments')
    op.drop_index('ix_payment_account_number', table_name='payment', schema='payments')
    op.drop_table('payment', schema='payments')
    op.drop_index('ix_outbox_unsent', table_name='outbox', schema='payments', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_index('ix_outbox_sent_at', table_name='outbox', schema='payments', postgresql_where=sa.text('sent_at IS NOT NULL'))
    op.drop_table('outbox', schema='payments')
    op.drop_index(op.f('ix_loan_cif'), table_name='loan', schema='payments')
    op.drop_table('loan', schema='payments')
    op.drop_table('inbox', schema='payments')
    op.drop_table('idempotency_key', schema='payments')
