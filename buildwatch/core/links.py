"""Web pages for what buildwatch shows: a Develocity build scan, a BuildBuddy invocation."""

from __future__ import annotations

from urllib.parse import quote


def build_scan_url(develocity_url: str, build_id: str) -> str:
    """The build scan page of `build_id` on the Develocity server at `develocity_url`."""
    return f"{develocity_url.rstrip('/')}/s/{quote(build_id, safe='')}"


def invocation_url(buildbuddy_url: str, invocation_id: str) -> str:
    """The invocation page of `invocation_id` on the BuildBuddy server at `buildbuddy_url`."""
    return f"{buildbuddy_url.rstrip('/')}/invocation/{quote(invocation_id, safe='')}"
