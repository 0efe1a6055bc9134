# Search without scanning: the words a search matches (``search_text``) and the list's sort
# key (``sort_name``) on every patient, backfilled, then indexed. PostgreSQL searches
# ``search_text`` through a trigram index (pg_trgm, a trusted extension the database owner
# may create); SQLite through ``PatientSearchTerm`` rows, written here for existing patients.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from mesochart.patients import keys

BATCH = 2000
TRIGRAM_INDEX = "patient_search_trgm_idx"


def backfill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    Term = apps.get_model("patients", "PatientSearchTerm")
    with_terms = schema_editor.connection.vendor == "sqlite"
    rows = Patient.objects.only("pk", "clinic_id", "given_name", "family_name")
    batch = []

    def flush():
        Patient.objects.bulk_update(batch, ["search_text", "sort_name"])
        if with_terms:
            Term.objects.bulk_create(
                [
                    Term(clinic_id=p.clinic_id, patient_id=p.pk, term=term)
                    for p in batch
                    for term in p.search_text.split()
                ]
            )
        batch.clear()

    for patient in rows.order_by("pk").iterator(chunk_size=BATCH):
        patient.search_text = keys.search_text(patient.given_name, patient.family_name)
        patient.sort_name = keys.sort_name(patient.family_name, patient.given_name)
        batch.append(patient)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON patients_patient "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_remove_hand_written_lockout"),
        ("patients", "0003_patient_clinic_updated_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PatientSearchTerm",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("term", models.CharField(max_length=600)),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.clinic",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
            ],
        ),
        migrations.AlterModelOptions(name="patient", options={"ordering": ["sort_name", "mrn"]}),
        migrations.RemoveIndex(model_name="patient", name="patient_clinic_name_idx"),
        migrations.AddField(
            model_name="patient",
            name="search_text",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="patient",
            name="sort_name",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                fields=["clinic", "sort_name", "mrn"], name="patient_clinic_sort_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="patientsearchterm",
            index=models.Index(fields=["clinic", "term"], name="patient_search_term_idx"),
        ),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
