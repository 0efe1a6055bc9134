"""``appointment_changed``: the one signal sent when an appointment is booked, moved,
cancelled or changes status (after the transaction commits, so a receiver never sees a
booking that was rolled back).

Receivers get ``sender=Appointment``, ``appointment`` (the saved row), ``change`` (one of
``CHANGES``) and ``actor`` (the user, or ``None``). Confirmation messages and reminders
hook here; nothing in this app depends on a receiver.
"""

from __future__ import annotations

import django.dispatch

CHANGES = ("booked", "moved", "cancelled", "status")

appointment_changed = django.dispatch.Signal()
