"""Outbound requests deny by default (issue 11, finding 2): the `http` runner and the shared guard
(common/outbound.py) against real HTTP servers on 127.0.0.1 and ::1 that count every request."""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import translation

from runbooks import runners
from runbooks.runners.base import AutomationError, RunContext


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append((self.path, self.headers.get("Host")))
        if self.path.startswith("/redirect"):
            body, status, headers = b"", 302, [("Location", self.server.redirect_to)]
        else:
            body, status, headers = b'{"status": "ok", "db": "postgres://okno:secret@db/okno"}', 200, []
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def start(server_class, address):
    httpd = server_class(address, Handler)
    httpd.daemon_threads = True
    httpd.hits = []
    httpd.redirect_to = ""
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    httpd.port = httpd.server_address[1]
    return httpd


def stop(httpd):
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server():
    """An internal service Okno must not reach unless listed (say, a /healthz that leaks its config)."""
    httpd = start(ThreadingHTTPServer, ("127.0.0.1", 0))
    yield httpd
    stop(httpd)


@pytest.fixture
def server6():
    httpd = start(Server6, ("::1", 0))
    yield httpd
    stop(httpd)


@pytest.fixture
def other():
    httpd = start(ThreadingHTTPServer, ("127.0.0.1", 0))
    yield httpd
    stop(httpd)


@pytest.fixture
def http():
    return runners.get("http")


def make_ctx(tmp_path, **kwargs):
    lines = []
    kwargs.setdefault("stop_reason", lambda: None)
    return RunContext(workdir=tmp_path, output=lines.append, **kwargs), lines


PROBES = [
    "http://127.0.0.1:{port}/healthz",
    "http://0x7f000001:{port}/healthz",
    "http://2130706433:{port}/healthz",
    "http://017700000001:{port}/healthz",
    "http://127.1:{port}/healthz",
    "http://0x7f.1:{port}/healthz",
    "http://localhost:{port}/healthz",
    "http://LOCALHOST.:{port}/healthz",
    "http://0.0.0.0:{port}/healthz",
    "http://[::ffff:127.0.0.1]:{port}/healthz",
    "http://[::1]:{port6}/healthz",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
]


@pytest.mark.parametrize("probe", PROBES)
def test_with_the_default_empty_list_nothing_is_called(tmp_path, http, server, server6, settings, probe):
    # Given the default: no host listed; when an author rehearses a GET marked safe for rehearsal
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = []
    url = probe.format(port=server.port, port6=server6.port)
    ctx, lines = make_ctx(tmp_path, dry_run=True)
    # Then it is refused before any connection, with the reason
    with pytest.raises(AutomationError, match="OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS"):
        http.run({"url": url, "safe_for_rehearsal": True}, ctx)
    assert server.hits == [] and server6.hits == []
    assert lines == []


@pytest.mark.parametrize("probe", PROBES)
def test_a_listed_name_does_not_open_internal_addresses(tmp_path, http, server, server6, settings, probe):
    # Given names listed (localhost among them) but no internal address or network
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["localhost", "*.example.com", "hooks.nskes.ru"]
    url = probe.format(port=server.port, port6=server6.port)
    ctx, _ = make_ctx(tmp_path)
    with pytest.raises(AutomationError) as refused:
        http.run({"url": url}, ctx)
    assert server.hits == [] and server6.hits == []
    assert "OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS" in str(refused.value)


