#!/usr/bin/env bash
# Installs the Debian packages the interop tests use: real tor (relays,
# authorities and clients of the private test network), obfs4proxy (a real
# pluggable transport), python3-stem (an independent descriptor checker),
# prometheus (promtool) and systemd (systemd-analyze). Skips what is present.
set -euo pipefail
packages=(tor obfs4proxy python3-stem prometheus systemd iproute2 procps strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian tor package may start a system tor; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now tor >/dev/null 2>&1 || true; fi
