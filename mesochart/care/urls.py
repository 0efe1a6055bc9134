from django.urls import path

from . import session_views as sv
from . import views

app_name = "care"
urlpatterns = [
    path("consent-templates/", views.template_list, name="template_list"),
    path("consent-templates/new/", views.template_create, name="template_create"),
    path("consent-templates/defaults/", views.template_defaults, name="template_defaults"),
    path("consent-templates/<uuid:template_id>/", views.template_detail, name="template_detail"),
    path(
        "consent-templates/<uuid:template_id>/new-version/",
        views.template_new_version,
        name="template_new_version",
    ),
    path("patients/<uuid:patient_id>/consents/", views.patient_consents, name="patient_consents"),
    path("patients/<uuid:patient_id>/consents/take/", views.consent_take, name="consent_take"),
    path("consents/<uuid:consent_id>/", views.consent_detail, name="consent_detail"),
    path("consents/<uuid:consent_id>/signature.png", views.consent_signature, name="signature"),
    path("consents/<uuid:consent_id>/scan/", views.consent_scan, name="scan"),
    path("consents/<uuid:consent_id>/pdf/", views.consent_pdf, name="pdf"),
    path("consents/<uuid:consent_id>/revoke/", views.consent_revoke, name="revoke"),
    # plans and sessions
    path("patients/<uuid:patient_id>/plans/new/", sv.plan_create, name="plan_create"),
    path("plans/<uuid:plan_id>/", sv.plan_detail, name="plan_detail"),
    path(
        "patients/<uuid:patient_id>/prescriptions/new/",
        sv.prescription_create,
        name="prescription_create",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/revoke/",
        sv.prescription_revoke,
        name="prescription_revoke",
    ),
    path("patients/<uuid:patient_id>/sessions/new/", sv.session_create, name="session_create"),
    path("patients/<uuid:patient_id>/appointments.ics", sv.patient_calendar, name="calendar"),
    path("sessions/<uuid:session_id>/", sv.session_detail, name="session"),
    path("sessions/<uuid:session_id>/start/", sv.session_start, name="session_start"),
    path("sessions/<uuid:session_id>/brush/", sv.session_brush, name="session_brush"),
    path("sessions/<uuid:session_id>/points/", sv.point_add, name="point_add"),
    path("sessions/<uuid:session_id>/entries/", sv.entry_add, name="entry_add"),
    path("sessions/<uuid:session_id>/entries/edit/", sv.entries_edit, name="entries_edit"),
    path("sessions/<uuid:session_id>/supplies/<uuid:lot_id>/", sv.supply_set, name="supply_set"),
    path("sessions/<uuid:session_id>/mixtures/", sv.mixture_prepare, name="mixture_prepare"),
    path("sessions/<uuid:session_id>/packs/", sv.pack_add, name="pack_add"),
    path("sessions/<uuid:session_id>/items/", sv.item_add, name="item_add"),
    path("sessions/<uuid:session_id>/vials/", sv.vial_add, name="vial_add"),
    path("sessions/<uuid:session_id>/override/", sv.session_override, name="session_override"),
    path("sessions/<uuid:session_id>/sign/", sv.session_sign, name="session_sign"),
    path("sessions/<uuid:session_id>/cosign/", sv.session_cosign, name="session_cosign"),
    path("sessions/<uuid:session_id>/cancel/", sv.session_cancel, name="session_cancel"),
    path("sessions/<uuid:session_id>/addenda/", sv.session_addendum, name="session_addendum"),
    path("sessions/<uuid:session_id>/aftercare/", sv.session_aftercare, name="aftercare"),
    path(
        "sessions/<uuid:session_id>/aftercare.pdf", sv.session_aftercare_pdf, name="aftercare_pdf"
    ),
    path("entries/<uuid:entry_id>/move/", sv.entry_move, name="entry_move"),
    path("entries/<uuid:entry_id>/delete/", sv.entry_delete, name="entry_delete"),
    path("session-packs/<uuid:row_id>/delete/", sv.pack_remove, name="pack_remove"),
    path("session-items/<uuid:item_id>/delete/", sv.item_remove, name="item_remove"),
    path("session-vials/<uuid:row_id>/delete/", sv.vial_remove, name="vial_remove"),
    path("follow-ups/", sv.follow_up_list, name="follow_ups"),
    path("follow-ups/<uuid:follow_up_id>/done/", sv.follow_up_done, name="follow_up_done"),
]
