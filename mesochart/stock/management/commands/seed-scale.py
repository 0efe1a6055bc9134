"""mesochart seed-scale [--patients N] [--administrations M] [--clinics K]: a synthetic chain
for benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesochart.stock.scale import seed_scale


class Command(BaseCommand):
    help = (
        "Generate a realistic chain (organisation, clinics, patients, lots, administrations "
        "incl. mixtures) with bulk inserts. Synthetic data: use a throwaway database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, help="patients (default: administrations/25)")
        parser.add_argument("--administrations", type=int, default=0)
        parser.add_argument("--clinics", type=int, default=4)
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--batch", type=int, default=20_000, help="rows per insert batch")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        patients = options["patients"]
        if patients is None and options["administrations"] < 1:
            self.stderr.write("give --patients or --administrations (at least 1)")
            raise SystemExit(2)
        if patients is not None and patients < 1:
            self.stderr.write("--patients must be at least 1")
            raise SystemExit(2)
        if options["administrations"] < 0:
            self.stderr.write("--administrations must not be negative")
            raise SystemExit(2)
        result = seed_scale(
            options["administrations"],
            options["clinics"],
            patients=patients,
            seed=options["seed"],
            batch=options["batch"],
            quiet=options["quiet"],
            # The raw stream: the progress bar redraws its line with "\r".
            stream=getattr(self.stderr, "_out", None),
        )
        self.stdout.write(
            f"{result.organisation.name} (id {result.organisation.pk}): "
            f"{len(result.clinics)} clinics, {result.patients:,} patients, {result.lots:,} lots, "
            f"{result.administrations:,} administrations ({result.preparations:,} mixture "
            f"preparations) in {result.seconds:.1f} s"
        )
