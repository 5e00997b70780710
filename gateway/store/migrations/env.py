"""Alembic environment: run by ``Database.migrate()`` and by ``ticket-gateway db upgrade``."""
from __future__ import annotations

from alembic import context

from gateway.store.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
