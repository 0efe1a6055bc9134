"""The Content-Security-Policy, no-store on staff pages, and a deployment whose
`check --deploy` is clean with environment variables alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
STYLE_TAG = re.compile(r"<style\b", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
HANDLER_ATTR = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
HTMX_ON = re.compile(r"\shx-on[:-]", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def inline_code(text: str) -> list[str]:
    """What a strict CSP (script-src/style-src 'self') would refuse in ``text``."""
    found = []
    for match in SCRIPT_TAG.finditer(text):
        attrs = match.group(1)
        if "src=" not in attrs and 'type="application/json"' not in attrs:
            found.append("inline <script>")
    for pattern, what in [
        (STYLE_TAG, "<style>"),
        (STYLE_ATTR, "style= attribute"),
        (HANDLER_ATTR, "on*= handler"),
        (HTMX_ON, "hx-on handler"),
        (JS_URL, "javascript: URL"),
    ]:
        if pattern.search(text):
            found.append(what)
    return found


def test_the_scanner_catches_every_kind_of_inline_code():
    assert inline_code("<script>alert(1)</script>") == ["inline <script>"]
    assert inline_code('<p style="color:red">') == ["style= attribute"]
    assert inline_code("<style>p{}</style>") == ["<style>"]
    assert inline_code('<button type="button"\n onclick="go()">') == ["on*= handler"]
    assert inline_code('<div hx-on:click="x()">') == ["hx-on handler"]
    assert inline_code('<a href="javascript:go()">') == ["javascript: URL"]
    assert inline_code('<script src="/static/a.js" defer></script>') == []
    assert inline_code('<script id="k" type="application/json">{}</script>') == []
    assert inline_code('<button data-print>Print</button> <p class="online">') == []


def test_no_template_carries_inline_script_style_or_handler():
    offenders = {
        str(path.relative_to(TEMPLATES)): problems
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (problems := inline_code(path.read_text()))
    }
    assert offenders == {}


def test_pages_carry_a_strict_content_security_policy(client, db):
    policy = client.get(reverse("accounts:login"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_every_page_served_to_signed_in_staff_is_no_store(client_as, patient):
    client = client_as("practitioner")
    for url in (
        reverse("core:dashboard"),
        reverse("patients:list"),
        reverse("patients:chart", args=[patient.pk]),
    ):
        cache = client.get(url)["Cache-Control"]
        assert "no-store" in cache and "private" in cache, url


def test_the_sign_in_page_may_be_cached_like_any_public_page(client, db):
    assert "no-store" not in client.get(reverse("accounts:login")).get("Cache-Control", "")


def deploy_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HTTPS", "HSTS", "SECURE"))}
    base.pop("BEHIND_PROXY", None)
    base.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    base.update({"DEBUG": "false", "MESOCHART_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "mesochart", "check", "--deploy", "--fail-level", "WARNING"],
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_environment_variables_only(tmp_path):
    done = deploy_check(
        tmp_path,
        HTTPS="true",
        BEHIND_PROXY="true",
        HSTS_PRELOAD="true",
        ALLOWED_HOSTS="clinic.example.org",
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no issues" in done.stdout


def test_check_deploy_warns_without_https(tmp_path):
    done = deploy_check(tmp_path, ALLOWED_HOSTS="clinic.example.org")
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


@pytest.mark.parametrize("https", [True, False])
def test_cookies_are_secure_whenever_https_is_on(tmp_path, https):
    env = {k: v for k, v in os.environ.items() if k not in {"HTTPS", "SECURE_COOKIES"}}
    env.update({"HTTPS": "true" if https else "false", "MESOCHART_VAR_DIR": str(tmp_path)})
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='mesochart.settings'; "
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [str(https)] * 3


def test_the_health_probe_answers_over_plain_http_when_https_is_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("accounts:login")).status_code == 301
