from __future__ import annotations

import pytest
from django.db import connection

from mesochart.audit.models import AuditEvent


@pytest.fixture
def behind_the_back():
    """Raw SQL as the database owner; on PostgreSQL the append-only trigger is
    disabled first, as someone with owner rights could."""
    table = AuditEvent._meta.db_table

    def run(sql: str, params: list | None = None) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql.format(table=table), params or [])
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_event_append_only")

    return run
