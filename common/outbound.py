"""Outbound HTTP requests that go only where an administrator allowed (the guard against SSRF).

Every part of Okno that calls a URL (the `http` runner, banner webhooks) goes through `request()`:

- the host must be on the allow-list: an exact name, "*.example.com" (its subdomains),
  ".example.com" (the domain and its subdomains), an IP address or a CIDR network. An empty list
  allows nothing;
- odd IPv4 spellings (0x7f000001, 2130706433, 017700000001, 127.1) are read as the address they mean
  before any check;
- the name is resolved once and EVERY address is checked: loopback, link-local, private, multicast,
  unspecified, reserved and other non-public addresses (also inside IPv4-mapped or 6to4 IPv6) are
  refused unless an IP/CIDR entry lists them;
- the connection goes to a checked address, never to a second lookup (DNS rebinding), with the URL's
  Host header and, for https, its name as SNI and for the certificate check;
- redirects are never followed (a 3xx is an answer); only http and https; no proxy or ~/.netrc from
  the environment; no user name or password in the URL.

A refusal raises OutboundRefused with a translated reason, before any connection is made.
"""

import ipaddress
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

BODY_LIMIT = 64 * 1024
# Only these characters can make an IPv4 address in inet_aton's legacy forms (hex, octal, short).
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$", re.IGNORECASE)

KINDS = {
    "unspecified": gettext_lazy("unspecified"),
    "loopback": gettext_lazy("loopback"),
    "link-local": gettext_lazy("link-local"),
    "multicast": gettext_lazy("multicast"),
    "private": gettext_lazy("private"),
    "reserved": gettext_lazy("reserved"),
    "not public": gettext_lazy("not public"),
}


class OutboundRefused(Exception):
    """Okno must not call this URL; the message says why (translated)."""


class OutboundFailed(Exception):
    """The call was allowed but did not get an answer (network, TLS, timeout)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    subdomains_of: tuple[str, ...]  # "*.example.com": below example.com only
    domains: tuple[str, ...]  # ".example.com": example.com and below
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[object] | None) -> "AllowList":
        names: set[str] = set()
        subdomains: list[str] = []
        domains: list[str] = []
        networks: list[IPNetwork] = []
        for entry in entries or ():
            entry = str(entry).strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            entry = _ascii(entry)
            if entry.startswith("*."):
                subdomains.append(entry[1:])
            elif entry.startswith("."):
                domains.append(entry)
            else:
                names.add(entry)
        return cls(frozenset(names), tuple(subdomains), tuple(domains), tuple(networks))

    def has_name(self, name: str) -> bool:
        return (
            name in self.names
            or any(name.endswith(suffix) and len(name) > len(suffix) for suffix in self.subdomains_of)
            or any(name == domain[1:] or name.endswith(domain) for domain in self.domains)
        )

    def has_address(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip] + ([ip.ipv4_mapped] if ip.version == 6 and ip.ipv4_mapped else [])
        return any(
            candidate in network
            for candidate in candidates
            for network in self.networks
            if candidate.version == network.version
        )


def _ascii(name: str) -> str:
    """An internationalised name in its DNS form (xn--...); what cannot be encoded is left as it is."""
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return name


def address_kind(ip: IPAddress) -> str | Promise | None:
    """Why `ip` is not a public address (a translatable label), or None for a public one."""
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_kind(embedded) or (None if ip.ipv4_mapped or ip.sixtofour else KINDS["not public"])
    for kind in ("unspecified", "loopback", "link-local", "multicast", "reserved", "private"):
        if getattr(ip, "is_" + kind.replace("-", "_")):
            return KINDS[kind]
    if not ip.is_global:
        return KINDS["not public"]  # e.g. 100.64.0.0/10 (carrier-grade NAT)
    return None


def parse_ip(host: str) -> IPAddress | None:
    """The address `host` means (odd IPv4 spellings included), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host) and not host.startswith(".") and ".." not in host:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL, lower case, without a trailing dot
    port: int
    path: str  # path and query, what goes on the request line
    addresses: tuple[str, ...]  # checked addresses, in the order to try

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == {"http": 80, "https": 443}[self.scheme] else f"{host}:{self.port}"


def _refuse_address(host: str, ip: IPAddress, kind: str | Promise, setting: str) -> NoReturn:
    raise OutboundRefused(
        _(
            "Host “%(host)s” has the address %(address)s (%(kind)s): Okno does not call such an address "
            "unless %(setting)s lists it or its network."
        )
        % {"host": host, "address": ip, "kind": kind, "setting": setting}
    )


