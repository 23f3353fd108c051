"""Where a request comes from: what the lockout counts by and what the audit log records."""

import ipaddress

from django.conf import settings


def client_ip_address(request) -> str | None:
    """The client's address, for lockouts and the audit log: REMOTE_ADDR, or behind SIGNIN_TRUSTED_PROXIES
    reverse proxies (each appending to X-Forwarded-For), the address the outermost one saw.

    Only the entries our own proxies appended are trusted; anything to their left came from
    the client and could be forged to dodge a lockout. An entry that is not an address (a proxy
    that writes "unknown", a forged header on a request that bypassed the proxies) is not used:
    the audit log's address column refuses it, which failed every request as a 500.
    """
    proxies = settings.SIGNIN_TRUSTED_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