def test_the_reason_names_the_address_and_its_kind(tmp_path, http, server, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["localhost"]
    ctx, _ = make_ctx(tmp_path)
    with pytest.raises(AutomationError) as refused:
        http.run({"url": f"http://localhost:{server.port}/healthz"}, ctx)
    assert "127.0.0.1" in str(refused.value) and "loopback" in str(refused.value)
    assert server.hits == []


def test_the_refusal_is_translated(tmp_path, http, server, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = []
    ctx, _ = make_ctx(tmp_path)
    with translation.override("ru"), pytest.raises(AutomationError) as refused:
        http.run({"url": f"http://127.0.0.1:{server.port}/healthz"}, ctx)
    assert "не входит в OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS" in str(refused.value)


def test_save_time_check_refuses_what_it_can_see(http, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["localhost", "hooks.nskes.ru"]
    for url in (
        "http://127.0.0.1/x",
        "http://0x7f000001/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://169.254.169.254/",
        "http://evil.example.org/",
    ):
        with pytest.raises(AutomationError):
            http.check({"url": url})
    http.check({"url": "https://hooks.nskes.ru/maintenance"})
    http.check({"url": "https://{{ host }}/x"})  # decided at run time, after the parameter is filled


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8"])
@pytest.mark.parametrize("spelling", ["127.0.0.1", "0x7f000001", "2130706433", "127.1"])
def test_a_listed_address_is_called(tmp_path, http, server, settings, entry, spelling):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = [entry]
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": f"http://{spelling}:{server.port}/healthz"}, ctx)
    assert outcome.status == "succeeded" and lines[0] == "HTTP 200 OK"
    assert server.hits == [("/healthz", f"{spelling}:{server.port}")]


def test_a_listed_name_with_its_listed_address_is_called_with_its_host_header(tmp_path, http, server, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    ctx, _ = make_ctx(tmp_path)
    assert http.run({"url": f"http://localhost:{server.port}/healthz"}, ctx).status == "succeeded"
    assert server.hits == [("/healthz", f"localhost:{server.port}")]


def test_an_ipv6_listed_address_is_called(tmp_path, http, server6, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["::1"]
    ctx, _ = make_ctx(tmp_path)
    assert http.run({"url": f"http://[::1]:{server6.port}/healthz"}, ctx).status == "succeeded"
    assert server6.hits == [("/healthz", f"[::1]:{server6.port}")]


def test_a_redirect_to_a_host_off_the_list_is_not_followed(tmp_path, http, server, other, settings):
    # Given a listed server that redirects to another (internal) server
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server.redirect_to = f"http://localhost:{other.port}/healthz"
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": f"http://127.0.0.1:{server.port}/redirect"}, ctx)
    # Then the 3xx is the answer; the other server sees nothing
    assert outcome.status == "failed"
    assert lines == ["HTTP 302 Found", f"Location: http://localhost:{other.port}/healthz"]
    assert [path for path, _ in server.hits] == ["/redirect"] and other.hits == []


def test_no_second_dns_lookup_the_connection_goes_to_the_checked_address(tmp_path, http, server, settings, monkeypatch):
    # A fake resolver (no DNS server runs here): "rebind.test" answers 127.0.0.1 once, then 10.0.0.1
    # (the rebinding trick). The guard checks the first answer and must connect to that very address.
    real = socket.getaddrinfo
    answers = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.test":
            address = "127.0.0.1" if not answers else "10.0.0.1"
            answers.append(address)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["rebind.test", "127.0.0.1"]
    ctx, _ = make_ctx(tmp_path)
    outcome = http.run({"url": f"http://rebind.test:{server.port}/healthz", "timeout_seconds": 2}, ctx)
    assert outcome.status == "succeeded", outcome.summary
    assert answers == ["127.0.0.1"]
    assert server.hits == [("/healthz", f"rebind.test:{server.port}")]


def test_every_resolved_address_is_checked(monkeypatch):
    from common import outbound

    # A fake resolver: one public and one private answer; the private one refuses the whole name.
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(outbound.OutboundRefused, match="10.1.2.3"):
        outbound.check_url("https://hooks.example.com/x", ["hooks.example.com"], setting="X")
    target = outbound.check_url("https://hooks.example.com/x", ["hooks.example.com", "10.0.0.0/8"], setting="X")
    assert target.addresses == ("93.184.215.14", "10.1.2.3")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "Only http:// and https://"),
        ("http:///x", "no host"),
        ("http://user:pw@hooks.example.com/", "user name or password"),
        ("http://hooks.example.com:99999/", "not a valid URL"),
        ("http://1.2.3.4 x/", "not a valid URL"),
        ("http://evil.example.org/", "not on X"),
        ("http://example.com/", "not on X"),  # "*.example.com" covers subdomains only
        ("http://a.example.com.evil.org/", "not on X"),
    ],
)
def test_guard_refusals(url, reason):
    from common import outbound

    with pytest.raises(outbound.OutboundRefused, match=reason):
        outbound.check_url(url, ["*.example.com", "hooks.nskes.ru"], setting="X", resolve=False)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("93.184.215.14", None),
        ("2a00:1450:4001::1", None),
    ],
)
def test_address_kinds(address, kind):
    from common import outbound

    found = outbound.address_kind(ipaddress.ip_address(address))
    assert (str(found) if found else None) == kind


def test_an_empty_list_allows_nothing_even_a_public_address():
    from common import outbound

    with pytest.raises(outbound.OutboundRefused, match="not on X"):
        outbound.check_url("https://93.184.215.14/", [], setting="X")


# HTTPS: the connection goes to the checked address, with the name as SNI and the certificate checked
# against the name (a real TLS server with a certificate made here).


def _certificate(tmp_path, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(tmp_path):
    cert_file, key_file = _certificate(tmp_path, "localhost")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.hits, httpd.redirect_to, httpd.sni = [], "", []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: httpd.sni.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    httpd.port, httpd.ca = httpd.server_address[1], cert_file
    yield httpd
    stop(httpd)


def test_https_sends_the_name_as_sni_and_checks_the_certificate(tls_server):
    from common import outbound

    allowed = ["localhost", "127.0.0.1"]
    response = outbound.request(
        "GET", f"https://localhost:{tls_server.port}/healthz", allowed=allowed, setting="X", ca_certs=tls_server.ca
    )
    assert response.status == 200
    assert tls_server.sni == ["localhost"] and tls_server.hits == [("/healthz", f"localhost:{tls_server.port}")]
    # The same server by its address: the certificate does not name 127.0.0.1, so the call fails.
    with pytest.raises(outbound.OutboundFailed):
        outbound.request(
            "GET", f"https://127.0.0.1:{tls_server.port}/healthz", allowed=allowed, setting="X", ca_certs=tls_server.ca
        )
    assert len(tls_server.hits) == 1
