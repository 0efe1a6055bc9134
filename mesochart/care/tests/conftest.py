from __future__ import annotations

from typing import Any

import pytest

from mesochart.care.services import consents


@pytest.fixture
def templates(clinic: Any, staff: Any) -> dict[str, Any]:
    return {t.kind: t for t in consents.ensure_default_templates(clinic, staff["manager"])}
