#!/usr/bin/env bash
# Installs the Debian 12 packages mmsim needs to build, test and run.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
  cmake make g++ clang pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  grpc-proto prometheus python3-grpcio python3-protobuf python3-yaml
  curl openssl ca-certificates clang-format
  nghttp2-client  # h2load, the cross-check of mmload in make bench
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
