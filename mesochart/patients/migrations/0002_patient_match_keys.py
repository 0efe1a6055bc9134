# Match keys for the duplicate-patient check: columns, backfill, then the indexes
# (built once over the filled columns rather than maintained row by row).

from django.db import migrations, models

from mesochart.patients import keys

BATCH = 2000


def backfill_match_keys(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    rows = Patient.objects.only("pk", "given_name", "family_name", "phone", "email")
    batch = []
    for patient in rows.order_by("pk").iterator(chunk_size=BATCH):
        patient.name_key = keys.name_key(patient.family_name, patient.given_name)
        patient.phone_key = keys.phone_key(patient.phone)
        patient.email_key = keys.email_key(patient.email)
        batch.append(patient)
        if len(batch) >= BATCH:
            Patient.objects.bulk_update(batch, ["name_key", "phone_key", "email_key"])
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, ["name_key", "phone_key", "email_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="name_key",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="patient",
            name="phone_key",
            field=models.CharField(blank=True, editable=False, max_length=9),
        ),
        migrations.AddField(
            model_name="patient",
            name="email_key",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.RunPython(backfill_match_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                fields=["clinic", "name_key", "birth_date"], name="patient_dup_name_birth_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "phone_key"], name="patient_dup_phone_idx"),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "email_key"], name="patient_dup_email_idx"),
        ),
    ]
