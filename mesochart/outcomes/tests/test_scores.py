from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.errors import InvalidInput
from mesochart.outcomes import scales, services
from mesochart.outcomes.models import OutcomeScore

from .factories import make_follow_up, make_session

pytestmark = pytest.mark.django_db


def record(clinic, staff, patient, **kw):
    data = {
        "scale_id": "gais-clinician",
        "value": 2,
        "timepoint": "end_of_course",
        "assessed_on": timezone.localdate(),
    }
    data.update(kw)
    return services.do_record_score(staff["practitioner"], clinic, patient, **data)


def post_score(client, patient, **kw):
    data = {
        "scale": "gais-patient",
        "value": "3",
        "timepoint": "end_of_course",
        "assessed_on": timezone.localdate().isoformat(),
    }
    data.update(kw)
    return client.post(reverse("outcomes:score_new", args=[patient.pk]), data)


def test_every_scale_has_labels_for_its_whole_range_a_direction_and_a_source():
    for sc in scales.SCALES.values():
        assert sc.values == tuple(range(sc.minimum, sc.maximum + 1)), sc.id
        assert sc.direction in (scales.LOWER_IS_BETTER, scales.HIGHER_IS_BETTER)
        assert sc.rater in (scales.CLINICIAN, scales.PATIENT)
        assert sc.source and sc.evidence
    assert scales.scale("gais-clinician").label(1).startswith("Very much improved")
    assert scales.scale("satisfaction-5").local is True
    assert scales.scale("cr-smfrs").improvement(3, 1) == 2
    assert scales.scale("satisfaction-5").improvement(2, 5) == 3


def test_a_score_keeps_the_scale_id_version_and_direction_and_is_audited(clinic, staff, patient):
    score = record(clinic, staff, patient)
    assert (score.scale, score.scale_version, score.direction, score.rater) == (
        "gais-clinician",
        "1-5",
        "lower_is_better",
        "clinician",
    )
    event = AuditEvent.objects.get(action="outcome_score.record")
    assert event.details["scale"] == "gais-clinician"
    assert event.details["direction"] == "lower_is_better"


def test_recording_through_the_page_saves_and_lists_the_score(client_as, patient):
    client = client_as("assistant")
    response = post_score(client, patient, note="Patient happy with the glow")
    assert response.status_code == 302
    assert OutcomeScore.objects.get().rater == "patient"
    page = client.get(reverse("outcomes:patient_outcomes", args=[patient.pk]))
    assert b"GAIS, rated by the patient" in page.content and b"glow" in page.content


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": "6"}, "value"),
        ({"value": "0"}, "value"),
        ({"timepoint": "baseline"}, "timepoint"),
        ({"assessed_on": (timezone.localdate() + timedelta(days=3)).isoformat()}, "assessed_on"),
        ({"scale": "cr-smfrs", "value": "2"}, "scale"),
        ({"scale": "nope"}, "scale"),
        ({"value": ""}, "value"),
    ],
    ids=["above", "below", "gais-baseline", "future", "submental-no-protocol", "unknown", "empty"],
)
def test_bad_input_names_the_field_and_saves_nothing(client_as, patient, data, field):
    response = post_score(client_as("practitioner"), patient, **data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert b"Nothing has been saved" in response.content
    assert not OutcomeScore.objects.exists()


def test_submental_scales_follow_the_protocol_and_zone(clinic, staff, patient):
    booster = make_session(clinic, staff, patient, protocol="skin-booster")
    with pytest.raises(InvalidInput) as info:
        record(clinic, staff, patient, scale_id="cr-smfrs", value=2, session=booster)
    assert info.value.field == "scale"
    dca = make_session(clinic, staff, patient, protocol="submental-dca")
    score = record(
        clinic, staff, patient, scale_id="cr-smfrs", value=3, timepoint="baseline", session=dca
    )
    assert score.protocol == "submental-dca"
    jowls = make_session(clinic, staff, patient, protocol="contour-lipolytic", zone="jowl_left")
    jowls_lot_free = jowls  # no chart entry at all: no submental zone either
    with pytest.raises(InvalidInput) as info:
        record(clinic, staff, patient, scale_id="pr-smfrs", value=2, session=jowls_lot_free)
    assert "submental zone" in info.value.message
    from .factories import make_lot

    lot = make_lot(clinic, staff, "DCA-1")
    chin = make_session(
        clinic, staff, patient, protocol="contour-lipolytic", zone="submental", lots=(lot,)
    )
    assert record(clinic, staff, patient, scale_id="pr-smfrs", value=2, session=chin).pk
    # without a session the protocol may be named directly
    assert record(clinic, staff, patient, scale_id="cr-smfrs", value=1, protocol="submental-dca")


def test_session_and_follow_up_must_be_the_patients(clinic, staff, patient):
    from mesochart.conftest import create_patient

    other = create_patient(clinic, staff["manager"], given_name="Ana", family_name="Silva")
    theirs = make_session(clinic, staff, other)
    with pytest.raises(InvalidInput) as info:
        record(clinic, staff, patient, session=theirs)
    assert info.value.field == "session"
    with pytest.raises(InvalidInput) as info:
        record(clinic, staff, patient, follow_up=make_follow_up(clinic, theirs))
    assert info.value.field == "follow_up"
    assert not OutcomeScore.objects.exists()


def test_open_assessment_follow_ups_offer_record_scores_links_that_prefill(
    clinic, staff, patient, client_as
):
    session = make_session(clinic, staff, patient)
    final = make_follow_up(clinic, session, "final_assessment")
    early = make_follow_up(clinic, session, "early_check", 3)
    surveillance = make_follow_up(clinic, session, "infection_surveillance", 84)
    done = make_follow_up(clinic, session, "first_assessment", 20)
    done.status = "done"
    done.save(update_fields=["status"])
    client = client_as("practitioner")
    page = client.get(reverse("outcomes:patient_outcomes", args=[patient.pk])).content.decode()
    base = reverse("outcomes:score_new", args=[patient.pk])
    assert f"{base}?follow_up={final.pk}" in page
    assert f"{base}?follow_up={early.pk}" in page
    assert str(surveillance.pk) not in page and str(done.pk) not in page
    form = client.get(f"{base}?follow_up={final.pk}").context["form"]
    assert form.initial["timepoint"] == "end_of_course"
    assert form.initial["follow_up"] == final and form.initial["session"] == session
    response = post_score(
        client, patient, follow_up=str(final.pk), session="", timepoint="end_of_course"
    )
    assert response.status_code == 302
    score = OutcomeScore.objects.get()
    assert score.follow_up == final and score.session == session
    assert score.protocol == session.protocol


def test_date_fields_render_iso_dates_for_the_browser_date_picker(client_as, patient):
    html = client_as("practitioner").get(reverse("outcomes:score_new", args=[patient.pk]))
    today = timezone.localdate().isoformat()
    assert f'type="date" name="assessed_on" value="{today}"' in html.content.decode()
