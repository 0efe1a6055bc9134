from django.apps import AppConfig


class RecallConfig(AppConfig):
    name = "mesochart.recall"
    label = "recall"
    verbose_name = "Recall: lot, pack and cycle to patients"
