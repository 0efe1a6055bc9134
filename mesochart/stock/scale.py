"""Generate a realistic chain at scale for benchmarks: ``mesochart seed-scale``.

One organisation, K clinics, patients, lots of every library product, signed treatment
sessions of 4-12 injection points (administrations) each, and about 5% of sessions given
from a mixture prepared at the chair (two ``mixed`` component movements + the
administrations of the preparation). Each session has its early check and its infection
surveillance window (the library's intervals; done once past, open otherwise) and about a
third have a front photo's metadata (the row, with no image file: pages that show the image
answer 404 for it). Rows go in with bulk inserts in batches (``executemany`` on SQLite,
``COPY`` on PostgreSQL); the movement table's secondary indexes are dropped during the load
and rebuilt at the end, which is much faster than maintaining them row by row.
Audit events are not written: this is synthetic benchmark data, not clinical work.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from django.db import connection, transaction

from mesochart.accounts.models import Clinic, Organisation, User
from mesochart.patients import keys
from mesochart.patients.models import Patient, PatientSearchTerm
from mesochart.protocols import load_library

from .models import Lot, MixturePreparation, StockMovement, Storage, Unit

POINTS_PER_SESSION = (4, 12)
ADMINISTRATIONS_PER_LOT = 400
ADMINISTRATIONS_PER_PATIENT = 25
MIXTURE_SHARE = 0.05
PHOTO_SHARE = 0.3
# Injection protocols of the library the synthetic sessions follow.
PROTOCOLS = ("skin-revitalisation", "skin-booster", "hair-mesotherapy", "body-cellulite")
MIX = "revitalisation-lidocaine-mix"
GIVEN = [
    "Amira", "Elena", "Grace", "Hannah", "Julia", "Laura", "Maya", "Nadia", "Rosa", "Zoe",
    "Élodie", "Chloé", "Inès", "Zoë", "Léa", "Jürgen", "Björn", "Małgorzata", "Søren", "Ana",
    "Noémie", "Françoise", "Iñaki", "Sébastien", "Anaïs", "José", "Lucía", "Joël", "Aurélie",
    "Thomas", "Marta", "Sofia", "Olga", "Priya", "Yusuf", "Camille", "Hélène", "Renée",
]  # fmt: skip
FAMILY = [
    "Moreau", "Hughes", "Silva", "Berg", "Okafor", "Chen", "Nair", "Marin", "Price", "Hart",
    "Lefèvre", "Müller", "Núñez", "Gonçalves", "Østergaard", "Wiśniewska", "Dvořák", "Brontë",
    "García", "Hernández", "Rodríguez", "Schäfer", "Löwe", "Citroën", "Fernández", "Peña",
    "Kowalski", "Rossi", "Dubois", "Fontaine", "Durand", "Girard", "Martínez", "O'Brien",
    "Van der Berg", "Novák", "Jäger", "Çelik", "Yilmaz", "Ramírez", "Sánchez", "Bianchi",
]  # fmt: skip
ZONES = ["forehead", "cheek_left", "cheek_right", "perioral", "neck", "decollete", "submental"]
MOVEMENT_COLUMNS = (
    "organisation_id",
    "clinic_id",
    "kind",
    "lot_id",
    "preparation_id",
    "container_id",
    "patient_id",
    "zone",
    "occurred_at",
    "quantity",
    "unit",
    "reason",
    "session_ref",
    "entry_ref",
    "recorded_by_id",
    "recorded_at",
)


class Progress:
    """A plain text progress bar on stderr (no dependency)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n
        share = min(self.done / self.total, 1.0)
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        bar = "#" * int(share * 30)
        self.stream.write(
            f"\r{self.label:<16} [{bar:<30}] {share:6.1%} {self.done:>11,}/{self.total:,}"
            f" {rate:>9,.0f}/s"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class ScaleResult:
    organisation: Organisation
    clinics: list[Clinic]
    patients: int
    lots: int
    administrations: int
    preparations: int
    seconds: float


def _adapters() -> tuple[Callable[[uuid.UUID | None], Any], Callable[[datetime], Any]]:
    if connection.features.has_native_uuid_field:

        def as_uuid(value: uuid.UUID | None) -> Any:
            return value
    else:

        def as_uuid(value: uuid.UUID | None) -> Any:
            return value.hex if value is not None else None

    return as_uuid, connection.ops.adapt_datetimefield_value


class _Writer:
    """Batched inserts into the movement table, by COPY (PostgreSQL) or executemany."""

    def __init__(self, batch: int, progress: Progress | None) -> None:
        self.batch, self.progress = batch, progress
        self.rows: list[tuple[Any, ...]] = []
        # Preparations, sessions and their follow-ups and photos go in first, in the same
        # transaction as the movements naming them.
        self.preparations: list[MixturePreparation] = []
        self.preparations_written = 0
        self.records: list[list[Any]] = [[], [], []]  # sessions, follow-ups, photos

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        table = StockMovement._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            if self.preparations:
                MixturePreparation.objects.bulk_create(self.preparations, batch_size=5000)
                self.preparations_written += len(self.preparations)
                self.preparations = []
            for records in self.records:
                if records:
                    type(records[0]).objects.bulk_create(records, batch_size=5000)
                    records.clear()
            if connection.vendor == "postgresql":
                sql = f"COPY {table} ({', '.join(MOVEMENT_COLUMNS)}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:  # type: ignore[attr-defined]
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(MOVEMENT_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(MOVEMENT_COLUMNS)}) VALUES ({marks})",
                    self.rows,
                )
        if self.progress is not None:
            self.progress.advance(sum(1 for r in self.rows if r[2] == "administered"))
        self.rows = []


