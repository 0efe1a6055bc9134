from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.core.demo import DEMO_PASSWORD, holds_other_data, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo organisation, clinics, staff and patients (safe to run again). "
        "Refused with DEBUG off or on a database holding other data, unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="load the demo even with DEBUG off or beside other data",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["force"]:
            if not settings.DEBUG:
                raise CommandError(
                    "DEBUG is off: this looks like a real clinic's installation, and the demo "
                    "adds staff accounts with a published password. Run it with DEBUG=true "
                    "(as `make run` does), or add --force."
                )
            if holds_other_data():
                raise CommandError(
                    "This database holds organisations or staff that are not the demo's: "
                    "the demo would add staff accounts with a published password beside "
                    "them. Use an empty database, or add --force."
                )
        result = load_demo()
        self.stdout.write(
            f"Demo organisation: {result.organisation.name} "
            f"({', '.join(c.name for c in result.clinics)}); "
            f"{result.created_patients} patients created this run."
        )
        from mesochart.scheduling.online import booking_url, online_types

        for clinic in result.clinics:
            if online_types(clinic):
                self.stdout.write(f"Online booking for {clinic.name}: {booking_url(clinic)}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, clinics in result.users:
            self.stdout.write(f"  {username:<22} {role:<13} {clinics}")
        if result.two_factor:
            self.stdout.write(
                "Prescribers and managers also give a second factor after the password (the "
                "clinics' rule): add the secret to an authenticator app, or type one of the "
                "recovery codes (each works once; running the demo again prints those left, or ten "
                "new ones when all are used)."
            )
            for username, secret, codes in result.two_factor:
                self.stdout.write(f"  {username:<22} secret {secret}")
                self.stdout.write(f"  {'':<22} recovery codes {' '.join(codes)}")
