"""initial: agents, teams, cases, loans read model, actions, promises, assignments, strategies, tasks, payment credits.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 07:34:15.326440
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caisse_shared.migrations import messaging_ddl

SCHEMA = "collection"

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    messaging_ddl(op, SCHEMA)  # outbox, inbox, idempotency_key
    op.create_table('payment_credit',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('original_payment_id', sa.String(length=64), nullable=True),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.UUID(), nullable=True),
    sa.Column('promise_id', sa.UUID(), nullable=True),
    sa.Column('promise_applied', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_payment_credit')),
    schema='collection'
    )
    op.create_index('ix_payment_credit_agent_id_paid_at', 'payment_credit', ['agent_id', 'paid_at'], unique=False, schema='collection')
    op.create_index(op.f('ix_payment_credit_case_id'), 'payment_credit', ['case_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_payment_credit_original_payment_id'), 'payment_credit', ['original_payment_id'], unique=False, schema='collection')
    op.create_table('strategy_rule',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('min_dpd', sa.Integer(), nullable=True),
    sa.Column('max_dpd', sa.Integer(), nullable=True),
    sa.Column('min_outstanding', sa.BigInteger(), nullable=True),
    sa.Column('max_outstanding', sa.BigInteger(), nullable=True),
    sa.Column('min_broken_promises', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('next_action', sa.String(length=20), nullable=False),
    sa.Column('reminder_level', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategy_rule')),
    sa.UniqueConstraint('institution_id', 'name', name=op.f('uq_strategy_rule_institution_id_name')),
    schema='collection'
    )
    op.create_index(op.f('ix_strategy_rule_institution_id'), 'strategy_rule', ['institution_id'], unique=False, schema='collection')
    op.create_table('task',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('task_date', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('action_type', sa.String(length=20), nullable=False),
    sa.Column('reminder_level', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task')),
    sa.UniqueConstraint('task_date', 'case_id', name=op.f('uq_task_task_date_case_id')),
    schema='collection'
    )
    op.create_index('ix_task_agent_id_task_date', 'task', ['agent_id', 'task_date'], unique=False, schema='collection')
    op.create_table('team',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('buckets', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('institution_id', 'name', name=op.f('uq_team_institution_id_name')),
    schema='collection'
    )
    op.create_index(op.f('ix_team_institution_id'), 'team', ['institution_id'], unique=False, schema='collection')
    op.create_table('agent',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('max_workload', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['collection.team.id'], name=op.f('fk_agent_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent')),
    sa.UniqueConstraint('institution_id', 'code', name=op.f('uq_agent_institution_id_code')),
    sa.UniqueConstraint('institution_id', 'user_id', name=op.f('uq_agent_institution_id_user_id')),
    schema='collection'
    )
    op.create_index(op.f('ix_agent_institution_id'), 'agent', ['institution_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_agent_team_id'), 'agent', ['team_id'], unique=False, schema='collection')
    op.create_table('customer_case',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=16), nullable=False),
    sa.Column('overdue_amount', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_amount', sa.BigInteger(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('next_action', sa.String(length=20), nullable=True),
    sa.Column('reminder_level', sa.String(length=10), nullable=True),
    sa.Column('agent_id', sa.UUID(), nullable=True),
    sa.Column('contact_count', sa.Integer(), nullable=False),
    sa.Column('broken_promises', sa.Integer(), nullable=False),
    sa.Column('last_action_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['collection.agent.id'], name=op.f('fk_customer_case_agent_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_case')),
    sa.UniqueConstraint('cif', name=op.f('uq_customer_case_cif')),
    schema='collection'
    )
    op.create_index(op.f('ix_customer_case_agent_id'), 'customer_case', ['agent_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_customer_case_institution_id'), 'customer_case', ['institution_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_customer_case_status'), 'customer_case', ['status'], unique=False, schema='collection')
    op.create_table('action_record',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.UUID(), nullable=True),
    sa.Column('action_type', sa.String(length=20), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('reminder_level', sa.String(length=10), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['collection.customer_case.id'], name=op.f('fk_action_record_case_id_customer_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_record')),
    schema='collection'
    )
    op.create_index(op.f('ix_action_record_account_number'), 'action_record', ['account_number'], unique=False, schema='collection')
    op.create_index(op.f('ix_action_record_action_type'), 'action_record', ['action_type'], unique=False, schema='collection')
    op.create_index('ix_action_record_agent_id_created_at', 'action_record', ['agent_id', 'created_at'], unique=False, schema='collection')
    op.create_index(op.f('ix_action_record_case_id'), 'action_record', ['case_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_action_record_cif'), 'action_record', ['cif'], unique=False, schema='collection')
    op.create_table('case_loan',
    sa.Column('account_number', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=16), nullable=False),
    sa.Column('overdue_amount', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_amount', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['collection.customer_case.id'], name=op.f('fk_case_loan_case_id_customer_case')),
    sa.PrimaryKeyConstraint('account_number', name=op.f('pk_case_loan')),
    schema='collection'
    )
    op.create_index(op.f('ix_case_loan_case_id'), 'case_loan', ['case_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_case_loan_cif'), 'case_loan', ['cif'], unique=False, schema='collection')
    op.create_table('customer_agent',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('assigned_by', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['collection.agent.id'], name=op.f('fk_customer_agent_agent_id_agent')),
    sa.ForeignKeyConstraint(['case_id'], ['collection.customer_case.id'], name=op.f('fk_customer_agent_case_id_customer_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_agent')),
    schema='collection'
    )
    op.create_index('ix_customer_agent_agent_id_active', 'customer_agent', ['agent_id', 'active'], unique=False, schema='collection')
    op.create_index(op.f('ix_customer_agent_cif'), 'customer_agent', ['cif'], unique=False, schema='collection')
    op.create_index('uq_customer_agent_active_cif', 'customer_agent', ['cif'], unique=True, schema='collection', postgresql_where=sa.text('active'))
    op.create_table('customer_case_action',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['collection.customer_case.id'], name=op.f('fk_customer_case_action_case_id_customer_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_case_action')),
    schema='collection'
    )
    op.create_index(op.f('ix_customer_case_action_case_id'), 'customer_case_action', ['case_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_customer_case_action_cif'), 'customer_case_action', ['cif'], unique=False, schema='collection')
    op.create_table('action_result',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('action_id', sa.UUID(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['collection.action_record.id'], name=op.f('fk_action_result_action_id_action_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_result')),
    schema='collection'
    )
    op.create_index(op.f('ix_action_result_action_id'), 'action_result', ['action_id'], unique=False, schema='collection')
    op.create_table('promise_to_pay',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('action_id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('cif', sa.String(length=64), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_amount', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['collection.action_record.id'], name=op.f('fk_promise_to_pay_action_id_action_record')),
    sa.ForeignKeyConstraint(['case_id'], ['collection.customer_case.id'], name=op.f('fk_promise_to_pay_case_id_customer_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promise_to_pay')),
    sa.UniqueConstraint('action_id', name=op.f('uq_promise_to_pay_action_id')),
    schema='collection'
    )
    op.create_index(op.f('ix_promise_to_pay_agent_id'), 'promise_to_pay', ['agent_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_promise_to_pay_case_id'), 'promise_to_pay', ['case_id'], unique=False, schema='collection')
    op.create_index(op.f('ix_promise_to_pay_cif'), 'promise_to_pay', ['cif'], unique=False, schema='collection')
    op.create_index(op.f('ix_promise_to_pay_due_date'), 'promise_to_pay', ['due_date'], unique=False, schema='collection')
    op.create_index(op.f('ix_promise_to_pay_status'), 'promise_to_pay', ['status'], unique=False, schema='collection')


def downgrade() -> None:
    op.drop_index(op.f('ix_promise_to_pay_status'), table_name='promise_to_pay', schema='collection')
    op.drop_index(op.f('ix_promise_to_pay_due_date'), table_name='promise_to_pay', schema='collection')
    op.drop_index(op.f('ix_promise_to_pay_cif'), table_name='promise_to_pay', schema='collection')
    op.drop_index(op.f('ix_promise_to_pay_case_id'), table_name='promise_to_pay', schema='collection')
    op.drop_index(op.f('ix_promise_to_pay_agent_id'), table_name='promise_to_pay', schema='collection')
    op.drop_table('promise_to_pay', schema='collection')
    op.drop_index(op.f('ix_action_result_action_id'), table_name='action_result', schema='collection')
    op.drop_table('action_result', schema='collection')
    op.drop_index(op.f('ix_customer_case_action_cif'), table_name='customer_case_action', schema='collection')
    op.drop_index(op.f('ix_customer_case_action_case_id'), table_name='customer_case_action', schema='collection')
    op.drop_table('customer_case_action', schema='collection')
    op.drop_index('uq_customer_agent_active_cif', table_name='customer_agent', schema='collection', postgresql_where=sa.text('active'))
    op.drop_index(op.f('ix_customer_agent_cif'), table_name='customer_agent', schema='collection')
    op.drop_index('ix_customer_agent_agent_id_active', table_name='customer_agent', schema='collection')
    op.drop_table('customer_agent', schema='collection')
    op.drop_index(op.f('ix_case_loan_cif'), table_name='case_loan', schema='collection')
    op.drop_index(op.f('ix_case_loan_case_id'), table_name='case_loan', schema='collection')
    op.drop_table('case_loan', schema='collection')
    op.drop_index(op.f('ix_action_record_cif'), table_name='action_record', schema='collection')
    op.drop_index(op.f('ix_action_record_case_id'), table_name='action_record', schema='collection')
    op.drop_index('ix_action_record_agent_id_created_at', table_name='action_record', schema='collection')
    op.drop_index(op.f('ix_action_record_action_type'), table_name='action_record', schema='collection')
    op.drop_index(op.f('ix_action_record_account_number'), table_name='action_record', schema='collection')
    op.drop_table('action_record', schema='collection')
    op.drop_index(op.f('ix_customer_case_status'), table_name='customer_case', schema='collection')
    op.drop_index(op.f('ix_customer_case_institution_id'), table_name='customer_case', schema='collection')
    op.drop_index(op.f('ix_customer_case_agent_id'), table_name='customer_case', schema='collection')
    op.drop_table('customer_case', schema='collection')
    op.drop_index(op.f('ix_agent_team_id'), table_name='agent', schema='collection')
    op.drop_index(op.f('ix_agent_institution_id'), table_name='agent', schema='collection')
    op.drop_table('agent', schema='collection')
    op.drop_index(op.f('ix_team_institution_id'), table_name='team', schema='collection')
    op.drop_table('team', schema='collection')
    op.drop_index('ix_task_agent_id_task_date', table_name='task', schema='collection')
    op.drop_table('task', schema='collection')
    op.drop_index(op.f('ix_strategy_rule_institution_id'), table_name='strategy_rule', schema='collection')
    op.drop_table('strategy_rule', schema='collection')
    op.drop_index(op.f('ix_payment_credit_original_payment_id'), table_name='payment_credit', schema='collection')
    op.drop_index(op.f('ix_payment_credit_case_id'), table_name='payment_credit', schema='collection')
    op.drop_index('ix_payment_credit_agent_id_paid_at', table_name='payment_credit', schema='collection')
    op.drop_table('payment_credit', schema='collection')
    op.drop_index('ix_outbox_unsent', table_name='outbox', schema='collection', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_index('ix_outbox_sent_at', table_name='outbox', schema='collection', postgresql_where=sa.text('sent_at IS NOT NULL'))
    op.drop_table('outbox', schema='collection')
    op.drop_table('inbox', schema='collection')
    op.drop_table('idempotency_key', schema='collection')
