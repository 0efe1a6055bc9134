"""Every form the app shows, posted back malformed, is answered without a server error.

The demo clinic is crawled as each role that writes (links of the app only, first pages of
lists); every form found is then posted back three ways: empty, with a NUL byte in every
field (PostgreSQL refuses NUL in text), and with every field a long non-identifier text (a
UUID field given "x..."). A refusal must be a 4xx (or a redirect), never a 500; the failures
are collected and reported together, naming the URL and the variant.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from mesochart.accounts.models import User
from mesochart.care.models import SessionStatus, TreatmentSession
from mesochart.core.demo import load_demo
from mesochart.core.testing import login_with_two_factor

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("/static/", "/accounts/logout", "/i18n/", "/admin/")
MAX_PAGES = 400
PAGES_PER_KIND = 3  # pages of one URL pattern visited (two patients, two sessions...)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _kind(path: str) -> str:
    return UUID.sub("<id>", path)


class _Forms(HTMLParser):
    """Links and forms of one page (forms: method, action, field names and first values)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "method": (a.get("method") or "get").lower(),
                "action": a.get("action", ""),
                "fields": {},
            }
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button") and self._form is not None:
            name = a.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._form["fields"].setdefault(name, a.get("value", ""))
            if tag == "button" and a.get("formaction"):
                self._form.setdefault("also", []).append(a["formaction"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _inside(url: str) -> bool:
    parts = urlsplit(url)
    return (
        not parts.scheme
        and not parts.netloc
        and parts.path.startswith("/")
        and not parts.path.startswith(SKIP_PREFIXES)
        and not parts.path.startswith("/media/")
    )


def _crawl(
    client: Client, done: set[tuple[str, str]], start: list[str]
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[str]]:
    """Forms of kinds not in ``done``, one per (method, URL pattern), and GET failures."""
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    queue: deque[str] = deque([*start, "/"])
    forms: dict[tuple[str, str], dict[str, Any]] = {}
    errors: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        parts = urlsplit(url)
        keys = sorted({q.split("=")[0] for q in parts.query.split("&") if q})
        kind = _kind(parts.path) + "?" + "&".join(keys)
        if url in seen or kinds.get(kind, 0) >= PAGES_PER_KIND:
            continue
        seen.add(url)
        kinds[kind] = kinds.get(kind, 0) + 1
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(f"GET {kind}: {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode("utf-8", "replace"))
        for href in parser.links:
            target = urljoin(url, href).split("#")[0]
            if _inside(target) and target not in seen:
                queue.append(target)
        for form in parser.forms:
            for action in [form["action"] or url, *form.get("also", [])]:
                target = urljoin(url, action)
                if not _inside(target):
                    continue
                key = (form["method"], _kind(urlsplit(target).path))
                if key not in done:
                    forms.setdefault(key, {**form, "action": target})
    return forms, errors


def _variants(fields: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    return [
        ("empty", {}),
        ("NUL byte", {name: f"{value}\x00x" for name, value in fields.items()}),
        ("not an identifier", dict.fromkeys(fields, "x" * 300)),
    ]


@pytest.mark.parametrize("role", ["manager", "practitioner", "prescriber"])
def test_no_form_answers_a_server_error_to_malformed_values(role: str) -> None:
    load_demo()
    user = User.objects.get(username=role)
    client = Client(raise_request_exception=False)
    login_with_two_factor(client, user)
    # Start with a session in progress (the chair screen's cards) and its patient's pages.
    clinics = user.memberships.values("clinic")
    planned = TreatmentSession.objects.filter(clinic__in=clinics, status=SessionStatus.PLANNED)
    start = ["/"]
    for session in planned[:2]:
        client.post(reverse("care:session_start", args=[session.pk]))
        start += [
            reverse("care:session", args=[session.pk]),
            reverse("care:consent_take", args=[session.patient_id]) + "?kind=treatment",
            reverse("patients:chart", args=[session.patient_id]),
        ]
    done: set[tuple[str, str]] = set()
    errors: list[str] = []
    # Twice: the first round's empty posts start sessions, open forms...; the second round
    # reaches the forms those pages show (the chair screen's cards among them).
    for _round in range(2):
        forms, failed = _crawl(client, done, start)
        errors += failed
        for (method, kind), form in sorted(forms.items()):
            done.add((method, kind))
            for label, data in _variants(form["fields"]):
                send = client.post if method == "post" else client.get
                response = send(form["action"], data)
                if response.status_code >= 500:
                    errors.append(f"{method.upper()} {kind} ({label}): {response.status_code}")
    assert len(done) > 30, sorted(done)  # the crawl reached the app's forms
    print(sorted(done))
    assert not errors, "\n".join(errors)
