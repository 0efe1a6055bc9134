from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.accounts.models import Organisation
from mesochart.errors import DomainError
from mesochart.recall.export import rows_csv, rows_json, rows_text
from mesochart.recall.services import find_rows


class Command(BaseCommand):
    help = (
        "Patients reached by a product lot (through mixtures too), an instrument pack or a "
        "sterilisation cycle: `recall --lot LOT [--product ID]`, `recall --pack ID`, "
        "`recall --cycle ID`; text by default, or --json / --csv."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--lot", help="product lot number")
        what.add_argument("--pack", help="instrument pack id, e.g. P-000123")
        what.add_argument("--cycle", help="sterilisation cycle number or id")
        parser.add_argument("--product", help="product code, to narrow a lot number")
        parser.add_argument(
            "--organisation", help="organisation name or id (needed when there are several)"
        )
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true")
        output.add_argument("--csv", action="store_true")

    def _organisation(self, wanted: str | None) -> Organisation:
        if wanted:
            try:
                by_id = Organisation.objects.filter(pk=uuid.UUID(wanted)).first()
            except ValueError:
                by_id = None
            org = by_id or Organisation.objects.filter(name=wanted).first()
            if org is None:
                raise CommandError(f"organisation: no organisation {wanted!r}")
            return org
        orgs = list(Organisation.objects.all()[:2])
        if len(orgs) != 1:
            raise CommandError(
                "organisation: there are several organisations; name one with --organisation"
                if orgs
                else "organisation: the database has no organisation"
            )
        return orgs[0]

    def handle(self, *args: Any, **options: Any) -> None:
        if options["product"] and not options["lot"]:
            raise CommandError("product: --product only narrows a --lot search")
        org = self._organisation(options["organisation"])
        kind, identifier = next(
            (k, options[k]) for k in ("lot", "pack", "cycle") if options[k] is not None
        )
        try:
            rows = find_rows(org.pk, kind, identifier, options["product"])
        except DomainError as exc:
            raise CommandError(f"{exc.field or kind}: {exc.message}") from None
        if options["json"]:
            self.stdout.write(rows_json(rows))
        elif options["csv"]:
            self.stdout.write(rows_csv(rows), ending="")
        else:
            self.stdout.write(rows_text(rows), ending="")
