from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "mesochart.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling: appointment book, resources, booking policy"
