"""Where the service is as its users see it: a public base URL, and what trusted proxies say.

Behind a TLS-terminating load balancer the server sees `http://` and an internal host, from the
balancer's address. `ProxyMiddleware` sets the request's scheme, host and client address
before anything else reads them, so links built from `request.base_url` and the rate limit
need no change:

- scheme and host come from the public base URL when one is set; else, from a trusted proxy,
  from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` / `X-Forwarded-Host`;
- the client address comes from `Forwarded: for=` or `X-Forwarded-For`, from a trusted proxy.

Proxies are trusted as uvicorn's `--forwarded-allow-ips` trusts them: addresses, networks
(`10.0.0.0/8`) or `*`. Headers from any other peer are ignored, so no client can choose its
own address or the host written into the links.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from govuk_kpi.core.errors import ConfigError

PUBLIC_URL_VARIABLE = "GOVUK_KPI_PUBLIC_URL"
FORWARDED_ALLOW_IPS_VARIABLE = "GOVUK_KPI_FORWARDED_ALLOW_IPS"
FORWARDED_HEADERS = ("Forwarded", "X-Forwarded-Proto", "X-Forwarded-Host")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


def public_origin(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a public base URL such as `https://data.example.gov.uk`.

    Raises:
        ConfigError: not an http(s) origin; a path is refused as the routes expect to be
            served at the root of the host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"public URL {url!r} must be http:// or https:// and a host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ConfigError(
            f"public URL {url!r} must be only the scheme and host (and port), "
            "such as https://data.example.gov.uk: the API is served at the root of its host"
        )
    return parts.scheme, parts.netloc.lower()


class TrustedProxies:
    """The peers whose forwarded headers are believed: `*`, addresses and networks."""

    def __init__(self, spec: str | list[str] | None) -> None:
        items = spec.split(",") if isinstance(spec, str) else list(spec or [])
        items = [i.strip() for i in items if i.strip()]
        self.everyone = "*" in items
        self.addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.literals: set[str] = set()  # e.g. a unix socket's name
        for item in items:
            if item == "*":
                continue
            try:
                if "/" in item:
                    self.networks.append(ipaddress.ip_network(item, strict=False))
                else:
                    self.addresses.add(ipaddress.ip_address(item))
            except ValueError:
                self.literals.add(item)

    def __bool__(self) -> bool:
        return self.everyone or bool(self.addresses or self.networks or self.literals)

    def __contains__(self, host: str | None) -> bool:
        if host is None:
            return False
        if self.everyone or host in self.literals:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address in self.addresses or any(address in n for n in self.networks)

    def client(self, hops: list[str]) -> int:
        """The index of the client in `hops` (nearest last): the first untrusted from the right."""
        for index in range(len(hops) - 1, -1, -1):
            if hops[index] not in self:
                return index
        return 0


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _node(value: str) -> str:
    """The address of a `for=` node: without brackets and port (`[2001:db8::1]:80`)."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """The elements of a `Forwarded` header (RFC 7239), nearest proxy last; names lowercased."""
    elements: list[dict[str, str]] = [{}]
    position = 0
    while position < len(value):
        match = _PAIR.match(value, position)
        if not match:
            break
        elements[-1][match.group(1).lower()] = _unquote(match.group(2))
        position = match.end()
        if position < len(value) and value[position] == ",":
            elements.append({})
        position += 1
    return [e for e in elements if e]


class ProxyMiddleware:
    """Sets scope scheme, Host and client from the public URL and trusted proxies' headers."""

    def __init__(
        self, app: ASGIApp, public_url: str | None = None, trusted: TrustedProxies | None = None
    ) -> None:
        self.app = app
        self.origin = public_origin(public_url) if public_url else None
        self.trusted = trusted or TrustedProxies(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = self._rewrite(dict(scope))
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> Scope:
        peer = (scope.get("client") or (None, 0))[0]
        scheme = host = client = None
        if self.trusted and peer in self.trusted:
            scheme, host, client = self._forwarded(scope["headers"])
        if self.origin:
            scheme, host = self.origin
        if scheme in ("http", "https"):
            scope["scheme"] = scheme
        if host and _HOST.fullmatch(host):
            scope["headers"] = [
                *[(k, v) for k, v in scope["headers"] if k != b"host"],
                (b"host", host.encode("latin-1")),
            ]
        if client:
            scope["client"] = (client, 0)
        return scope

    def _forwarded(self, headers: list[tuple[bytes, bytes]]) -> tuple[str | None, ...]:
        values: dict[bytes, list[str]] = {}
        for name, value in headers:
            values.setdefault(name, []).append(value.decode("latin-1"))
        if b"forwarded" in values:
            elements = parse_forwarded(",".join(values[b"forwarded"]))
            if elements:
                # The element whose `for` is the client was written by the proxy it reached:
                # its proto and host are the ones the client used.
                hops = [_node(e.get("for", "")) for e in elements]
                chosen = elements[self.trusted.client(hops)]
                client = _node(chosen.get("for", "")) or None
                return chosen.get("proto", "").lower() or None, chosen.get("host"), client
        client = None
        if b"x-forwarded-for" in values:
            hops = [_node(h.strip()) for h in ",".join(values[b"x-forwarded-for"]).split(",")]
            client = hops[self.trusted.client(hops)] or None
        return (
            _last(values.get(b"x-forwarded-proto")),
            _last(values.get(b"x-forwarded-host")),
            client,
        )


def _last(values: list[str] | None) -> str | None:
    """The value set by the nearest proxy (the last), which is the trusted one."""
    if not values:
        return None
    last = values[-1].split(",")[-1].strip()
    return last.lower() if last else None
