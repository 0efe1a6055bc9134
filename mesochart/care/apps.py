from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "mesochart.care"
    label = "care"
    verbose_name = "Care: consent"
    default_auto_field = "django.db.models.BigAutoField"
