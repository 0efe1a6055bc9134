"""Session builders shared by the engine tests (plain dicts, as the JSON boundary sees them)."""

from __future__ import annotations

import copy
from typing import Any

from mesochart.protocols import Result, check_session

DATE = "2026-11-25"
PACK = {"id": "P-0042", "status": "released", "expires": "2027-02-01"}


def patient(**changes: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"birth_date": "1985-04-02", "sex": "female", "bmi": 24.5, "fitzpatrick": 3}
    p.update(changes)
    return p


def inj(zone: str, product: str, volume_ml: float, points: int = 1, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "zone": zone,
        "product": product,
        "lot": "L1",
        "expiry": "2027-06-30",
        "points": points,
        "volume_ml": volume_ml,
    }
    d.update(extra)
    return d


def mn(
    zone: str,
    device: str = "roller",
    needle_length_mm: float | None = 1.0,
    topicals: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    d: dict[str, Any] = {"zone": zone, "device": device, "passes": 4, "device_lot": "R1"}
    if needle_length_mm is not None:
        d["needle_length_mm"] = needle_length_mm
    d["topicals"] = (
        topicals
        if topicals is not None
        else [{"product": "ha-serum-sterile", "lot": "S55", "expiry": "2027-01-31"}]
    )
    return d


def session(protocol: str, **changes: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "date": DATE,
        "protocol": protocol,
        "patient": patient(),
        "consents": ["treatment", "photo"],
        "history": [],
        "injections": [],
        "microneedling": [],
        "instrument_packs": [dict(PACK)],
    }
    s.update(copy.deepcopy(changes))
    return s


CLEAN: dict[str, dict[str, Any]] = {
    "skin-revitalisation": session(
        "skin-revitalisation",
        injections=[
            inj("cheek_left", "ha-nonxl-vitamins", 0.05, 20, technique="nappage", depth_mm=2),
            inj("forehead", "ha-nonxl-lidocaine", 0.02, 30, technique="papule"),
        ],
    ),
    "skin-booster": session(
        "skin-booster",
        injections=[
            inj(
                "cheek_right",
                "ha-skin-booster",
                0.01,
                100,
                technique="microdroplet",
                needle_gauge=29,
            )
        ],
    ),
    "submental-dca": session(
        "submental-dca",
        injections=[
            inj(
                "submental",
                "dca-10mg-ml",
                0.2,
                25,
                technique="point",
                depth_mm=6,
                needle_gauge=30,
                needle_length_mm=13,
            )
        ],
    ),
    "contour-lipolytic": session(
        "contour-lipolytic",
        injections=[inj("submental", "caffeine-deoxycholate", 0.2, 20, technique="point")],
    ),
    "microneedling-roller": session("microneedling-roller", microneedling=[mn("cheek_left")]),
    "microneedling-pen": session(
        "microneedling-pen", microneedling=[mn("forehead", "pen", 0.5), mn("chin", "pen", 1.5)]
    ),
    "needle-free": session(
        "needle-free",
        instrument_packs=[],
        microneedling=[
            mn(
                "cheek_left",
                "iontophoresis",
                None,
                [{"product": "vitamin-c-serum", "lot": "V1", "expiry": "2027-01-31"}],
            ),
            mn("forehead", "sonophoresis", None),
        ],
    ),
    "fractional-laser-meso": session(
        "fractional-laser-meso", microneedling=[mn("cheek_left", "laser", None)]
    ),
    "rf-microneedling-meso": session(
        "rf-microneedling-meso", microneedling=[mn("cheek_right", "rf", 1.0)]
    ),
    "hair-mesotherapy": session(
        "hair-mesotherapy",
        injections=[inj("scalp", "ha-nonxl-vitamins", 0.05, 40, technique="papule")],
    ),
    "body-cellulite": session(
        "body-cellulite",
        injections=[inj("abdomen", "methylxanthine-cocktail", 0.1, 30, technique="point")],
    ),
}


def clean(protocol: str) -> dict[str, Any]:
    return copy.deepcopy(CLEAN[protocol])


def check(data: dict[str, Any]) -> Result:
    return check_session(data)


def severities(result: Result, code: str) -> list[str]:
    return [f.severity for f in result.findings if f.code == code]
