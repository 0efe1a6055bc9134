from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mesochart.audit"
    label = "audit"
    verbose_name = "Audit log"
