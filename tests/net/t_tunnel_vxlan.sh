#!/bin/sh
# t_tunnel_vxlan.sh - a kernel VXLAN tunnel (static remote, no learning)
# joins br0 of two dom0s on different subnets; guests talk both ways.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
tun_build
tun_topo 1600
probe_or_skip vxlan
tun_traffic vxlan 4242
dev=$(tun_dev "$NS_A")
ip -n "$NS_A" -d link show "$dev" >"$T/link"
grep -q "vxlan id 4242 remote 10.2.0.2 local 10.1.0.2 .*dstport 4789 nolearning" \
    "$T/link" || die "$(cat "$T/link")"
grep -q "link/ether fe:ff:ff:ff:ff:ff" "$T/link" || die "port MAC"
tun_down || die "down"
[ -z "$(tun_dev "$NS_A")$(tun_dev "$NS_B")" ] || die "a tunnel port is left"
pings "$NS_GA" "$IP_GB" && die "traffic without a tunnel"
exit 0
