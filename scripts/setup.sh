#!/usr/bin/env bash
# scripts/setup.sh — installs every build, test and benchmark dependency of mirrorca
# from Debian's packages. Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

PACKAGES=(
  build-essential g++ pkg-config meson ninja-build git
  librocksdb-dev libssl-dev openssl libasio-dev libcapnp-dev capnproto libzstd-dev zstd
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libfmt-dev libspdlog-dev libhttp-parser-dev
  ccache clang libclang-rt-14-dev
  softhsm2 libengine-pkcs11-openssl p11-kit libp11-kit-dev opensc   # PKCS#11 key custody (docs/key_custody.md)
  gnutls-bin curl python3 python3-cryptography procps nginx-light chromium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
