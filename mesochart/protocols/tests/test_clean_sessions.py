"""A clean, in-label session of every protocol is ok: no warn, no block."""

from __future__ import annotations

import pytest

from mesochart.protocols import check_session, load_library, screen
from mesochart.protocols.models import parse_session

from .helpers import CLEAN, check


def test_every_protocol_has_a_clean_session() -> None:
    assert set(CLEAN) == set(load_library().protocols)


@pytest.mark.parametrize("protocol", sorted(CLEAN))
def test_clean_session_is_ok(protocol: str) -> None:
    result = check(CLEAN[protocol])
    assert result.verdict == "ok", result.as_dict()
    assert [f for f in result.findings if f.severity != "info"] == []
    assert result.protocol == protocol
    assert result.engine_version == "1.1.0"


@pytest.mark.parametrize("protocol", sorted(CLEAN))
def test_clean_patient_screens_ok(protocol: str) -> None:
    session = parse_session(CLEAN[protocol], load_library())
    result = screen(session.patient, protocol, session.date)
    assert result.verdict == "ok", result.as_dict()


def test_low_evidence_protocols_say_so_as_info() -> None:
    result = check_session(CLEAN["contour-lipolytic"])
    [info] = [f for f in result.findings if f.code == "protocol.low_evidence"]
    assert info.severity == "info"
    assert "off label" in info.message.lower()
    assert result.verdict == "ok"
