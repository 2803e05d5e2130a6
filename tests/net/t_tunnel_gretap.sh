#!/bin/sh
# t_tunnel_gretap.sh - a kernel GRETAP tunnel with a key joins br0 of two
# dom0s; skipped, with the kernel's own words, where gretap is missing.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
tun_build
tun_topo 1600
probe_or_skip gretap
tun_traffic gretap 77
dev=$(tun_dev "$NS_A")
ip -n "$NS_A" -d link show "$dev" >"$T/link"
grep -q "gretap remote 10.2.0.2 local 10.1.0.2 .*ikey 0.0.0.77 okey 0.0.0.77" \
    "$T/link" || die "$(cat "$T/link")"
tun_down || die "down"
[ -z "$(tun_dev "$NS_A")$(tun_dev "$NS_B")" ] || die "a tunnel port is left"
exit 0
