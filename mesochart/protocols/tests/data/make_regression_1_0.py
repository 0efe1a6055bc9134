"""Recorder of ``regression-1.0.json``: 1.0 inputs and the verdicts engine 1.0.0 gave them.

Run once with the 1.0.0 engine on the path (``git archive <1.0 commit> mesochart`` into a
temporary directory, then ``PYTHONPATH=<dir> python make_regression_1_0.py``); the file it
writes is the fixed expectation that ``test_regression_1_0.py`` holds engine 1.1 to. The
sessions are random but seeded, and cover every 1.0 rule: patient contraindications,
doses, zones, needles, intervals, course limits, lots and packs.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

from mesochart.protocols import ENGINE_VERSION, check_session

PROTOCOL_ROWS: dict[str, list[dict[str, Any]]] = {
    "skin-revitalisation": [
        {"zone": "cheek_left", "product": "ha-nonxl-vitamins", "technique": "nappage"},
        {"zone": "forehead", "product": "ha-nonxl-lidocaine", "technique": "papule"},
        {"zone": "upper_lip", "product": "ha-nonxl-vitamins", "technique": "point"},
        {"zone": "eyelid_left", "product": "ha-nonxl-vitamins", "technique": "nappage"},
        {"zone": "neck", "product": "ha-nonxl-vitamins", "technique": "nappage"},
    ],
    "skin-booster": [
        {"zone": "cheek_right", "product": "ha-skin-booster", "technique": "microdroplet"},
        {"zone": "perioral", "product": "ha-skin-booster", "technique": "microdroplet"},
    ],
    "submental-dca": [
        {"zone": "submental", "product": "dca-10mg-ml", "technique": "point"},
        {"zone": "jawline_left", "product": "dca-10mg-ml", "technique": "point"},
        {"zone": "jowl_right", "product": "dca-10mg-ml", "technique": "point"},
    ],
    "contour-lipolytic": [
        {"zone": "submental", "product": "caffeine-deoxycholate", "technique": "point"},
        {"zone": "cheek_left", "product": "caffeine-deoxycholate", "technique": "point"},
    ],
    "hair-mesotherapy": [{"zone": "scalp", "product": "ha-nonxl-vitamins", "technique": "papule"}],
    "body-cellulite": [
        {"zone": "abdomen", "product": "methylxanthine-cocktail", "technique": "point"}
    ],
}
NEEDLING: dict[str, list[str]] = {
    "microneedling-roller": ["roller"],
    "microneedling-pen": ["pen"],
    "needle-free": ["iontophoresis", "sonophoresis"],
    "fractional-laser-meso": ["laser"],
    "rf-microneedling-meso": ["rf"],
}
ZONES = ["forehead", "cheek_left", "cheek_right", "chin", "nose", "eyelid_right", "neck"]
CONDITIONS = [
    "active_infection_site",
    "herpes_labialis",
    "keloid_tendency",
    "autoimmune_disease",
    "immunosuppression",
    "bleeding_disorder",
    "body_dysmorphic_disorder",
    "dysphagia",
    "pacemaker",
    "uncontrolled_diabetes",
    "thyroid_enlargement",
]


def _date(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def make(n: int, seed: int = 10) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    protocols = [*PROTOCOL_ROWS, *NEEDLING]
    out = []
    for _ in range(n):
        protocol = rng.choice(protocols)
        s: dict[str, Any] = {
            "date": "2026-11-25",
            "protocol": protocol,
            "patient": {
                "birth_date": rng.choice(
                    ["1985-04-02"] * 6 + ["2008-11-26", "2008-11-25", "1960-01-31"]
                ),
                "sex": rng.choice(["female", "male"]),
                "pregnant": rng.random() < 0.03,
                "breastfeeding": rng.random() < 0.03,
                "bmi": rng.choice([22.0, 29.9, 30.0, 34.0]),
                "fitzpatrick": rng.randint(1, 6),
                "conditions": rng.sample(CONDITIONS, rng.choice([0, 0, 0, 0, 0, 1, 2])),
                "medications": rng.sample(
                    ["anticoagulant", "antiplatelet", "immunosuppressant"], rng.choice([0, 0, 1])
                ),
                "allergies": rng.sample(
                    ["lidocaine", "caffeine", "ascorbic_acid", "hyaluronic_acid"],
                    rng.choice([0, 0, 0, 1]),
                ),
            },
            "consents": (["treatment"] if rng.random() < 0.9 else [])
            + rng.sample(["off_label", "photo"], rng.randint(0, 2)),
            "history": [],
            "injections": [],
            "microneedling": [],
            "instrument_packs": [
                {
                    "id": "P-1",
                    "status": rng.choice(["released"] * 18 + ["quarantined", "failed"]),
                    "expires": rng.choice(["2027-02-01"] * 18 + ["2026-11-24", "2026-11-25"]),
                }
            ],
        }
        conditions = s["patient"]["conditions"]
        if protocol == "submental-dca" and "dysphagia" not in conditions and rng.random() < 0.4:
            conditions.append("dysphagia")
        if protocol in NEEDLING and "pacemaker" not in conditions and rng.random() < 0.2:
            conditions.append("pacemaker")
        if rng.random() < 0.15:
            s["patient"]["isotretinoin_last_dose"] = rng.choice(["2026-05-25", "2026-05-26"])
        for _ in range(rng.choice([0, 0, 0, 1, 2, 5, 6])):
            s["history"].append(
                {
                    "date": f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}",
                    "protocol": rng.choice([protocol, protocol, rng.choice(protocols)]),
                    "zones": rng.sample([*ZONES, "submental", "upper_lip"], 2),
                    "adverse_events": rng.sample(
                        ["nodule", "bruising", "ulceration", "necrosis", "infection"],
                        rng.choice([0, 0, 1]),
                    ),
                }
            )
        if rng.random() < 0.2:
            s["history"].append(
                {"date": rng.choice(["2026-10-28", "2026-10-29"]), "protocol": protocol}
            )
        if protocol == "submental-dca" and rng.random() < 0.3:
            # A full course behind: six sessions a month apart.
            s["history"] = [{"date": f"2026-{m:02d}-01", "protocol": protocol} for m in range(3, 9)]
        if protocol in PROTOCOL_ROWS:
            for _ in range(rng.randint(1, 4)):
                row = dict(rng.choice(PROTOCOL_ROWS[protocol]))
                row.update(
                    lot=rng.choice(["L1", "L2", None]) if rng.random() < 0.1 else "L1",
                    expiry=rng.choice(["2027-06-30"] * 14 + ["2026-11-24", "2026-11-25"]),
                    points=rng.choice([1, 10, 10, 25, 25, 26, 50, 51]),
                    volume_ml=rng.choice([0.01, 0.05, 0.1, 0.2, 0.2, 0.2, 0.21]),
                )
                if row["lot"] is None:
                    del row["lot"]
                if rng.random() < 0.3:
                    row.update(depth_mm=6, needle_gauge=30, needle_length_mm=13)
                s["injections"].append(row)
        else:
            for zone in rng.sample(ZONES, rng.randint(1, 3)):
                device = rng.choice(NEEDLING[protocol])
                row = {"zone": zone, "device": device, "passes": 4, "device_lot": "R1"}
                if device in ("roller", "pen", "rf"):
                    row["needle_length_mm"] = rng.choice([0.25, 0.5, 1.0, 1.5, 2.0])
                row["topicals"] = [
                    {
                        "product": rng.choice(["ha-serum-sterile"] * 3 + ["vitamin-c-serum"]),
                        "lot": "S1",
                        "expiry": rng.choice(["2027-01-31"] * 9 + ["2026-11-24"]),
                    }
                ]
                s["microneedling"].append(row)
        out.append(copy.deepcopy(s))
    return out


def expectation(session: dict[str, Any]) -> dict[str, Any]:
    result = check_session(session)
    return {
        "verdict": result.verdict,
        "findings": sorted(
            [f.code, f.severity, f.evidence, f.where, f.overridable] for f in result.findings
        ),
    }


def main() -> int:
    assert ENGINE_VERSION.startswith("1.0."), f"record with engine 1.0, not {ENGINE_VERSION}"
    cases = [{"input": s, "expected": expectation(s)} for s in make(300)]
    target = Path(__file__).with_name("regression-1.0.json")
    doc = {"engine_version": ENGINE_VERSION, "cases": cases}
    target.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    verdicts = [c["expected"]["verdict"] for c in cases]
    print(len(cases), {v: verdicts.count(v) for v in set(verdicts)}, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
