from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.errors import InvalidInput
from mesochart.outcomes import services
from mesochart.outcomes.models import AdverseEvent, AdverseEventUpdate, NotDeletable
from mesochart.protocols.library import load_library

from .factories import (
    ae_data,
    make_lot,
    make_packs,
    make_preparation,
    make_session,
    photo_consent,
    record_ae,
    upload,
)

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "event_type": "nodule",
        "detail": "Firm nodule",
        "onset": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "severity": "moderate",
        "ctcae_term": "Injection site reaction",
        "ctcae_grade": "2",
        "causality": "possible",
        "outcome": "recovering",
        "actions_taken": "Warm compresses",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_types_are_the_librarys_adverse_event_vocabulary():
    assert set(services.adverse_event_types()) == set(load_library().vocabulary.adverse_events)
    assert {"infection", "nodule", "ulceration", "necrosis"} <= set(services.adverse_event_types())


def test_recording_through_the_page_stores_the_links_and_audits(clinic, staff, patient, client_as):
    photo_consent(clinic, staff, patient)
    photo = upload(clinic, staff, patient)
    lot = make_lot(clinic, staff)
    prep = make_preparation(clinic)
    pack = make_packs(clinic, staff, 1)[0]
    session = make_session(clinic, staff, patient, lots=(lot,))
    response = client_as("practitioner").post(
        reverse("outcomes:adverse_event_new", args=[patient.pk]),
        form_data(
            session=str(session.pk),
            lots=[str(lot.pk)],
            preparations=[str(prep.pk)],
            packs=[str(pack.pk)],
            photos=[str(photo.pk)],
            serious="on",
            serious_criteria=["hospitalisation"],
            antibiotics_given="on",
        ),
    )
    assert response.status_code == 302, response.content[:3000]
    event = AdverseEvent.objects.get()
    assert response["Location"] == reverse("outcomes:adverse_event", args=[event.pk])
    assert event.session == session and event.serious and event.antibiotics_given
    assert event.serious_criteria == ["hospitalisation"]
    assert list(event.lots.all()) == [lot] and list(event.packs.all()) == [pack]
    assert list(event.preparations.all()) == [prep] and list(event.photos.all()) == [photo]
    audit = AuditEvent.objects.get(action="adverse_event.record")
    assert audit.details["type"] == "nodule" and audit.details["lots"] == [str(lot)]
    page = client_as("auditor").get(response["Location"])
    assert b"Injection site reaction, grade 2" in page.content
    assert b"Record a follow-up" not in page.content  # the auditor reads only


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"event_type": "sunburn"}, "event_type"),
        ({"event_type": ""}, "event_type"),
        ({"onset": ""}, "onset"),
        ({"onset": (timezone.localdate() + timedelta(days=2)).isoformat()}, "onset"),
        ({"ctcae_grade": "7"}, "ctcae_grade"),
        ({"ctcae_term": ""}, "ctcae_term"),
        ({"serious": "on"}, "serious_criteria"),
        ({"serious_criteria": ["death"]}, "serious_criteria"),
        ({"causality": "unrelated"}, "causality"),
        ({"severity": None}, "severity"),
    ],
    ids=[
        "unknown-type",
        "no-type",
        "no-onset",
        "future-onset",
        "grade-7",
        "grade-without-term",
        "serious-without-criteria",
        "criteria-without-serious",
        "unknown-causality",
        "no-severity",
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client_as, patient, overrides, field):
    response = client_as("practitioner").post(
        reverse("outcomes:adverse_event_new", args=[patient.pk]), form_data(**overrides)
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not AdverseEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="adverse_event.record").exists()


def test_another_clinics_lot_or_pack_is_refused(clinic, staff, patient, other_clinic, outsider):
    foreign = make_lot(other_clinic, {"manager": outsider}, "FOREIGN")
    with pytest.raises(InvalidInput) as info:
        record_ae(clinic, staff, patient, lots=[foreign])
    assert info.value.field == "lots"
    assert not AdverseEvent.objects.exists()


def test_choosing_a_session_preselects_its_lots_preparations_and_packs(
    clinic, staff, patient, client_as
):
    lot, topical = make_lot(clinic, staff, "A-1"), make_lot(clinic, staff, "T-1")
    other = make_lot(clinic, staff, "UNUSED")
    prep = make_preparation(clinic)
    packs = make_packs(clinic, staff, 2)
    session = make_session(
        clinic,
        staff,
        patient,
        lots=(lot,),
        topical_lot=topical,
        preparation=prep,
        packs=(packs[0],),
    )
    url = reverse("outcomes:adverse_event_new", args=[patient.pk])
    form = client_as("practitioner").get(f"{url}?session={session.pk}").context["form"]
    assert form.initial["session"] == session
    assert (
        set(form.initial["lots"]) == {lot.pk, topical.pk} and other.pk not in form.initial["lots"]
    )
    assert form.initial["preparations"] == [prep.pk]
    assert form.initial["packs"] == [packs[0].pk]
    links = services.session_links(session)
    assert set(links.lots) == {lot.pk, topical.pk}


