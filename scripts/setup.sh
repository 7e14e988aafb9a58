#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) and builds the registry module into dist/:
# the Debian packages the tests run for real (sshd, systemd tools, cloud-init, docker, QEMU, ...),
# the npm dependencies (and compat/cdktn's), then `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=1

readonly PACKAGES=(openssh-server openssh-client cloud-init shellcheck flake8 docker.io docker-registry debootstrap iptables ssh-audit
  iproute2 util-linux procps socat netcat-openbsd jq perl python3 python3-boto3 systemd systemd-container time
  qemu-user-static qemu-system-x86 qemu-utils dosfstools mtools)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

for tool in moto_server aws terraform; do
  command -v "$tool" >/dev/null || echo "setup: WARNING: $tool is not on PATH (see README: what the tests need)"
done

npm ci --no-audit --no-fund
# CDK Terrain (cdktn), its provider bindings and a Node 22 binary, for test/release/cdktn.test.ts.
npm ci --prefix compat/cdktn --no-audit --no-fund --loglevel=error
npm run build
