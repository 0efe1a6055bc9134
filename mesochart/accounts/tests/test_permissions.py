from __future__ import annotations

import re
from pathlib import Path

import pytest

from mesochart.accounts.models import Membership, Role
from mesochart.accounts.permissions import PERMISSIONS, has_perm, require

ROLES_DOC = Path(__file__).resolve().parents[3] / "docs" / "roles.md"


def test_docs_roles_md_shows_exactly_the_enforced_matrix():
    rows = {}
    for line in ROLES_DOC.read_text().splitlines():
        match = re.match(r"^\|\s*`([a-z_.]+)`\s*\|(.*)\|\s*$", line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            rows[match.group(1)] = cells
    assert set(rows) == set(PERMISSIONS)
    roles = [r.value for r in Role]
    for perm, cells in rows.items():
        marks = cells[1:]
        assert len(marks) == len(roles), perm
        documented = {role for role, mark in zip(roles, marks, strict=True) if mark == "yes"}
        assert documented == set(PERMISSIONS[perm][1]), perm


def test_unknown_permission_is_a_programming_error():
    with pytest.raises(KeyError):
        has_perm(None, "patient.delete")
    with pytest.raises(KeyError):
        require("patient.delete")


def test_inactive_membership_has_no_permission():
    membership = Membership(role=Role.MANAGER, is_active=False)
    assert not has_perm(membership, "patient.view")
    assert not has_perm(None, "patient.view")