def _bulk(
    model: Any, objects: Sequence[Any], label: str, batch: int, quiet: bool, stream: TextIO | None
) -> None:
    progress = None if quiet else Progress(label, len(objects), stream)
    for start in range(0, len(objects), batch):
        chunk = objects[start : start + batch]
        with transaction.atomic():
            model.objects.bulk_create(chunk, batch_size=batch)
        if progress is not None:
            progress.advance(len(chunk))
    if progress is not None:
        progress.finish()


def seed_scale(
    administrations: int,
    clinics: int = 4,
    *,
    patients: int | None = None,
    seed: int = 1,
    batch: int = 20_000,
    quiet: bool = False,
    today: date | None = None,
    stream: TextIO | None = None,
) -> ScaleResult:
    """Create one organisation with ``clinics`` clinics, ``patients`` patients (by default
    one per 25 administrations, at least 10 per clinic) and exactly ``administrations``
    administered movements.

    Patients have varied names (accented ones among them), record numbers, phones and
    emails, and their duplicate-check match keys set (``bulk_create`` skips ``save()``).
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    library = load_library()
    products = sorted(library.products)
    mixture = library.mixtures[MIX]
    now = datetime.now(UTC)
    today = today or now.date()
    as_uuid, as_dt = _adapters()

    # Outside a transaction (the command), drop and rebuild the movement indexes around
    # the load; inside one (tests) SQLite cannot alter the schema, so keep them.
    defer_indexes = not connection.in_atomic_block
    bulk_sqlite = connection.vendor == "sqlite" and defer_indexes
    if bulk_sqlite:
        # Generated rows are consistent by construction: skip per-row foreign key lookups
        # and fsyncs during the load (restored below).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size=-400000")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA synchronous=OFF")

    tag = uuid.uuid4().hex[:6].upper()
    org = Organisation.objects.create(name=f"Scale chain {tag}", mrn_prefix=f"S{tag[:5]}")
    actor, _ = User.objects.get_or_create(
        username="scale-seeder", defaults={"first_name": "Scale", "last_name": "Seeder"}
    )
    clinic_rows = [
        Clinic.objects.create(organisation=org, name=f"Clinic {i + 1}", timezone="Europe/London")
        for i in range(max(clinics, 1))
    ]

    # Patients, spread over the clinics.
    if patients is None:
        n_patients = max(10 * len(clinic_rows), administrations // ADMINISTRATIONS_PER_PATIENT)
    else:
        n_patients = patients
    patient_rows = [_patient(rng, org, clinic_rows, actor, i) for i in range(n_patients)]
    _bulk(Patient, patient_rows, "patients", 5000, quiet, stream)
    PatientSearchTerm.write(patient_rows, replace=False)
    org.next_mrn = n_patients + 1
    org.save(update_fields=["next_mrn"])
    by_clinic: dict[uuid.UUID, list[uuid.UUID]] = {c.pk: [] for c in clinic_rows}
    for p in patient_rows:
        by_clinic[p.clinic_id].append(p.pk)
    del patient_rows

    # Lots: every product in every clinic, enough of them for ~400 administrations each.
    n_lots = max(len(products) * len(clinic_rows), administrations // ADMINISTRATIONS_PER_LOT)
    lots: list[Lot] = []
    for i in range(n_lots):
        clinic = clinic_rows[i % len(clinic_rows)]
        product = products[(i // len(clinic_rows)) % len(products)]
        lots.append(
            Lot(
                organisation=org,
                clinic=clinic,
                product=product,
                lot_number=f"{product[:3].upper()}{tag}{i:07d}",
                expiry=today + timedelta(days=rng.randrange(-400, 700)),
                quantity_received=Decimal("100000"),
                unit=Unit.ML,
                storage=Storage.ROOM,
                supplier="Scale Supplies",
                received_at=now - timedelta(days=1100),
                received_by=actor,
            )
        )
    _bulk(Lot, lots, "lots", 5000, quiet, stream)
    lots_by_clinic: dict[uuid.UUID, list[Lot]] = {c.pk: [] for c in clinic_rows}
    component_lots: dict[tuple[uuid.UUID, str], list[Lot]] = {}
    for lot in lots:
        lots_by_clinic[lot.clinic_id].append(lot)
        if lot.product in mixture.components:
            component_lots.setdefault((lot.clinic_id, lot.product), []).append(lot)

    indexes = list(StockMovement._meta.indexes) if defer_indexes else []
    if indexes:
        with connection.schema_editor() as editor:
            for index in indexes:
                editor.remove_index(StockMovement, index)
    progress = None if quiet else Progress("administrations", administrations, stream)
    writer = _Writer(batch, progress)
    org_id, actor_id = as_uuid(org.pk), as_uuid(actor.pk)
    recorded = as_dt(now)
    try:
        for lot in lots:
            writer.add(
                (org_id, as_uuid(lot.clinic_id), "received", as_uuid(lot.pk), None, None, None, "",
                 as_dt(lot.received_at), Decimal("100000"), Unit.ML, "", None, None, actor_id,
                 recorded)
            )  # fmt: skip
        preparations = _sessions(
            rng, administrations, clinic_rows, by_clinic, lots_by_clinic, component_lots,
            writer, org_id, actor_id, recorded, now, as_uuid, as_dt, org, actor.pk,
        )  # fmt: skip
        writer.flush()
    finally:
        if progress is not None:
            progress.finish()
        if indexes:
            rebuild = None if quiet else Progress("indexes", len(indexes), stream)
            with connection.schema_editor() as editor:
                for index in indexes:
                    editor.add_index(StockMovement, index)
                    if rebuild is not None:
                        rebuild.advance(1)
            if rebuild is not None:
                rebuild.finish()
        with connection.cursor() as cursor:
            if bulk_sqlite:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("ANALYZE")
    return ScaleResult(
        org,
        clinic_rows,
        n_patients,
        n_lots,
        administrations,
        preparations,
        time.perf_counter() - started,
    )


def _patient(
    rng: random.Random, org: Organisation, clinics: list[Clinic], actor: User, i: int
) -> Patient:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    local = "".join(
        c for c in keys.fold(f"{given}.{family}") if c.isascii() and (c.isalnum() or c == ".")
    )
    patient = Patient(
        organisation=org,
        clinic=clinics[i % len(clinics)],
        mrn=f"{org.mrn_prefix}-{i + 1:06d}",
        given_name=given,
        family_name=family,
        birth_date=date(1950 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        sex="female" if rng.random() < 0.85 else "male",
        phone=f"+44 7{rng.randrange(10**9):09d}",
        email=f"{local}{i + 1}@example.org",
        preferred_language=rng.choice(["en", "en", "fr", "de", "es", "it"]),
        created_by=actor,
    )
    patient.set_match_keys()
    return patient


def _sessions(
    rng: random.Random,
    administrations: int,
    clinics: list[Clinic],
    patients: dict[uuid.UUID, list[uuid.UUID]],
    lots: dict[uuid.UUID, list[Lot]],
    components: dict[tuple[uuid.UUID, str], list[Lot]],
    writer: _Writer,
    org_id: Any,
    actor_id: Any,
    recorded: Any,
    now: datetime,
    as_uuid: Callable[[uuid.UUID | None], Any],
    as_dt: Callable[[datetime], Any],
    org: Organisation,
    actor_pk: Any,
) -> int:
    """Write treatment sessions until ``administrations`` points are charted."""
    from mesochart.care.models import FollowUp, FollowUpKind, FollowUpStatus, TreatmentSession
    from mesochart.outcomes.models import Photo, PhotoView

    library = load_library()
    mixture_parts = library.mixtures[MIX].components
    early = library.followups["early_check_days"]
    window = library.followups["infection_surveillance_days"]
    today = now.date()
    written = 0
    quantities = [Decimal("0.05"), Decimal("0.10"), Decimal("0.20"), Decimal("0.50")]
    for index in session_indexes():
        if written >= administrations:
            break
        clinic = clinics[index % len(clinics)]
        clinic_id = as_uuid(clinic.pk)
        points = min(rng.randint(*POINTS_PER_SESSION), administrations - written)
        at = now - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        occurred = as_dt(at)
        patient_pk = rng.choice(patients[clinic.pk])
        patient = as_uuid(patient_pk)
        session_pk = uuid.uuid4()
        session = as_uuid(session_pk)
        day = at.date()
        sessions, follow_ups, photos = writer.records
        sessions.append(
            TreatmentSession(
                id=session_pk, organisation=org, clinic=clinic, patient_id=patient_pk,
                protocol=rng.choice(PROTOCOLS), scheduled_for=day, performed_on=day,
                status="signed", started_at=at, started_by_id=actor_pk, signed_at=at,
                signed_by_id=actor_pk, created_by_id=actor_pk,
            )
        )  # fmt: skip
        for kind, due, end, source in (
            (FollowUpKind.EARLY_CHECK, day + timedelta(days=int(early.number)), None, early),
            (FollowUpKind.INFECTION_SURVEILLANCE, day,
             day + timedelta(days=int(window.number)), window),
        ):  # fmt: skip
            done = (end or due) < today
            follow_ups.append(
                FollowUp(
                    organisation=org, clinic=clinic, patient_id=patient_pk, session_id=session_pk,
                    kind=kind, due=due, window_end=end, evidence=source.evidence,
                    source=source.source,
                    status=FollowUpStatus.DONE if done else FollowUpStatus.OPEN,
                    done_at=at + ((end or due) - day) if done else None,
                    done_by_id=actor_pk if done else None,
                )
            )  # fmt: skip
        if rng.random() < PHOTO_SHARE:
            name = f"scale/{session_pk}.jpg"
            photos.append(
                Photo(
                    organisation=org, clinic=clinic, patient_id=patient_pk,
                    view=PhotoView.FRONT, taken_at=at, taken_by_id=actor_pk, original=name,
                    original_sha256="0" * 64, original_format="JPEG", derived=name,
                    width=3000, height=4000,
                )
            )  # fmt: skip
        lot_id = preparation_id = None
        if rng.random() < MIXTURE_SHARE:
            prep = MixturePreparation(
                id=uuid.uuid4(), organisation=org, clinic=clinic, mixture=MIX, prepared_at=at
            )
            writer.preparations.append(prep)
            preparation_id = as_uuid(prep.id)
            for product in mixture_parts:
                component = rng.choice(components[(clinic.pk, product)])
                writer.add(
                    (org_id, clinic_id, "mixed", as_uuid(component.pk), preparation_id, None,
                     None, "", occurred, Decimal("-1.00"), Unit.ML, "", None, None, actor_id,
                     recorded)
                )  # fmt: skip
        else:
            lot_id = as_uuid(rng.choice(lots[clinic.pk]).pk)
        for _ in range(points):
            writer.add(
                (org_id, clinic_id, "administered", lot_id, preparation_id, None, patient,
                 rng.choice(ZONES), occurred, -rng.choice(quantities), Unit.ML, "", session,
                 None, actor_id, recorded)
            )  # fmt: skip
        written += points
    writer.flush()
    return writer.preparations_written


def session_indexes() -> Iterator[int]:
    i = 0
    while True:
        yield i
        i += 1
