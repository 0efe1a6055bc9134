from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("", views.message_list, name="list"),
    path("<uuid:message_id>/", views.message_detail, name="message"),
    path("<uuid:message_id>/retry/", views.message_retry, name="retry"),
    path("patients/<uuid:patient_id>/", views.patient_messages, name="patient"),
    path("settings/", views.clinic_settings, name="settings"),
    path("recall-notice/", views.recall_notice, name="recall_notice"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/count/", views.notification_count, name="notification_count"),
    path("calendar/", views.feed_settings, name="feed_settings"),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
]
