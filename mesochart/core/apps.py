from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesochart.core"
    label = "core"
    verbose_name = "Mesochart"
