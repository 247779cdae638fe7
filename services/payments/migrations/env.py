"""Alembic environment of the payments service (schema ``payments``)."""

from caisse_payments.config import SCHEMA
from caisse_payments.db.models import Base
from caisse_shared.migrations import run_env

run_env(Base.metadata, SCHEMA)
