from __future__ import annotations

from django.conf import settings
from django.db import models

from mesochart.accounts.models import Clinic


class ClinicParameter(models.Model):
    """A clinic's value for one tunable (P or G) parameter of the protocol library.

    Label and standard (L, S) limits are never stored here: the service refuses
    them. Removing the row returns the clinic to the library's default.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="parameters")
    param_id = models.CharField(max_length=200)
    value = models.FloatField()
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["param_id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "param_id"], name="clinic_parameter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.clinic}: {self.param_id} = {self.value:g}"
