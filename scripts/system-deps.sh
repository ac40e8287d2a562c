#!/usr/bin/env bash
# Installs the Debian packages Okno needs, only those missing.
#   runtime: Pango and fonts for WeasyPrint (PDF export); OpenLDAP and SASL headers to build python-ldap (SSO)
#   test:    runtime + chromium (browser tests) + poppler-utils (PDF to text/PNG checks) + slapd and ldap-utils
#            (a real OpenLDAP server for the LDAP sign-in tests), Node.js and npm when missing (the OIDC provider)
set -euo pipefail
mode=${1:-runtime}
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext libldap2-dev libsasl2-dev)
if [ "$mode" = test ]; then
  packages+=(chromium poppler-utils slapd ldap-utils)
  # Node.js and npm run the OpenID provider of the SSO tests (tests/sso/oidc_provider); a machine that has
  # them from elsewhere (NodeSource) keeps its own.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian/Ubuntu system; install the equivalents of: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "system-deps: need root to install ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
  fi
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
