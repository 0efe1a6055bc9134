from __future__ import annotations

from typing import Any

import pytest

from mesochart.care import services


@pytest.fixture
def templates(clinic: Any, staff: Any) -> dict[str, Any]:
    return {t.kind: t for t in services.ensure_default_templates(clinic, staff["manager"])}
