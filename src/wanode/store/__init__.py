"""Storage: SQLAlchemy Core tables, Alembic migrations and named queries (SQLite or PostgreSQL)."""

from wanode.store import apps, contacts, deliveries, lifecycle, messages, statuses
from wanode.store.db import Database

__all__ = ["Database", "apps", "contacts", "deliveries", "lifecycle", "messages", "statuses"]
