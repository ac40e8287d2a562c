"""System checks of Okno's own settings (`manage.py check`; registered by config.apps.OknoConfig)."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host: str) -> bool:
    """A name or address that only the machine itself reaches (loopback, 0.0.0.0)."""
    host = host.lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def base_url_problems(url: str, *, public: bool) -> list[CheckMessage]:
    """What is wrong with OKNO_BASE_URL, the start of every link in e-mails; `public`: it must reach other people."""
    hint = "Set OKNO_BASE_URL to the address users open Okno at, e.g. https://okno.example.org (docs/deployment.md)."
    if not url:
        return [Error("OKNO_BASE_URL is not set: links in e-mails would lead nowhere.", hint=hint, id="okno.E001")]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return [Error(f"OKNO_BASE_URL {url!r} is not a URL.", hint=hint, id="okno.E002")]
    if parts.scheme not in {"http", "https"} or not host:
        return [Error(f"OKNO_BASE_URL {url!r} is not an http(s) address with a host.", hint=hint, id="okno.E002")]
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        return [
            Error(
                f"OKNO_BASE_URL {url!r} has more than a scheme and a host: links would be written after its path.",
                hint="Give only the scheme, host and port, e.g. https://okno.example.org; Okno adds the paths.",
                id="okno.E002",
            )
        ]
    if public and _is_local(host):
        return [
            Error(
                f"OKNO_BASE_URL {url!r} points to this machine: nobody who receives an e-mail could open its links.",
                hint=hint,
                id="okno.E003",
            )
        ]
    return []


@register("okno")
def check_base_url(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Always: a well-formed address; with production settings (OKNO_BASE_URL_PUBLIC) a set, public one."""
    return base_url_problems(settings.OKNO_BASE_URL, public=settings.OKNO_BASE_URL_PUBLIC)


@register("okno", deploy=True)
def check_base_url_deploy(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """`check --deploy` under any settings: the address must reach people outside this machine."""
    if settings.OKNO_BASE_URL_PUBLIC:
        return []  # check_base_url already said it
    return [problem for problem in base_url_problems(settings.OKNO_BASE_URL, public=True) if problem.id == "okno.E003"]
