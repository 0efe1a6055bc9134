"""Objects of ``clinic`` for the URL walker (mesochart/core/tests/test_url_walker.py)."""

from __future__ import annotations

from typing import Any

from .factories import make_item_lot, make_pack, make_steriliser, released_cycle


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    actor = staff["manager"]
    steriliser = make_steriliser(clinic, actor, name="Walker autoclave")
    cycle = released_cycle(steriliser, actor)
    pack = make_pack(cycle, actor)
    item_lot = make_item_lot(clinic, actor)
    return {
        "steriliser_id": steriliser.pk,
        "cycle_id": cycle.pk,
        "pack_id": pack.pk,
        "item_lot_id": item_lot.pk,
    }
