#!/bin/sh
# t_tunnel_refcount.sh - tunnels are shared per peer and bridge, counted
# by holder (guest), kept in a state file that outlives the process that
# wrote it, repaired when their device or EtherIP process vanished, and
# removed with their last holder.  Their MTU never undercuts a port's.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
tun_build
tun_topo 1600

holders() { tctl "$NS_A" list | grep -c "^holder $1 "; }
tunnels() { tctl "$NS_A" list | grep -c "^tunnel "; }

# --- VXLAN: two guests share one device --------------------------------------
tun_up vxlan 4242 g1 || die "up g1"
tun_up vxlan 4242 g2 || die "up g2"
tun_up vxlan 4242 g2 || die "up g2 again"
dev=$(tun_dev "$NS_A")
[ "$(echo "$dev" | wc -w)" -eq 1 ] || die "devices: $dev"
[ "$(holders "$dev")" -eq 2 ] || die "holders: $(tctl "$NS_A" list)"
tun_down g1 || die "down g1"
[ "$(tun_dev "$NS_A")" = "$dev" ] || die "went with its first holder"
pings "$NS_GA" "$IP_GB" || die "traffic after g1 left"
# The same guest leaving twice is an error, and changes nothing.
tctl "$NS_A" -H g1 down 10.2.0.2 br0 && die "g1 left twice"
grep -q "g1 does not hold $dev" "$TUN_LOG" || die "$(tail -n 2 "$TUN_LOG")"

# relocd dies; meanwhile the device vanishes; the next relocd restores it.
ip -n "$NS_A" link del "$dev"
[ "$(tctl "$NS_A" restore)" = "repaired 1" ] || die "restore"
[ "$(tun_dev "$NS_A")" = "$dev" ] || die "not re-created"
pings "$NS_GA" "$IP_GB" || die "traffic after the repair"
[ "$(tctl "$NS_A" restore)" = "repaired 0" ] || die "repaired twice"
tun_down g2 || die "down g2"
[ -z "$(tun_dev "$NS_A")" ] || die "outlived its last holder"
[ "$(tunnels)" -eq 0 ] || die "state: $(tctl "$NS_A" list)"

# A relocd died between creating the device and writing the state file.
ip -n "$NS_A" link add "$dev" type vxlan id 4242 dstport 4789 local 10.1.0.2
tun_up vxlan 4242 g3 || die "up over a leftover device"
pings "$NS_GA" "$IP_GB" || die "traffic after replacing the leftover"
tun_down g3 || die "down g3"
[ -z "$(tun_dev "$NS_A")" ] || die "the replaced device is left"

# --- EtherIP: the process survives a relocd restart, or is started again -----
tun_up etherip "" g1 || die "etherip up"
dev=$(tun_dev "$NS_A")
pid=$(tctl "$NS_A" list | awk '$1 == "tunnel" { print $11 }')
[ "$(cat /proc/"$pid"/comm)" = "eip-$dev" ] || die "pid $pid"
[ "$(tctl "$NS_A" restore)" = "repaired 0" ] || die "restore"
[ "$(tctl "$NS_A" list | awk '$1 == "tunnel" { print $11 }')" = "$pid" ] ||
    die "the tunnel process was replaced without need"
kill -9 "$pid"
sleep 0.2
pings "$NS_GA" "$IP_GB" && die "traffic without a tunnel process"
[ "$(tctl "$NS_A" restore)" = "repaired 1" ] || die "restore after a crash"
pid2=$(tctl "$NS_A" list | awk '$1 == "tunnel" { print $11 }')
[ "$pid2" != "$pid" ] && kill -0 "$pid2" || die "no new process"
pings "$NS_GA" "$IP_GB" || die "traffic after the restart"
# One EtherIP tunnel per pair of addresses: the wire has no key.
ip -n "$NS_A" link add br1 type bridge
tctl "$NS_A" -H g2 up etherip 10.2.0.2 - br1 && die "a second etherip"
grep -q "one etherip per peer" "$TUN_LOG" || die "$(tail -n 2 "$TUN_LOG")"
tctl "$NS_A" release-holder g1 || die "release-holder"
tctl "$NS_B" release-holder g1 || die "release-holder"
[ -z "$(tun_dev "$NS_A")" ] || die "TAP left"
[ "$(tunnels)" -eq 0 ] || die "state: $(tctl "$NS_A" list)"

# --- MTU: never below a port of the bridge -----------------------------------
ip -n "$NS_A" link add jumbo mtu 9000 type veth peer name jumbo-p mtu 9000
ip -n "$NS_A" link set jumbo master br1 up
tctl "$NS_A" up vxlan 10.2.0.2 - br1 4243 || die "up on br1"
ip -n "$NS_A" -o link show master br1 | grep -q "rtx.* mtu 9000 " ||
    die "auto MTU: $(ip -n "$NS_A" -o link show master br1)"
tctl "$NS_A" up vxlan 10.2.0.3 - br1 4244 1500 && die "MTU below a port"
grep -q "mtu 1500 is below 9000, the largest on bridge br1" "$TUN_LOG" ||
    die "$(tail -n 2 "$TUN_LOG")"
tctl "$NS_A" down 10.2.0.2 br1 || die "down br1"
# The kernel's own words when it refuses (the VNI is taken).
ip -n "$NS_A" link add other type vxlan id 4245 dstport 4789 local 10.1.0.2
tctl "$NS_A" up vxlan 10.2.0.2 - br1 4245 && die "VNI clash"
grep -q "VNI" "$TUN_LOG" || die "$(tail -n 2 "$TUN_LOG")"
[ "$(tunnels)" -eq 0 ] || die "a failed tunnel was recorded"
exit 0
