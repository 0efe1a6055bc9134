from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mesochart.core.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load the demo organisation, clinics, staff and patients (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = load_demo()
        self.stdout.write(
            f"Demo organisation: {result.organisation.name} "
            f"({', '.join(c.name for c in result.clinics)}); "
            f"{result.created_patients} patients created this run."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, clinics in result.users:
            self.stdout.write(f"  {username:<22} {role:<13} {clinics}")
