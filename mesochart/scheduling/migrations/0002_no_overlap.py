"""On PostgreSQL the database itself refuses two overlapping holding appointments of one
practitioner, room or device: exclusion constraints over ``tstzrange(starts_at, ends_at)``
(btree_gist gives the equality part). SQLite has no exclusion constraints: there the
services' check runs inside a write transaction that SQLite serialises (the database
setting ``transaction_mode = IMMEDIATE``)."""

from django.db import migrations

RELEASED = "('cancelled', 'no_show')"
CONSTRAINTS = [
    ("appt_no_overlap_practitioner", "practitioner_id", ""),
    ("appt_no_overlap_room", "room_id", " AND room_id IS NOT NULL"),
    ("appt_no_overlap_device", "device_id", " AND device_id IS NOT NULL"),
]


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column, extra in CONSTRAINTS:
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE (status NOT IN {RELEASED}{extra})"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column, _extra in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT {name}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