def test_adverse_event_codes_by_session_feeds_the_engine_history(clinic, staff, patient):
    first, second = make_session(clinic, staff, patient), make_session(clinic, staff, patient)
    record_ae(clinic, staff, patient, event_type="nodule", session=first)
    record_ae(clinic, staff, patient, event_type="bruising", session=first)
    record_ae(clinic, staff, patient, event_type="nodule", session=first)
    record_ae(clinic, staff, patient, event_type="ulceration", session=second)
    record_ae(clinic, staff, patient, event_type="oedema")  # no session: left out
    codes = services.adverse_event_codes_by_session(patient)
    assert codes == {first.pk: ["bruising", "nodule"], second.pk: ["ulceration"]}


def test_surveillance_window_runs_from_the_last_signed_session_for_the_library_length(
    clinic, staff, patient, client_as
):
    assert services.surveillance_window(patient) is None
    days = int(load_library().followups["infection_surveillance_days"].value)
    make_session(clinic, staff, patient, signed_days_ago=40)
    make_session(clinic, staff, patient, signed_days_ago=None)  # not signed: ignored
    last = make_session(clinic, staff, patient, signed_days_ago=10)
    window = services.surveillance_window(patient)
    assert window is not None and window.open and window.days == days
    signed_on = timezone.localtime(last.signed_at).date()
    assert window.last_signed_on == signed_on
    assert window.ends_on == signed_on + timedelta(days=days)
    late = services.surveillance_window(patient, today=window.ends_on + timedelta(days=1))
    assert late is not None and not late.open
    page = client_as("practitioner").get(reverse("outcomes:adverse_event_new", args=[patient.pk]))
    assert f"until {window.ends_on:%Y-%m-%d}".encode() in page.content


@pytest.mark.parametrize(
    ("event_type", "antibiotics", "outcome", "prompted"),
    [
        ("nodule", True, "not_recovered", True),
        ("infection", True, "not_recovered", True),
        ("nodule", False, "not_recovered", False),
        ("nodule", True, "recovering", False),
        ("nodule", True, "recovered", False),
        ("bruising", True, "not_recovered", False),
        ("ulceration", True, "not_recovered", False),
    ],
)
def test_culture_prompt_for_nodule_or_infection_not_healing_under_antibiotics(
    clinic, staff, patient, client_as, event_type, antibiotics, outcome, prompted
):
    event = record_ae(
        clinic,
        staff,
        patient,
        event_type=event_type,
        antibiotics_given=antibiotics,
        outcome=outcome,
    )
    assert services.culture_prompt(event) is prompted
    page = client_as("practitioner").get(reverse("outcomes:adverse_event", args=[event.pk]))
    assert (b"Request a mycobacterial culture" in page.content) is prompted


def test_recording_the_culture_request_ends_the_prompt_and_is_audited(
    clinic, staff, patient, client_as
):
    event = record_ae(clinic, staff, patient, antibiotics_given=True)
    url = reverse("outcomes:adverse_event_culture", args=[event.pk])
    client = client_as("practitioner")
    bad = client.post(url, {"requested_on": (event.onset - timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and "requested_on" in bad.context["form"].errors
    today = timezone.localdate()
    assert client.post(url, {"requested_on": today.isoformat()}).status_code == 302
    event.refresh_from_db()
    assert event.culture_requested_on == today and not services.culture_prompt(event)
    page = client.get(reverse("outcomes:adverse_event", args=[event.pk]))
    assert f"culture requested on {today:%Y-%m-%d}".encode() in page.content
    assert AuditEvent.objects.filter(action="adverse_event.culture_requested").count() == 1
    assert client_as("auditor").post(url, {"requested_on": today.isoformat()}).status_code == 403


def test_follow_up_changes_are_kept_old_to_new_and_audited(clinic, staff, patient, client_as):
    event = record_ae(clinic, staff, patient, outcome="not_recovered", antibiotics_given=True)
    lot = make_lot(clinic, staff, "LATE-1")
    client = client_as("prescriber")
    url = reverse("outcomes:adverse_event", args=[event.pk])
    data = {
        "severity": "moderate",
        "ctcae_term": "Injection site reaction",
        "ctcae_grade": "2",
        "causality": "probable",
        "outcome": "recovered_with_sequelae",
        "antibiotics_given": "on",
        "lots": [str(lot.pk)],
        "note": "Healed with a small scar",
    }
    assert client.post(url, data).status_code == 302
    event.refresh_from_db()
    assert event.outcome == "recovered_with_sequelae" and list(event.lots.all()) == [lot]
    update = AdverseEventUpdate.objects.get()
    assert update.changes["outcome"] == {"old": "not_recovered", "new": "recovered_with_sequelae"}
    assert update.changes["lots"] == {"old": [], "new": [str(lot)]}
    audit = AuditEvent.objects.get(action="adverse_event.update")
    assert audit.details["changes"]["outcome"]["new"] == "recovered_with_sequelae"
    page = client.get(url)
    assert b"Healed with a small scar" in page.content
    # the same values again: nothing changed, nothing recorded
    again = client.post(url, data)
    assert again.status_code == 400 and b"Nothing changed" in again.content
    assert AdverseEventUpdate.objects.count() == 1


def test_an_adverse_event_is_never_deleted(clinic, staff, patient):
    event = record_ae(clinic, staff, patient)
    with pytest.raises(NotDeletable):
        event.delete()
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_service_refuses_a_patient_of_another_clinic(clinic, staff, patient, other_clinic):
    with pytest.raises(InvalidInput):
        services.do_record_adverse_event(staff["practitioner"], other_clinic, patient, ae_data())
