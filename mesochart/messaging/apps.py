from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "mesochart.messaging"
    label = "messaging"
    verbose_name = "Messaging: patient messages, reminders, staff notifications, calendar feeds"

    def ready(self) -> None:
        from . import appointments, notifications

        notifications.connect()
        appointments.connect()
