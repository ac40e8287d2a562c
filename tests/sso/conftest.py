"""Real servers for the SSO tests: OpenLDAP's slapd (Debian package) and node-oidc-provider (npm), each started
by the tests on a free port with its own files in a temporary directory, and stopped at the end of the session.

Without slapd or node (a developer's machine) the tests that need them skip; in CI they fail.
`make install-test` installs both (scripts/system-deps.sh test; `npm ci --prefix tests/sso/oidc_provider`).
"""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
LDAPMODIFY = shutil.which("ldapmodify") or "/usr/bin/ldapmodify"
PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"

BASE_DN = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PASSWORD = "slapd-root-secret"
BIND_DN = f"cn=okno,ou=services,{BASE_DN}"
BIND_PASSWORD = "okno-bind-secret"
AUTHORS_DN = f"cn=okno-authors,ou=groups,{BASE_DN}"
APPROVERS_DN = f"cn=okno-approvers,ou=groups,{BASE_DN}"

LDIF = f"""dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE_DN}
objectClass: organizationalUnit
ou: services

dn: {BIND_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: okno
userPassword: {BIND_PASSWORD}

dn: uid=anna,ou=people,{BASE_DN}
objectClass: inetOrgPerson
uid: anna
cn: Anna Petrova
givenName: Анна
sn: Петрова
mail: anna@example.org
userPassword: anna-directory-password

dn: uid=boris,ou=people,{BASE_DN}
objectClass: inetOrgPerson
uid: boris
cn: Boris Ivanov
givenName: Борис
sn: Иванов
mail: boris@example.org
userPassword: boris-directory-password

dn: {AUTHORS_DN}
objectClass: groupOfNames
cn: okno-authors
member: uid=anna,ou=people,{BASE_DN}
member: uid=vera,ou=people,{BASE_DN}

dn: {APPROVERS_DN}
objectClass: groupOfNames
cn: okno-approvers
member: uid=anna,ou=people,{BASE_DN}
member: uid=boris,ou=people,{BASE_DN}

dn: cn=canteen,ou=groups,{BASE_DN}
objectClass: groupOfNames
cn: canteen
member: uid=anna,ou=people,{BASE_DN}
"""

# (groupOfNames needs a member: vera keeps okno-authors non-empty when a test takes anna out.)
# Only the bind account and each person may read the directory; nobody anonymously.
SLAPD_CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{root}"
rootpw {root_password}
directory {dir}/data
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{bind}" read by self read by users read by * none
"""


def _missing(what):
    if IN_CI:
        pytest.fail(f"{what}: CI needs it (make install-test)", pytrace=False)
    pytest.skip(what)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, deadline_seconds=30):
    """Poll until the server accepts connections; fail at once if it exited."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {deadline_seconds} s")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Slapd:
    def __init__(self, uri):
        self.uri = uri

    def modify(self, ldif):
        """Change the directory as its administrator would (ldapmodify from ldap-utils)."""
        done = subprocess.run(
            [LDAPMODIFY, "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    if not os.path.exists(SLAPD) or not os.path.exists(LDAPMODIFY):
        _missing(f"{SLAPD} or ldapmodify is missing: install Debian's slapd and ldap-utils")
    directory = tmp_path_factory.mktemp("slapd")
    (directory / "data").mkdir()
    conf = directory / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(dir=directory, base=BASE_DN, root=ROOT_DN, root_password=ROOT_PASSWORD, bind=BIND_DN)
    )
    (directory / "data.ldif").write_text(LDIF)
    subprocess.run([SLAPADD, "-f", str(conf), "-l", str(directory / "data.ldif")], check=True, capture_output=True)
    port = free_port()
    uri = f"ldap://127.0.0.1:{port}/"
    # -d 0: stay in the foreground (so the test owns the process) and log nothing.
    process = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", uri, "-d", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield Slapd(uri)
    finally:
        stop(process)


@pytest.fixture
def ldap_on(settings, slapd):
    """Okno's LDAP settings pointed at the test's slapd, with authors and approvers mapped to roles."""
    settings.OKNO_LDAP_SERVER_URI = slapd.uri
    settings.OKNO_LDAP_BIND_DN = BIND_DN
    settings.OKNO_LDAP_BIND_PASSWORD = BIND_PASSWORD
    settings.OKNO_LDAP_USER_SEARCH_BASE = f"ou=people,{BASE_DN}"
    settings.OKNO_LDAP_USER_FILTER = "(uid=%(user)s)"
    settings.OKNO_LDAP_GROUP_SEARCH_BASE = f"ou=groups,{BASE_DN}"
    settings.OKNO_LDAP_GROUP_TYPE = "groupOfNames"
    settings.OKNO_SSO_GROUP_ROLES = f"{AUTHORS_DN}=author;{APPROVERS_DN}=approver"
    return slapd


# --- OpenID Connect ---

CLIENT_ID = "okno"
CLIENT_SECRET = "okno-client-secret"
KEY_ID = "okno-test-key"


class Provider:
    def __init__(self, issuer, users_file, private_jwk):
        self.issuer = issuer
        self.users_file = users_file
        self.private_jwk = private_jwk

    def set_users(self, users):
        """Accounts (id -> claims and "password"); the provider reads the file at every sign-in."""
        self.users_file.write_text(json.dumps(users))


def _signing_key():
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops", None)  # PyJWT writes ["sign"]: the provider would not verify its own tokens (logout hint)
    jwk.update(kid=KEY_ID, use="sig", alg="RS256")
    return jwk


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory, live_server):
    node = shutil.which("node")
    if not node or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _missing("node or tests/sso/oidc_provider/node_modules is missing: run make install-test")
    directory = tmp_path_factory.mktemp("oidc")
    private_jwk = _signing_key()
    (directory / "jwks.json").write_text(json.dumps({"keys": [private_jwk]}))
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = Provider(issuer, directory / "users.json", private_jwk)
    provider.set_users({})
    environment = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": f"{live_server.url}/sso/oidc/callback/",
        "OIDC_POST_LOGOUT_REDIRECT_URI": f"{live_server.url}/login/",
        "OIDC_USERS_FILE": str(provider.users_file),
        "OIDC_JWKS_FILE": str(directory / "jwks.json"),
    }
    log = (directory / "provider.log").open("w")
    process = subprocess.Popen(
        [node, str(PROVIDER_DIR / "server.js")], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, process)
        yield provider
    finally:
        stop(process)
        log.close()


@pytest.fixture
def oidc_on(settings, oidc_provider):
    from sso import oidc

    settings.OKNO_OIDC_ISSUER = oidc_provider.issuer
    settings.OKNO_OIDC_CLIENT_ID = CLIENT_ID
    settings.OKNO_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OKNO_OIDC_SCOPES = "openid email profile groups"
    settings.OKNO_OIDC_GROUPS_CLAIM = "groups"
    settings.OKNO_OIDC_USERNAME_CLAIM = "preferred_username"
    settings.OKNO_SSO_GROUP_ROLES = '{"okno-authors": "author", "okno-ops": ["operator", "duty_officer"]}'
    oidc.forget_discovery()
    yield oidc_provider
    oidc.forget_discovery()
