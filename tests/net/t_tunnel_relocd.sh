#!/bin/sh
# t_tunnel_relocd.sh - relocd sets the tunnel up by itself: two relocds on
# different subnets (tunnel_lib.sh's dom0s a and b, Xen replaced by the
# test double), both with a relocd-tunnel entry for the other.  Guest g1
# (vif on br0, ga's MAC and address) goes a -> b: both sides hold the
# VXLAN tunnel before the target can resume it ("away:" on a, "here:" on
# b) and traffic crosses it once the vif is over there; a receive that
# fails drops what it took; g1 coming home removes the tunnel on both
# sides.  Also: a bad relocd-tunnel entry is a FILE:LINE error.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
tun_build
tun_topo 1600
probe_or_skip vxlan

UUID=
# side NAME NS PEER: config, state dir and relocd-fake of one dom0
side() {
    cat >"$T/$1.sxp" <<CONF
(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.[12]\\\\.0\\\\.2\$')
(relocd-control-socket $T/$1/relocd.sock)
(relocd-tunnel (peer $3) (kind vxlan) (vni 4242) (bridge br0))
CONF
    mkdir -p "$T/$1/state"
    RELOCD_FAKE_STATE=$T/$1/state RELOCD_FAKE_DOMAINS=g1 RELOCD_FAKE_HERE='' \
        RELOCD_FAKE_NICS="br0,$MAC_GA,$IP_GA" \
        ip netns exec "$2" "$BUILD/relocd-fake" -d -f "$T/$1.sxp" \
        >"$T/$1.log" 2>&1 &
    echo $! >"$T/$1.pid"
}

wait_up() {
    i=0
    until [ -S "$T/$1/relocd.sock" ]; do
        sleep 0.1
        i=$((i + 1))
        [ $i -gt 50 ] && die "relocd $1 did not start: $(cat "$T/$1.log")"
    done
}

xlr() {
    s=$1
    shift
    ip netns exec "$(eval echo "\$NS_$s")" "$BUILD/xl-relocate" \
        -f "$T/$(echo "$s" | tr AB ab).sxp" "$@"
}

# holders NAME: the holder lines of that dom0's tunnel state file
holders() { sed -n 's/^holder [^ ]* //p' "$T/$1/tunnels" 2>/dev/null | sort | tr '\n' ' '; }

# A bad entry: relocd -n says where.
printf '(relocd-tunnel (peer 10.2.0.2)\n  (kind vxlan))\n' >"$T/bad.sxp"
out=$("$BUILD/relocd-fake" -n -f "$T/bad.sxp" 2>&1) &&
    die "a VXLAN entry without a VNI was accepted"
echo "$out" | grep -q "^$T/bad.sxp:1: relocd-tunnel: .*vni" ||
    die "bad entry: $out"

side a "$NS_A" 10.2.0.2
side b "$NS_B" 10.1.0.2
wait_up a
wait_up b

# A receive that fails: both sides drop the holds they took.

kill "$(cat "$T/b.pid")"
sleep 0.3
RELOCD_FAKE_RECEIVER=/bin/false side b "$NS_B" 10.1.0.2
wait_up b
expect_fail "failed" xlr A migrate g1 10.2.0.2
[ -z "$(tun_dev "$NS_A")" ] || die "a kept a tunnel after a failed move: $(holders a)"
[ -z "$(tun_dev "$NS_B")" ] || die "b kept a tunnel after a failed move: $(holders b)"
[ "$(cat "$T/a/state/g1")" = running ] || die "g1 is not running on a"
kill "$(cat "$T/b.pid")"
sleep 0.3
side b "$NS_B" 10.1.0.2
wait_up b

# a -> b: the tunnel is up on both sides, held for g1.
expect_ok xlr A migrate g1 10.2.0.2
grep -q "L2 tunnel to 10.2.0.2 is up" "$T/out" || die "no tunnel note: $(cat "$T/out")"
dev_a=$(tun_dev "$NS_A") dev_b=$(tun_dev "$NS_B")
[ -n "$dev_a" ] && [ -n "$dev_b" ] || die "tunnel ports: a '$dev_a' b '$dev_b'"
ip -n "$NS_B" -d link show "$dev_b" | grep -q "vxlan id 4242 remote 10.1.0.2" ||
    die "b's port: $(ip -n "$NS_B" -d link show "$dev_b")"
UUID=$(holders a | sed -n 's/^away:\([^ ]*\) $/\1/p')
[ -n "$UUID" ] || die "a's holders: '$(holders a)'"
[ "$(holders b)" = "here:$UUID " ] || die "b's holders: '$(holders b)'"
grep -q "held for here:$UUID" "$T/b.log" || die "b logged no hold"
ip netns exec "$NS_A" "$BUILD/relocd-fake" -f "$T/a.sxp" --tunnels >"$T/list" 2>&1 ||
    die "relocd --tunnels: $(cat "$T/list")"
grep -q "^$dev_a vxlan peer 10.2.0.2 bridge br0 id 4242 mtu [0-9]* held by away:$UUID\$" \
    "$T/list" || die "relocd --tunnels: $(cat "$T/list")"
# The vif follows the guest; gc, left on a's bridge, reaches it.
tun_move vif-ga "$NS_A" "$NS_B"
pings "$NS_GC" "$IP_GA" || die "gc -> ga across the tunnel"
pings "$NS_GB" "$IP_GA" || die "gb -> ga on b's bridge"

# b -> a: g1 comes home and neither side needs the tunnel any more.
tun_move vif-ga "$NS_B" "$NS_A"
expect_ok xlr B migrate g1 10.1.0.2
# a's session ends a little after b's sender (it announces g1 first).
i=0
until [ -z "$(tun_dev "$NS_A")" ] && grep -q "is home" "$T/a.log" ||
    [ $i -ge 30 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -z "$(tun_dev "$NS_A")" ] || die "a kept its tunnel: '$(holders a)'"
[ -z "$(tun_dev "$NS_B")" ] || die "b kept its tunnel: '$(holders b)'"
grep -q "is home, holds dropped" "$T/a.log" || die "a: no homecoming"
pings "$NS_GC" "$IP_GA" || die "gc -> ga at home"
# Sent again, then destroyed over there: the admin drops a's stale hold.
expect_ok xlr A migrate g1 10.2.0.2
[ -n "$(tun_dev "$NS_A")" ] || die "no tunnel on a for the second move"
ip netns exec "$NS_A" "$BUILD/relocd-fake" -f "$T/a.sxp" \
    --tunnel-release "away:$UUID" || die "relocd --tunnel-release failed"
[ -z "$(tun_dev "$NS_A")" ] || die "a kept its tunnel after the release"
for s in a b; do
    kill -0 "$(cat "$T/$s.pid")" 2>/dev/null || die "relocd $s died"
    kill "$(cat "$T/$s.pid")"
done
echo "PASS: relocd held the VXLAN tunnel on both sides for g1's move, dropped it on failure and when g1 came home"
