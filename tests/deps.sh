#!/bin/sh
# deps.sh - install the Debian 12 packages that relocd's build, tests and lab
# need.  Idempotent: apt-get runs only when something is missing, so a warm
# machine needs no network at all.
set -eu

PKGS="build-essential pkg-config git libxen-dev libyajl-dev libpcre2-dev
      libssl-dev libmnl-dev openssl clang libclang-rt-14-dev cppcheck
      clang-format iproute2 python3 bc qemu-system-x86 busybox-static cpio
      kmod file openssh-client socat iputils-ping procps shellcheck
      pyflakes3 resource-agents libxml2-utils"

missing=
for p in $PKGS; do
    st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
    exit 1
fi
echo "deps: installing$missing"
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
