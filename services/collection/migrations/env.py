"""Alembic environment of the collection service (schema ``collection``)."""

from caisse_collection.config import SCHEMA
from caisse_collection.db.models import Base
from caisse_shared.migrations import run_env

run_env(Base.metadata, SCHEMA)
