#!/bin/sh
# t_tunnel_etherip.sh - EtherIP (RFC 3378) from user space: a TAP device
# and a raw socket per tunnel, in a process of its own.  Guests talk both
# ways; over an underlay of 1600 bytes frames go whole, over 1500 the
# super-frames are cut to fit and the rest is fragmented outside; the
# reversed header of old BSD gif is accepted unless refused; super-frames
# sent whole (ETHERIP_F_FRAGMENT) cross as outer fragments and are taken
# by a peer in the default mode.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
tun_build
tun_topo 1600
probe_or_skip etherip
tun_traffic etherip
dev=$(tun_dev "$NS_A")
ip -n "$NS_A" -d link show "$dev" >"$T/link"
grep -q "tun type tap .*vnet_hdr on" "$T/link" || die "$(cat "$T/link")"
# Its own process, unprivileged once set up.
pid=$(ip netns pids "$NS_A" | while read -r p; do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "eip-$dev" ] && echo "$p"; done)
[ -n "$pid" ] || die "no eip-$dev process"
[ "$(stat -c %U /proc/"$pid")" = nobody ] || die "still root"

# An underlay of 1500: nothing may get lost on the way.
for l in "$NS_A a-r" "$NS_R r-a" "$NS_R r-b" "$NS_B b-r"; do
    # shellcheck disable=SC2086
    set -- $l
    ip -n "$1" link set "$2" mtu 1500
done
sleep 1.2 # the tunnel reads the path MTU once a second
pings "$NS_GA" "$IP_GB" -M "do" -s 1472 || die "outer fragments"
tcp_check "$NS_GA" "$NS_GB" "$IP_GB" 32 || die "TCP over 1500"
tcp_check "$NS_GB" "$NS_GA" "$IP_GA" 8 || die "TCP back over 1500"
tun_down || die "down"
[ -z "$(tun_dev "$NS_A")" ] || die "TAP left"
# (A zombie is gone too: init reaps it when it gets round to it.)
grep -qv '^[0-9]* (.*) Z' "/proc/$pid/stat" 2>/dev/null &&
    die "the tunnel process outlived its tunnel"

# b talks like FreeBSD before 8.0 (0x03 0x00): a accepts it by default...
tctl "$NS_A" up etherip 10.2.0.2 - br0 || die "up a"
tctl "$NS_B" -c etherip-reversed=send up etherip 10.1.0.2 - br0 ||
    die "up b"
pings "$NS_GA" "$IP_GB" || die "reversed header not accepted"
tun_down cli || die "down"
# ...and refuses it when told to keep to RFC 3378.
tctl "$NS_A" -c etherip-reversed=no up etherip 10.2.0.2 - br0 || die "up a"
tctl "$NS_B" -c etherip-reversed=send up etherip 10.1.0.2 - br0 ||
    die "up b"
pings "$NS_GA" "$IP_GB" && die "reversed header accepted by a strict peer"
tun_down cli || die "down"

# a sends TCP super-frames whole (tunnelctl -F), cut into outer fragments
# over the 1500-byte underlay; b, in relocd's default mode, reassembles
# them and hands them to its bridge cut for its MTU.
ip netns exec "$NS_A" "$TUNNELCTL" etherip -F eipF 10.1.0.2 10.2.0.2 \
    2>"$T/eipF.log" &
eipf=$!
tctl "$NS_B" up etherip 10.1.0.2 - br0 || die "up b"
sleep 0.5
ip -n "$NS_A" link set eipF master br0 up || die "eipF: $(cat "$T/eipF.log")"
pings "$NS_GA" "$IP_GB" || die "fragment mode: ga -> gb"
pings "$NS_GC" "$IP_GB" -M "do" -s 1472 || die "fragment mode: full size"
tcp_check "$NS_GA" "$NS_GB" "$IP_GB" 32 || die "fragment mode: TCP a -> b"
tcp_check "$NS_GB" "$NS_GA" "$IP_GA" 8 || die "fragment mode: TCP b -> a"
kill "$eipf"
wait "$eipf" || die "eipF: $(cat "$T/eipF.log")"
# One datagram per frame read from the TAP, super-frames among them.
awk '/^etherip: tap_rx/ { n = $3; g = $5; s = $7
        ok = (g + 0 > 0 && n == s) }
     END { exit !ok }' "$T/eipF.log" ||
    die "super-frames not sent whole: $(tail -n 1 "$T/eipF.log")"
tctl "$NS_B" -H cli down 10.1.0.2 br0 || die "down b"
exit 0
