"""Booking that knows the protocols: consultation before prescription-only treatment,
minimum intervals (block or warn, from the course engine), course maximum, policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesochart.care.models import SessionStatus, TreatmentSession
from mesochart.scheduling import rules, services
from mesochart.scheduling.models import Appointment, AppointmentStatus

from .factories import DAY, appt_type, at, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clinic, staff):
    return setup_book(clinic, staff)


def _book(clinic, staff, patient, key, day=DAY, hour=10, who="prescriber", **kw):
    return services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, key),
        practitioner=staff[who],
        starts_at=at(clinic, day, hour),
        **kw,
    )


def _signed(clinic, staff, patient, protocol, day):
    return TreatmentSession.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        patient=patient,
        protocol=protocol,
        scheduled_for=day,
        performed_on=day,
        status=SessionStatus.SIGNED,
        created_by=staff["prescriber"],
    )


def test_prescription_only_treatment_needs_a_prescriber_consultation_first(
    clinic, staff, patient, book
):
    with pytest.raises(services.BookingRefused) as err:
        _book(clinic, staff, patient, "submental-dca")
    assert err.value.field == "type" and "consultation" in err.value.message
    # A consultation with a non-prescriber does not count.
    _book(clinic, staff, patient, "Consultation", hour=9, who="practitioner")
    with pytest.raises(services.BookingRefused):
        _book(clinic, staff, patient, "submental-dca")
    _book(clinic, staff, patient, "Prescriber consultation", hour=11)
    assert _book(clinic, staff, patient, "submental-dca", hour=12).protocol == "submental-dca"


def test_the_consultation_expires_after_the_policy_months(clinic, staff, patient, book):
    _book(clinic, staff, patient, "Prescriber consultation", hour=9)
    later = DAY + timedelta(days=7 * 30)  # past six months
    with pytest.raises(services.BookingRefused):
        _book(clinic, staff, patient, "submental-dca", day=later + timedelta(days=1))
    services.do_set_policy(staff["manager"], clinic, {"consultation_valid_months": 12})
    assert _book(clinic, staff, patient, "submental-dca", day=later + timedelta(days=1))


def test_the_policy_can_switch_the_consultation_rule_off(clinic, staff, patient, book):
    services.do_set_policy(staff["manager"], clinic, {"consultation_required": False})
    assert _book(clinic, staff, patient, "submental-dca")


def test_block_level_interval_is_refused(clinic, staff, patient, book):
    services.do_set_policy(staff["manager"], clinic, {"consultation_required": False})
    _signed(clinic, staff, patient, "submental-dca", DAY - timedelta(days=20))
    with pytest.raises(services.BookingRefused) as err:
        _book(clinic, staff, patient, "submental-dca")
    assert err.value.field == "starts_at" and "28 days" in err.value.message
    assert _book(clinic, staff, patient, "submental-dca", day=DAY + timedelta(days=8))


def test_booked_treatments_count_for_the_interval_both_ways(clinic, staff, patient, book):
    services.do_set_policy(staff["manager"], clinic, {"consultation_required": False})
    _book(clinic, staff, patient, "submental-dca", day=DAY + timedelta(days=14))
    with pytest.raises(services.BookingRefused):
        _book(clinic, staff, patient, "submental-dca")


def test_warn_level_interval_needs_acknowledging_and_is_kept(clinic, staff, patient, book):
    _signed(clinic, staff, patient, "skin-revitalisation", DAY - timedelta(days=3))
    with pytest.raises(services.WarningsNotAcknowledged) as err:
        _book(clinic, staff, patient, "skin-revitalisation")
    assert err.value.field == "acknowledge"
    appt = _book(clinic, staff, patient, "skin-revitalisation", acknowledge_warnings=True)
    assert appt.warnings[0]["code"] == "booking.interval_too_short"


def test_the_policy_can_refuse_warn_level_intervals(clinic, staff, patient, book):
    services.do_set_policy(staff["manager"], clinic, {"warnings_refuse": True})
    _signed(clinic, staff, patient, "skin-revitalisation", DAY - timedelta(days=3))
    with pytest.raises(services.BookingRefused):
        _book(clinic, staff, patient, "skin-revitalisation", acknowledge_warnings=True)


def test_the_course_maximum_counts_signed_and_booked_sessions(clinic, staff, patient, book):
    services.do_set_policy(staff["manager"], clinic, {"consultation_required": False})
    for n in range(5):
        _signed(clinic, staff, patient, "submental-dca", DAY - timedelta(days=30 * (n + 1)))
    sixth = _book(clinic, staff, patient, "submental-dca")
    with pytest.raises(services.BookingRefused) as err:
        _book(clinic, staff, patient, "submental-dca", day=DAY + timedelta(days=30))
    assert "at most 6" in err.value.message
    services.do_cancel(staff["reception"], sixth, by="patient", reason="changed mind")
    assert _book(clinic, staff, patient, "submental-dca", day=DAY + timedelta(days=30))


def test_no_shows_are_counted_over_the_window(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, "Consultation")
    Appointment.objects.filter(pk=appt.pk).update(status=AppointmentStatus.NO_SHOW)
    policy = rules.policy_for(clinic)
    assert rules.no_show_count(patient, policy, at(clinic, DAY, 12)) == 1
    assert rules.no_show_count(patient, policy, at(clinic, DAY + timedelta(days=400), 12)) == 0


def test_policy_values_are_validated_and_audited(clinic, staff, book):
    from django.core.exceptions import ValidationError

    from mesochart.audit.models import AuditEvent

    services.do_set_policy(staff["manager"], clinic, {"cancel_notice_hours": 24})
    event = AuditEvent.objects.get(action="scheduling.policy")
    assert event.details == {"cancel_notice_hours": {"old": 48, "new": 24}}
    with pytest.raises(ValidationError):
        services.do_set_policy(staff["manager"], clinic, {"slot_step_minutes": 1})
    assert rules.policy_for(clinic).slot_step_minutes == 15
