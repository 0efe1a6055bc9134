from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesochart.errors import DomainError
from mesochart.recall.models import RecallKind

from . import services
from .models import Channel, MessageStatus


class PreferencesForm(forms.Form):
    email_opt_out = forms.BooleanField(required=False, label=_("No messages by email"))
    sms_opt_out = forms.BooleanField(required=False, label=_("No messages by SMS"))


class SettingsForm(forms.Form):
    reminder_offsets_hours = forms.CharField(
        max_length=100,
        label=_("Reminder offsets (hours before the appointment)"),
        help_text=_("Comma-separated, e.g. 48, 24"),
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices, widget=forms.CheckboxSelectMultiple, label=_("Channels")
    )
    send_hour = forms.IntegerField(
        min_value=0, max_value=23, label=_("Hour of day for follow-up messages (clinic time)")
    )
    early_check_messages = forms.BooleanField(
        required=False, label=_("Send the result check message on the day it is due")
    )
    next_session_messages = forms.BooleanField(
        required=False, label=_("Send the next session due message")
    )
    next_session_notice_days = forms.IntegerField(
        min_value=0, max_value=60, label=_("Days before the next session is due to send it")
    )

    def clean_reminder_offsets_hours(self) -> list[int]:
        try:
            offsets = services.parse_offsets(self.cleaned_data["reminder_offsets_hours"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        if not offsets:
            raise forms.ValidationError(_("Give at least one offset."))
        return offsets


class RecallNoticeForm(forms.Form):
    kind = forms.ChoiceField(choices=RecallKind.choices)
    identifier = forms.CharField(max_length=100)
    product = forms.CharField(max_length=100, required=False)


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *MessageStatus.choices], required=False
    )

    def status_or_none(self) -> Any:
        return self.cleaned_data.get("status") or None if self.is_valid() else None
