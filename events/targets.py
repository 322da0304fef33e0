"""Where a webhook may be sent: an https URL whose host resolves only to public addresses.

Checked when an endpoint is saved and again at each delivery, after resolving the name: a name
that resolved to a public address at creation may point at 127.0.0.1 or the cloud's metadata
service (169.254.169.254) later (DNS rebinding). The delivery then connects to the very address
that was checked, never resolving the name a second time.

``WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts both rules (plain http, any address), for development
and tests whose receivers run on the same machine.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from core.exceptions import ApplicationError


class UnsafeTarget(ApplicationError):
    """A webhook URL that the server will not send to."""

    code = "validation_error"
    status_code = 400


@dataclass(frozen=True, slots=True)
class Target:
    """A URL checked for sending: its parts, and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _allow_private() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def _parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError as error:
        raise UnsafeTarget("This is not a valid URL.", details={"url": [str(error)]}) from error
    allowed = ("https", "http") if _allow_private() else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeTarget(
            "Webhook URLs must use https.", details={"url": ["Webhook URLs must use https."]}
        )
    if not parts.hostname:
        raise UnsafeTarget("The URL names no host.", details={"url": ["The URL names no host."]})
    if parts.username or parts.password:
        message = "Credentials in the URL are not allowed; the signature authenticates us."
        raise UnsafeTarget(message, details={"url": [message]})
    return parts


def is_public(address: str) -> bool:
    """An address on the public internet: not loopback, private, link-local, multicast,
    reserved or unspecified (IPv4-mapped IPv6 addresses are judged as their IPv4 one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        message = f"The host {host} does not resolve."
        raise UnsafeTarget(message, details={"url": [message]}) from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_target(url: str) -> Target:
    """The URL's target, with every address its host resolves to checked; ``UnsafeTarget``
    (400, naming ``url``) for a URL that may not be sent to."""
    parts = _parts(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not _allow_private():
        blocked = [address for address in addresses if not is_public(address)]
        if blocked:
            message = (
                f"The host {host} resolves to a loopback, private or link-local address "
                f"({', '.join(blocked)}); webhooks go to public addresses only."
            )
            raise UnsafeTarget(message, details={"url": [message]})
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


def check_url(url: str) -> None:
    """Refuse (``UnsafeTarget``) a URL that may not be an endpoint's."""
    resolve_target(url)
