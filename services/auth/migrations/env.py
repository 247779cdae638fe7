"""Alembic environment of the auth service (schema ``auth``)."""

from caisse_auth.db.models import SCHEMA, Base
from caisse_shared.migrations import run_env

run_env(Base.metadata, SCHEMA)
