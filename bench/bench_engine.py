#!/usr/bin/env python
"""Benchmark of the safety engine: sessions checked per second on one core.

Usage: .venv/bin/python bench/bench_engine.py [--seconds 3] [--json]

Sessions are validated once at the JSON boundary (parse_session), as in production; the
timed loop calls check_session on the parsed records with a realistic mix: clean sessions
of every protocol, full-face revitalisation with many injection rows, DCA courses with
history, microneedling with topicals, energy-device passes with earlier energy sessions and
opened multi-dose vials (contract 1.1), and sessions that raise warnings and blocks.
Prints one line: ``check_session: N sessions/s (M sessions, T s)``.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mesochart.protocols import check_session, load_library, parse_session
from mesochart.protocols.models import Session

FACE = [
    "forehead",
    "glabella",
    "cheek_left",
    "cheek_right",
    "nasolabial_left",
    "nasolabial_right",
    "chin",
    "perioral",
    "temple_left",
    "temple_right",
    "neck",
]


def _base(protocol: str, rng: random.Random) -> dict[str, Any]:
    return {
        "date": "2026-11-25",
        "protocol": protocol,
        "patient": {
            "birth_date": f"{rng.randint(1950, 2006)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "sex": rng.choice(["female", "male"]),
            "bmi": round(rng.uniform(18, 33), 1),
            "fitzpatrick": rng.randint(1, 6),
            "conditions": rng.sample(
                ["herpes_labialis", "keloid_tendency", "dysphagia", "autoimmune_disease"],
                rng.choice([0, 0, 0, 1, 2]),
            ),
            "medications": rng.sample(["antiplatelet", "anticoagulant"], rng.choice([0, 0, 1])),
            "allergies": rng.sample(
                ["lidocaine", "caffeine", "ascorbic_acid"], rng.choice([0, 0, 0, 1])
            ),
        },
        "consents": ["treatment", "photo"] + (["off_label"] if rng.random() < 0.3 else []),
        "history": [],
        "injections": [],
        "microneedling": [],
        "instrument_packs": [{"id": "P-1", "status": "released", "expires": "2027-02-01"}],
    }


def make_sessions(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 7
        if kind == 0:  # full-face revitalisation, many rows
            s = _base("skin-revitalisation", rng)
            for zone in FACE:
                s["injections"].append(
                    {
                        "zone": zone,
                        "product": rng.choice(["ha-nonxl-vitamins", "ha-nonxl-lidocaine"]),
                        "lot": f"L{rng.randint(1, 99)}",
                        "expiry": "2027-05-01",
                        "technique": rng.choice(["nappage", "papule", "point"]),
                        "points": rng.randint(5, 40),
                        "volume_ml": rng.choice([0.02, 0.05, 0.1]),
                    }
                )
        elif kind == 1:  # DCA course with history
            s = _base("submental-dca", rng)
            s["history"] = [
                {
                    "date": f"2026-0{m}-15",
                    "protocol": "submental-dca",
                    "zones": ["submental"],
                    "adverse_events": rng.sample(["bruising", "oedema", "nodule"], 1),
                }
                for m in range(4, 4 + rng.randint(0, 5))
            ]
            for _ in range(rng.randint(1, 3)):
                s["injections"].append(
                    {
                        "zone": "submental",
                        "product": "dca-10mg-ml",
                        "lot": "K1",
                        "expiry": "2027-06-30",
                        "technique": "point",
                        "points": rng.randint(5, 22),
                        "volume_ml": rng.choice([0.2, 0.2, 0.21]),
                    }
                )
        elif kind == 2:  # microneedling with topicals
            s = _base(rng.choice(["microneedling-roller", "microneedling-pen"]), rng)
            for zone in rng.sample(FACE, 5):
                s["microneedling"].append(
                    {
                        "zone": zone,
                        "device": "roller" if "roller" in s["protocol"] else "pen",
                        "needle_length_mm": rng.choice([0.5, 0.75, 1.0, 1.5]),
                        "passes": 4,
                        "device_lot": "R1",
                        "topicals": [
                            {
                                "product": rng.choice(["ha-serum-sterile", "vitamin-c-serum"]),
                                "lot": "S1",
                                "expiry": "2027-01-31",
                            }
                        ],
                    }
                )
        elif kind == 3:  # skin booster
            s = _base("skin-booster", rng)
            for zone in rng.sample(FACE, 6):
                s["injections"].append(
                    {
                        "zone": zone,
                        "product": "ha-skin-booster",
                        "lot": "B1",
                        "expiry": "2027-03-01",
                        "technique": "microdroplet",
                        "points": 50,
                        "volume_ml": 0.01,
                    }
                )
        elif kind == 4:  # contour lipolytic, off label zones
            s = _base("contour-lipolytic", rng)
            for zone in ["cheek_left", "cheek_right", "jowl_left", "submental"]:
                s["injections"].append(
                    {
                        "zone": zone,
                        "product": "caffeine-deoxycholate",
                        "lot": "C1",
                        "expiry": "2026-12-01",
                        "technique": "point",
                        "points": 10,
                        "volume_ml": 0.2,
                    }
                )
            s["vials"] = [
                {
                    "product": "caffeine-deoxycholate",
                    "lot": "C1",
                    "expiry": "2026-12-01",
                    "multi_dose": True,
                    "opened": f"2026-10-{rng.randint(20, 31)}",
                }
            ]
        elif kind == 5:  # energy passes (contract 1.1) with earlier energy sessions
            s = _base(rng.choice(["fractional-laser-meso", "rf-microneedling-meso"]), rng)
            modalities = (
                ["fractional-laser-ablative", "fractional-laser-non-ablative"]
                if s["protocol"] == "fractional-laser-meso"
                else ["rf-microneedling"]
            )
            zones = rng.sample(["forehead", "cheek_left", "cheek_right", "chin", "neck"], 4)
            s["energy"] = [
                {
                    "zone": zone,
                    "modality": rng.choice(modalities),
                    "device": "device-1",
                    "passes": rng.randint(1, 3),
                    "settings": {"energy_mj": 20, "density_pct": 10},
                    "topicals": [
                        {"product": "ha-serum-sterile", "lot": "S1", "expiry": "2027-01-31"}
                    ],
                }
                for zone in zones
            ]
            s["history"] = [
                {
                    "date": f"2026-{m:02d}-0{rng.randint(1, 9)}",
                    "protocol": s["protocol"],
                    "zones": rng.sample(zones, 2),
                    "modalities": [rng.choice(modalities)],
                }
                for m in range(6, 6 + rng.randint(0, 5))
            ]
        else:  # body / hair
            s = _base(rng.choice(["body-cellulite", "hair-mesotherapy"]), rng)
            zone, product = (
                ("abdomen", "methylxanthine-cocktail")
                if s["protocol"] == "body-cellulite"
                else ("scalp", "ha-nonxl-vitamins")
            )
            s["injections"].append(
                {
                    "zone": zone,
                    "product": product,
                    "lot": "X1",
                    "expiry": "2027-01-01",
                    "points": 60,
                    "volume_ml": 0.1,
                }
            )
            s["history"] = [{"date": "2026-11-10", "protocol": s["protocol"]}]
        out.append(copy.deepcopy(s))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--validate",
        action="store_true",
        help="also validate the JSON-decoded dict in the timed loop (parse_session)",
    )
    args = parser.parse_args(argv)
    lib = load_library()
    raw = make_sessions(600)
    sessions: list[Session] = [parse_session(s, lib) for s in raw]
    items: list[Any] = raw if args.validate else sessions
    for s in items[:50]:  # warm-up
        check_session(s, library=lib)
    n = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for s in items:
            check_session(s, library=lib)
        n += len(items)
    elapsed = time.perf_counter() - start
    label = "parse_session+check_session" if args.validate else "check_session"
    print(f"{label}: {n / elapsed:,.0f} sessions/s ({n} sessions, {elapsed:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
