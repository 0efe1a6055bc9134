"""``{% load idle_signout %}``: the idle timeout and the fields kept across a sign-out."""

from __future__ import annotations

from typing import Any

from django import template

from mesochart.accounts import idle

register = template.Library()


@register.simple_tag
def idle_seconds() -> int:
    return idle.idle_seconds()


@register.simple_tag(takes_context=True)
def kept_fields(context: template.Context) -> dict[str, Any] | None:
    """The fields kept from a POST that came too late, for this page and user; removes
    them from the session, so call it once, in the page (not in htmx fragments)."""
    request = getattr(context, "request", None)
    return idle.take_kept(request) if request is not None else None
