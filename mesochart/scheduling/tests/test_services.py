"""Booking, moving, cancelling and the status door of the appointment book."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase

from mesochart.audit.models import AuditEvent
from mesochart.care.models import SessionStatus, TreatmentSession
from mesochart.conftest import create_patient, make_user
from mesochart.errors import Conflict, InvalidInput
from mesochart.scheduling import services
from mesochart.scheduling.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Room,
)
from mesochart.scheduling.signals import appointment_changed

from .factories import DAY, appt_type, at, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clinic, staff):
    return setup_book(clinic, staff)


def _book(clinic, staff, patient, key="skin-revitalisation", hour=10, who="practitioner", **kw):
    return services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, key),
        practitioner=staff[who],
        starts_at=at(clinic, DAY, hour),
        **kw,
    )


def test_booking_takes_the_type_duration_a_free_room_and_is_audited(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient)
    assert appt.ends_at - appt.starts_at == timedelta(minutes=30)
    assert appt.room is not None and appt.status == AppointmentStatus.BOOKED
    assert appt.protocol == "skin-revitalisation" and appt.device is None
    event = AuditEvent.objects.get(action="appointment.book")
    assert event.object_id == str(appt.pk) and event.details["patient"] == str(patient.pk)


def test_practitioner_cannot_be_double_booked(clinic, staff, patient, book):
    _book(clinic, staff, patient)
    other = create_patient(clinic, staff["reception"], given_name="Other")
    with pytest.raises(services.DoubleBooked) as err:
        services.do_book(
            staff["reception"],
            clinic,
            patient=other,
            appt_type=appt_type(clinic, "Consultation"),
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 10, 15),
        )
    assert err.value.field == "practitioner"
    assert Appointment.objects.count() == 1


def test_back_to_back_appointments_do_not_overlap(clinic, staff, patient, book):
    _book(clinic, staff, patient, key="Consultation")
    other = create_patient(clinic, staff["reception"], given_name="Other")
    second = _book(clinic, staff, other, key="Consultation", hour=10, who="prescriber")
    third = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 10, 30),
    )
    assert second.room != Appointment.objects.first().room
    assert third.starts_at == at(clinic, DAY, 10, 30)


def test_room_taken_is_refused_naming_the_room_and_no_room_free_too(clinic, staff, patient, book):
    first = _book(clinic, staff, patient, key="Consultation")
    second = create_patient(clinic, staff["reception"], given_name="Second")
    third = create_patient(clinic, staff["reception"], given_name="Third")
    with pytest.raises(services.DoubleBooked) as err:
        _book(clinic, staff, second, key="Consultation", who="prescriber", room=first.room)
    assert err.value.field == "room"
    _book(clinic, staff, second, key="Consultation", who="prescriber")  # the other room
    with pytest.raises(services.DoubleBooked) as err:
        _book(clinic, staff, third, key="Consultation", who="assistant")
    assert err.value.field == "room"


def test_a_device_protocol_books_the_device_and_it_is_held(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="rf-microneedling-meso")
    assert appt.device is not None and appt.device.name == "RF one"
    other = create_patient(clinic, staff["reception"], given_name="Other")
    with pytest.raises(services.DoubleBooked) as err:
        _book(clinic, staff, other, key="rf-microneedling-meso", who="assistant")
    assert err.value.field == "device"


def test_outside_working_hours_or_during_an_absence_is_refused(clinic, staff, patient, book):
    with pytest.raises(services.BookingRefused) as err:
        _book(clinic, staff, patient, hour=18)
    assert err.value.field == "starts_at"
    services.do_save_resource(
        staff["manager"],
        clinic,
        Absence(
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 9),
            ends_at=at(clinic, DAY, 12),
            reason="Training",
        ),
        action="absence",
    )
    with pytest.raises(services.BookingRefused, match="away"):
        _book(clinic, staff, patient)


def test_reception_cannot_be_booked_as_practitioner(clinic, staff, patient, book):
    with pytest.raises(InvalidInput) as err:
        _book(clinic, staff, patient, who="reception")
    assert err.value.field == "practitioner"


def test_prescriber_only_type_needs_a_prescriber(clinic, staff, patient, book):
    with pytest.raises(InvalidInput) as err:
        _book(clinic, staff, patient, key="Prescriber consultation")
    assert err.value.field == "practitioner"
    assert _book(clinic, staff, patient, key="Prescriber consultation", who="prescriber")


def test_another_clinics_patient_or_type_is_refused(clinic, other_clinic, staff, patient, book):
    outsider = make_user("far", other_clinic, "manager")
    stranger = create_patient(other_clinic, outsider)
    with pytest.raises(InvalidInput) as err:
        _book(clinic, staff, stranger)
    assert err.value.field == "patient"


def test_naive_datetime_is_refused(clinic, staff, patient, book):
    with pytest.raises(InvalidInput) as err:
        services.do_book(
            staff["reception"],
            clinic,
            patient=patient,
            appt_type=appt_type(clinic, "Consultation"),
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 10).replace(tzinfo=None),
        )
    assert err.value.field == "starts_at"


def test_move_checks_the_new_slot_and_ignores_itself(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="Consultation")
    moved = services.do_move(staff["reception"], appt, starts_at=at(clinic, DAY, 10, 15))
    assert moved.starts_at == at(clinic, DAY, 10, 15)
    blocker = _book(clinic, staff, patient, key="Consultation", hour=14)
    with pytest.raises(services.DoubleBooked):
        services.do_move(staff["reception"], moved, starts_at=blocker.starts_at)
    moved.refresh_from_db()
    assert moved.starts_at == at(clinic, DAY, 10, 15)
    assert AuditEvent.objects.filter(action="appointment.move").count() == 1


def test_cancel_early_and_late_by_the_notice_period(clinic, staff, patient, book):
    early = _book(clinic, staff, patient, key="Consultation")
    services.do_cancel(
        staff["reception"],
        early,
        by=CancelledBy.PATIENT,
        reason="Holiday",
        now=early.starts_at - timedelta(hours=49),
    )
    early.refresh_from_db()
    assert early.status == AppointmentStatus.CANCELLED and not early.cancelled_late
    late = _book(clinic, staff, patient, key="Consultation")  # the slot is free again
    services.do_cancel(
        staff["reception"],
        late,
        by=CancelledBy.CLINIC,
        reason="Practitioner ill",
        now=late.starts_at - timedelta(hours=47),
    )
    late.refresh_from_db()
    assert late.cancelled_late and late.cancelled_by == "clinic"
    assert AuditEvent.objects.get(action="appointment.cancelled", object_id=str(late.pk)).details[
        "late"
    ]


def test_cancel_needs_a_reason_and_who(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="Consultation")
    with pytest.raises(InvalidInput) as err:
        services.do_cancel(staff["reception"], appt, by="patient", reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput) as err:
        services.do_cancel(staff["reception"], appt, by="nobody", reason="x")
    assert err.value.field == "cancelled_by"


def test_status_transitions_are_data(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="Consultation")
    services.do_confirm(staff["reception"], appt)
    with pytest.raises(Conflict) as err:
        services.do_complete(staff["reception"], Appointment.objects.get(pk=appt.pk))
    assert err.value.field == "status"
    services.do_arrive(staff["reception"], appt)
    services.do_complete(staff["practitioner"], appt)
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.COMPLETED and appt.session is None
    with pytest.raises(Conflict):
        services.do_cancel(staff["reception"], appt, by="patient", reason="late")


def test_arriving_for_a_treatment_creates_its_session_and_complete_needs_it_signed(
    clinic, staff, patient, book
):
    appt = _book(clinic, staff, patient)
    services.do_arrive(staff["reception"], appt)
    appt.refresh_from_db()
    session = appt.session
    assert session is not None and session.protocol == "skin-revitalisation"
    assert session.scheduled_for == DAY and session.status == SessionStatus.PLANNED
    services.do_start_treatment(staff["practitioner"], appt)
    with pytest.raises(Conflict) as err:
        services.do_complete(staff["practitioner"], appt)
    assert err.value.field == "session"
    TreatmentSession.objects.filter(pk=session.pk).update(status=SessionStatus.SIGNED)
    services.do_complete(staff["practitioner"], appt)
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.COMPLETED


def test_arriving_links_the_planned_session_of_the_day(clinic, staff, patient, book):
    from mesochart.care.services.lifecycle import do_create_session

    planned = do_create_session(
        staff["practitioner"], clinic, patient, protocol="skin-revitalisation", scheduled_for=DAY
    )
    appt = _book(clinic, staff, patient)
    services.do_arrive(staff["reception"], appt)
    assert Appointment.objects.get(pk=appt.pk).session_id == planned.pk
    assert TreatmentSession.objects.count() == 1


def test_no_show_only_once_started(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="Consultation")
    with pytest.raises(Conflict):
        services.do_no_show(staff["reception"], appt)


def test_a_cancelled_appointment_frees_its_slot(clinic, staff, patient, book):
    appt = _book(clinic, staff, patient, key="Consultation")
    services.do_cancel(staff["reception"], appt, by="clinic", reason="Moved away")
    assert _book(clinic, staff, patient, key="Consultation")


class SignalTest(TestCase):
    """The hook for reminders: sent after commit with the change."""

    def test_booked_moved_cancelled_are_signalled(self):
        from mesochart.accounts.models import Clinic, Organisation
        from mesochart.conftest import ROLES

        org = Organisation.objects.create(name="Sig", mrn_prefix="SG")
        clinic = Clinic.objects.create(organisation=org, name="Sig", timezone="Europe/London")
        staff = {r: make_user(r, clinic, r) for r in ROLES}
        setup_book(clinic, staff)
        patient = create_patient(clinic, staff["reception"])
        seen: list[str] = []

        def receiver(sender, appointment, change, actor, **kwargs):
            seen.append(change)

        appointment_changed.connect(receiver)
        try:
            with self.captureOnCommitCallbacks(execute=True):
                appt = _book(clinic, staff, patient, key="Consultation")
            with self.captureOnCommitCallbacks(execute=True):
                services.do_move(staff["reception"], appt, starts_at=at(clinic, DAY, 11))
            with self.captureOnCommitCallbacks(execute=True):
                services.do_cancel(staff["reception"], appt, by="patient", reason="x")
        finally:
            appointment_changed.disconnect(receiver)
        assert seen == ["booked", "moved", "cancelled"]
        assert Room.objects.filter(clinic=clinic).count() == 2


def test_a_patient_is_not_booked_twice_at_once(clinic, staff, patient, book):
    _book(clinic, staff, patient, key="Consultation")
    with pytest.raises(services.DoubleBooked) as err:
        _book(clinic, staff, patient, key="Consultation", who="prescriber")
    assert err.value.field == "patient"
