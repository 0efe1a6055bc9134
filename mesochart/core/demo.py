"""Demo data: an organisation with two clinics, one user per role, 40 patients.

Everything is created through the services (so it is audited like real work)
and keyed by natural names, so running it twice changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from mesochart.accounts import services as account_services
from mesochart.accounts import two_factor
from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
from mesochart.care.demo import load_care_demo, load_session_demo
from mesochart.outcomes.demo import load_outcomes_demo
from mesochart.patients import services as patient_services
from mesochart.patients.models import Patient
from mesochart.scheduling.demo import load_scheduling_demo
from mesochart.sterility.demo import load_sterility_demo
from mesochart.stock.demo import load_stock_demo

DEMO_PASSWORD = "demo-mesochart-2026"
ORGANISATION = "Lumen Aesthetic Clinics"
CLINICS = [
    ("Lumen Riverside", "12 Riverside Walk\nLondon SE1 9PP", "Europe/London"),
    ("Lumen Harbour", "3 Marine Parade\nBrighton BN2 1TL", "Europe/London"),
]
STAFF = [
    ("prescriber", "Amelia", "Hart", Role.PRESCRIBER, [0]),
    ("practitioner", "Sofia", "Marin", Role.PRACTITIONER, [0]),
    ("assistant", "Tom", "Okafor", Role.ASSISTANT, [0]),
    ("reception", "Lily", "Chen", Role.RECEPTION, [0]),
    ("manager", "Daniel", "Price", Role.MANAGER, [0, 1]),
    ("auditor", "Priya", "Nair", Role.AUDITOR, [0]),
    ("harbour.practitioner", "Jonas", "Berg", Role.PRACTITIONER, [1]),
]
GIVEN_F = [
    "Charlotte",
    "Amira",
    "Elena",
    "Grace",
    "Hannah",
    "Isabelle",
    "Julia",
    "Karina",
    "Laura",
    "Maya",
    "Nadia",
    "Olivia",
    "Paula",
    "Rosa",
    "Sara",
    "Tara",
    "Valentina",
    "Yasmin",
    "Zoe",
    "Chloe",
    "Beatriz",
    "Ines",
    "Freya",
    "Anika",
]
GIVEN_M = ["Adam", "Marco", "Lucas", "Omar", "Henry", "Ravi", "Stefan", "Tomasz", "Hugo", "Kenji"]
FAMILY = [
    "Bennett",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Khan",
    "Lambert",
    "Moreau",
    "Novak",
    "O'Brien",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Taylor",
    "Urban",
    "Vidal",
    "Walsh",
    "Young",
    "Zielinski",
    "Ahmed",
    "Brooks",
    "Clarke",
    "Da Silva",
    "Ellis",
    "Ferreira",
]
LANGS = ["en"] * 6 + ["fr", "es", "it", "pt", "de", "pl"]
PATIENTS_PER_CLINIC = [32, 8]


@dataclass
class DemoResult:
    organisation: Organisation
    clinics: list[Clinic]
    users: list[tuple[str, str, str]]
    created_patients: int
    # (username, authenticator secret, recovery codes) of the users the clinic's
    # two-factor rule obliges (prescribers and managers).
    two_factor: list[tuple[str, str, list[str]]] = field(default_factory=list)


def _profile(rng: random.Random, sex: str, age: int) -> dict[str, object]:
    conditions: list[str] = []
    for code, p in [
        ("herpes_labialis", 0.15),
        ("keloid_tendency", 0.05),
        ("autoimmune_disease", 0.05),
        ("bleeding_disorder", 0.02),
        ("dysphagia", 0.02),
        ("thyroid_enlargement", 0.03),
        ("uncontrolled_diabetes", 0.02),
        ("pacemaker", 0.01 if age < 60 else 0.06),
        ("body_dysmorphic_disorder", 0.02),
    ]:
        if rng.random() < p:
            conditions.append(code)
    medications = [
        code
        for code, p in [
            ("antiplatelet", 0.08 if age < 55 else 0.25),
            ("anticoagulant", 0.03),
            ("immunosuppressant", 0.03),
        ]
        if rng.random() < p
    ]
    allergies = [
        code
        for code, p in [
            ("lidocaine", 0.05),
            ("ascorbic_acid", 0.04),
            ("caffeine", 0.02),
            ("hyaluronic_acid", 0.01),
        ]
        if rng.random() < p
    ]
    pregnant = sex == "female" and 20 <= age <= 42 and rng.random() < 0.05
    return {
        "pregnant": pregnant,
        "breastfeeding": sex == "female"
        and not pregnant
        and 22 <= age <= 40
        and rng.random() < 0.05,
        "bmi": Decimal(str(round(rng.gauss(24.5, 4.0), 1))).max(Decimal("17.0")),
        "fitzpatrick": rng.choices([1, 2, 3, 4, 5, 6], weights=[8, 25, 30, 18, 12, 7])[0],
        "glogau": min(4, max(1, (age - 20) // 13 + rng.choice([0, 0, 1]))),
        "conditions": conditions,
        "medications": medications,
        "allergies": allergies,
        "isotretinoin_last_dose": (date(2026, 11, 1) - timedelta(days=rng.randint(20, 400)))
        if age < 35 and rng.random() < 0.15
        else None,
        "notes": "",
    }


def holds_other_data() -> bool:
    """Whether the database holds an organisation or a staff account the demo did not make."""
    return (
        Organisation.objects.exclude(name=ORGANISATION).exists()
        or User.objects.exclude(username__in=[row[0] for row in STAFF]).exists()
    )


def load_demo(seed: int = 20261125) -> DemoResult:
    rng = random.Random(seed)
    with transaction.atomic():
        org, _ = Organisation.objects.get_or_create(
            name=ORGANISATION, defaults={"mrn_prefix": "LUM"}
        )
        clinics = []
        for name, address, tz in CLINICS:
            clinic, _ = Clinic.objects.get_or_create(
                organisation=org, name=name, defaults={"address": address, "timezone": tz}
            )
            clinics.append(clinic)
        users = []
        for username, given, family, role, clinic_indexes in STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(
                    username=username,
                    first_name=given,
                    last_name=family,
                    email=f"{username}@lumen.example",
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
            for i in clinic_indexes:
                Membership.objects.get_or_create(
                    user=user, clinic=clinics[i], defaults={"role": role}
                )
            users.append((username, role.label, ", ".join(clinics[i].name for i in clinic_indexes)))
        created = 0
        prescriber = User.objects.get(username="prescriber")
        for clinic, wanted in zip(clinics, PATIENTS_PER_CLINIC, strict=True):
            existing = Patient.objects.filter(clinic=clinic).count()
            for i in range(wanted):
                sex = "female" if rng.random() < 0.82 else "male"
                age = rng.randint(19, 71)
                birth = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
                given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
                family = rng.choice(FAMILY)
                profile = _profile(rng, sex, age)
                extra_note = rng.random() < 0.3
                if i < existing:
                    continue  # already there from an earlier run
                patient = patient_services.do_create_patient(
                    prescriber if clinic == clinics[0] else User.objects.get(username="manager"),
                    clinic,
                    {
                        "given_name": given,
                        "family_name": family,
                        "birth_date": birth,
                        "sex": sex,
                        "email": f"{given}.{family}".lower().replace("'", "").replace(" ", "")
                        + "@example.org",
                        "phone": f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
                        "address": f"{rng.randint(1, 120)} {rng.choice(['High St', 'Park Rd', 'Church Lane', 'Station Rd'])}",
                        "preferred_language": rng.choice(LANGS),
                    },
                    profile,
                )
                created += 1
                if extra_note and clinic == clinics[0]:
                    patient_services.do_update_profile(
                        prescriber,
                        clinic,
                        patient,
                        {
                            "notes": "Reviewed at consultation; skincare: SPF daily, retinol at night.",
                        },
                        expected_version=1,
                    )
        # Stock, sterility and consent for the main clinic: lots (one expiring, one
        # quarantined), a fridge, packs from released cycles, some used on patients,
        # default consent templates and signed consents, signed treatment sessions.
        main_patients = list(Patient.objects.filter(clinic=clinics[0]).order_by("mrn")[:12])
        manager = User.objects.get(username="manager")
        demo_lots = load_stock_demo(clinics[0], manager, main_patients)
        load_sterility_demo(clinics[0], manager, main_patients)
        load_care_demo(clinics[0], manager, main_patients)
        load_session_demo(clinics[0], manager, main_patients)
        load_outcomes_demo(
            clinics[0], User.objects.get(username="practitioner"), main_patients, demo_lots
        )
        # A week of appointments from today across practitioners and rooms.
        load_scheduling_demo(
            clinics[0], manager, list(Patient.objects.filter(clinic=clinics[0]).order_by("mrn"))
        )
        two_factor_logins = []
        for username, *_rest in STAFF:
            user = User.objects.get(username=username)
            if two_factor.user_requires_two_factor(user):
                secret, codes = account_services.do_demo_enrolment(user)
                two_factor_logins.append((username, secret, codes))
    return DemoResult(org, clinics, users, created, two_factor_logins)
