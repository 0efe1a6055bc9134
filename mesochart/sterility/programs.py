"""Steam sterilisation programs as data: the time/temperature pairs of reference §9.2.

Pure Python, no Django. A cycle records the values the steriliser printed; the
cycle meets its physical parameters only when every recorded value reaches the
program's required value (temperature and hold time at least the pair, pressure
at least the program's pressure where the source gives one).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CDC_2008 = (
    "CDC Guideline for Disinfection and Sterilization in Healthcare Facilities 2008 - "
    "http://www.cdc.gov/hicpac/Disinfection_Sterilization/13_0Sterilization.html"
)
DENTALCARE = (
    "CDC-derived table - https://www.dentalcare.com/en-us/professional-education/ce-courses/"
    "ce474/sterilizing-wrapped-instruments"
)
CSC = (
    "Central Sterilising Club, The principles of medical device decontamination - "
    "https://centralsterilisingclub.org/flipbooks/the-principles-of-medical-device-decontamination/101/"
)
CERTOCLAV = (
    "Manufacturer example (CertoClav) - "
    "https://certoclav.com/sterilization-temperature-and-pressure-for-sterilization-with-steam/"
)


@dataclass(frozen=True, slots=True)
class Program:
    code: str
    label: str
    temperature_c: Decimal  # minimum sterilising temperature
    hold_min: Decimal  # minimum holding time at that temperature
    pressure_bar: Decimal | None  # minimum gauge pressure, when the source states one
    pre_vacuum_only: bool  # needs dynamic air removal (a pre-vacuum steriliser)
    evidence_level: str  # reference legend: L, S, G, P
    source: str

    def shortfalls(
        self, temperature_c: Decimal, hold_min: Decimal, pressure_bar: Decimal | None
    ) -> list[str]:
        """Which recorded values fall below this program (empty: parameters met)."""
        missing: list[str] = []
        if temperature_c < self.temperature_c:
            missing.append(f"temperature {temperature_c} C is below {self.temperature_c} C")
        if hold_min < self.hold_min:
            missing.append(f"hold time {hold_min} min is below {self.hold_min} min")
        if self.pressure_bar is not None and (
            pressure_bar is None or pressure_bar < self.pressure_bar
        ):
            missing.append(f"pressure {pressure_bar} bar is below {self.pressure_bar} bar")
        return missing


def _p(
    code: str,
    label: str,
    temp: str,
    hold: str,
    pressure: str | None,
    pre_vacuum: bool,
    level: str,
    source: str,
) -> Program:
    return Program(
        code,
        label,
        Decimal(temp),
        Decimal(hold),
        Decimal(pressure) if pressure else None,
        pre_vacuum,
        level,
        source,
    )


PROGRAMS: tuple[Program, ...] = (
    _p("134-3", "134 C 3 min", "134", "3", None, False, "S", CSC),
    _p(
        "134-3.5-wrapped",
        "134 C 3.5 min wrapped (class B standard program)",
        "134",
        "3.5",
        None,
        True,
        "P",
        "Typical EN 13060 class B manufacturer program; at least the 134 C 3 min pair of " + CSC,
    ),
    _p("134-5", "134 C 5 min (2.1 bar)", "134", "5", "2.1", False, "P", CERTOCLAV),
    _p("134-18-prion", "134 C 18 min (prion cycle)", "134", "18", None, False, "P", CERTOCLAV),
    _p(
        "132-4-prevac-wrapped",
        "132 C 4 min pre-vacuum wrapped",
        "132",
        "4",
        None,
        True,
        "S",
        CDC_2008,
    ),
    _p(
        "132-15-gravity-wrapped",
        "132 C 15 min gravity wrapped",
        "132",
        "15",
        None,
        False,
        "S",
        DENTALCARE,
    ),
    _p("126-10", "126 C 10 min", "126", "10", None, False, "S", CSC),
    _p("121-15", "121 C 15 min", "121", "15", None, False, "S", CSC),
    _p("121-20", "121 C 20 min (1.1 bar)", "121", "20", "1.1", False, "P", CERTOCLAV),
    _p(
        "121-30-gravity-wrapped",
        "121 C 30 min gravity wrapped",
        "121",
        "30",
        None,
        False,
        "S",
        CDC_2008,
    ),
    _p("115-30", "115 C 30 min", "115", "30", None, False, "S", CSC),
)

BY_CODE: dict[str, Program] = {p.code: p for p in PROGRAMS}
CHOICES: list[tuple[str, str]] = [(p.code, p.label) for p in PROGRAMS]


def program(code: str) -> Program:
    return BY_CODE[code]