def check_url(
    url: str | None, allowed: "AllowList | Iterable[object] | None", *, setting: str, resolve: bool = True
) -> Target:
    """The Target Okno may call for `url`, or OutboundRefused saying why not.

    `allowed` is the allow-list (entries as in the module docstring); `setting` is its name, shown in
    the reason. With resolve=False (checking a form) a name is not looked up: only what can be seen
    in the URL is checked; a name that does not resolve then is also accepted.
    """
    allow = allowed if isinstance(allowed, AllowList) else AllowList.parse(allowed)
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        raw_host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(_("“%(url)s” is not a valid URL: %(error)s") % {"url": url[:200], "error": exc}) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(_("Only http:// and https:// URLs are allowed."))
    if not raw_host:
        raise OutboundRefused(_("The URL has no host."))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused(_("The URL must not carry a user name or password."))
    host = raw_host.lower().rstrip(".")
    port = port or (443 if scheme == "https" else 80)
    ip = parse_ip(host)
    if ip is None:
        host = _ascii(host)
    if ip is None and not _NAME.match(host):
        raise OutboundRefused(
            _("“%(url)s” is not a valid URL: %(error)s") % {"url": url[:200], "error": _("bad host name")}
        )
    listed = allow.has_address(ip) if ip is not None else allow.has_name(host)
    if not listed:
        raise OutboundRefused(
            _("Host “%(host)s” is not on %(setting)s: Okno calls only the hosts listed there.")
            % {"host": host, "setting": setting}
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if ip is not None:
        # A listed address or network was named by the administrator on purpose: allowed even if private.
        return Target(scheme, host, port, path, (str(ip),))
    if not resolve:
        if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: loopback, whatever DNS says
            loopback = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
            if not any(allow.has_address(address) for address in loopback):
                _refuse_address(host, loopback[0], KINDS["loopback"], setting)
        return Target(scheme, host, port, path, ())
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundRefused(
                _("Host “%(host)s” cannot be resolved: %(error)s") % {"host": host, "error": exc}
            ) from None
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    for address in addresses:
        kind = address_kind(address)
        if kind is not None and not allow.has_address(address):
            _refuse_address(host, address, kind, setting)
    return Target(scheme, host, port, path, tuple(str(address) for address in addresses))


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes  # at most max_body + 1 bytes: more than max_body means it was cut
    truncated: bool


def _pool(target: Target, address: str, timeout: float, ca_certs: str | None) -> Any:
    import urllib3

    timeouts = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(address, target.port, timeout=timeouts, retries=False, maxsize=1)
    if ca_certs is None:
        import certifi

        ca_certs = certifi.where()
    # Connect to the checked address; the name goes in SNI and is what the certificate must show.
    return urllib3.HTTPSConnectionPool(
        address,
        target.port,
        timeout=timeouts,
        retries=False,
        maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_certs,
        server_hostname=target.host,
        assert_hostname=target.host,
    )


def request(
    method: str, url: str, *, allowed: "AllowList | Iterable[object] | None", setting: str, **kwargs: Any
) -> Response:
    """One request to `url` if the guard allows it; raises OutboundRefused (nothing sent) or OutboundFailed."""
    return send(check_url(url, allowed, setting=setting), method, **kwargs)


def send(
    target: Target,
    method: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    timeout: float = 10.0,
    max_body: int = BODY_LIMIT,
    ca_certs: str | None = None,
) -> Response:
    """One request to a Target from check_url(resolve=True): to its checked addresses only, no redirects."""
    import urllib3

    send_headers = {name: value for name, value in (headers or {}).items() if name.lower() != "host"}
    send_headers["Host"] = target.host_header
    deadline = time.monotonic() + timeout
    error: OutboundFailed | None = None
    for address in target.addresses:
        pool = _pool(target, address, timeout, ca_certs)
        try:
            response = pool.urlopen(
                method,
                target.path,
                body=body,
                headers=send_headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            error = OutboundFailed(str(exc))
            pool.close()
            continue  # the next checked address of the same name
        except urllib3.exceptions.TimeoutError as exc:
            pool.close()
            raise OutboundFailed(str(exc), timed_out=True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            pool.close()
            raise OutboundFailed(f"{type(exc).__name__}: {exc}") from None
        try:
            data = b""
            if method.upper() != "HEAD":
                while len(data) <= max_body and time.monotonic() < deadline:
                    chunk = response.read(8192)
                    if not chunk:
                        break
                    data += chunk
            return Response(response.status, response.reason or "", dict(response.headers), data, len(data) > max_body)
        except urllib3.exceptions.TimeoutError as exc:
            raise OutboundFailed(str(exc), timed_out=True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise OutboundFailed(f"{type(exc).__name__}: {exc}") from None
        finally:
            response.release_conn()
            pool.close()
    raise error or OutboundFailed(_("No address to connect to."))
