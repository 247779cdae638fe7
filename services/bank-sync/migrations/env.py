"""Alembic environment of bank-sync: its own schema and version table."""

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db.models import Base
from caisse_shared.migrations import run_env

run_env(Base.metadata, SCHEMA)
