"""Checks every request passes before a route sees it, and headers every response carries.

- ``Host`` must name this server (``allowed_hosts``): a DNS-rebinding page on another
  name cannot talk to a service bound to 127.0.0.1.
- Each client address spends from a token bucket (``rate_limit_*``) on every /v1 request;
  over budget, 429 with Retry-After.
- ``Content-Length`` must be a plain number (waitress refuses the rest earlier; this
  covers any other WSGI server).
- Admin endpoints (customers' text) need ``Authorization: Bearer <admin_token>``; with no
  token configured they are disabled, never open.
- Security headers on every response: a CSP that allows only this origin's script and
  style (the sidebar has no inline script), no sniffing, no framing, no referrer.
"""
from __future__ import annotations

import hashlib
import hmac
import math

from flask import Flask, request

from core.config import Config

from .errors import ApiError
from .limits import RateLimiter

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def host_name(host: str) -> str:
    """``example.com:8080`` → ``example.com``; ``[::1]:8080`` → ``[::1]``; lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def allowed_hosts(config: Config) -> frozenset[str] | None:
    """The Host names served; None when any is (``*``). The bound address counts too,
    unless it is a wildcard (0.0.0.0, ::)."""
    if "*" in config.allowed_hosts:
        return None
    names = {host_name(h) for h in config.allowed_hosts}
    if config.host not in ("0.0.0.0", "::", ""):
        names.add(host_name(f"[{config.host}]" if ":" in config.host else config.host))
    return frozenset(names)


def client_key(remote_addr: str | None) -> str:
    """A pseudonym of the client's address, stored with its feedback so that what is learned from feedback can
    cap each client's weight (``learn.feedback``); not the address itself."""
    return hashlib.sha256(f"kbs-client\0{remote_addr or '?'}".encode()).hexdigest()[:12]


def install(app: Flask, config: Config) -> None:
    hosts = allowed_hosts(config)
    limiter = RateLimiter(config.rate_limit_kib_per_s * 1024, config.rate_limit_burst_kib * 1024) \
        if config.rate_limit_kib_per_s > 0 else None

    @app.before_request
    def _check_request():
        if hosts is not None and host_name(request.host) not in hosts:
            raise ApiError(400, "host_not_allowed", "this Host is not served here (see the setting allowed_hosts)")
        length = request.headers.get("Content-Length")
        if length is not None and not (length.isascii() and length.isdigit()):
            raise ApiError(400, "bad_request", "Content-Length is invalid")
        if limiter is not None and request.path.startswith("/v1/"):
            wait = limiter.take(request.remote_addr or "?", int(length or 0))
            if wait > 0:
                raise ApiError(429, "rate_limited", f"too many requests from this address; retry in {wait:.1f} s",
                               {"Retry-After": str(math.ceil(wait))})

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def require_admin(config: Config) -> None:
    """Pass only a request bearing the admin token (compared in constant time)."""
    if not config.admin_token:
        raise ApiError(403, "admin_disabled", "admin endpoints are disabled; set the admin_token setting "
                                              "(KBS_ADMIN_TOKEN) to enable them")
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    sent = token.strip().encode("latin-1", "replace")  # WSGI headers are latin-1 decoded bytes
    if not (scheme.lower() == "bearer" and hmac.compare_digest(sent, config.admin_token.encode("utf-8"))):
        raise ApiError(401, "unauthorized", "send the admin token: Authorization: Bearer <token>",
                       {"WWW-Authenticate": 'Bearer realm="kb-suggest admin"'})
