# tunnel_lib.sh - sourced by tests/net/t_tunnel_*.sh (after lib.sh) and by
# bench/tunnel.sh: two dom0s on different subnets behind a router, each
# with a bridge br0 and guests on it, and tunnelctl (tests/net/tunnelctl.c,
# the tunnel modules behind a command line).
#
#   guest ga 192.168.50.1 ─┐                                ┌─ guest gb 192.168.50.2
#   guest gc 192.168.50.3 ─┴ br0  dom0 a ── router ── dom0 b  br0 ┘
#                               10.1.0.2  10.1.0.1|10.2.0.1  10.2.0.2
#
# Each guest's "vif" (vif-ga, ...) is the dom0 end of a veth pair, as
# Xen's vif is the backend of the guest's netfront.  Names carry the PID.
# shellcheck shell=sh
: "${BUILD:?}"
TS=$$
NS_A=rt-a-$TS NS_B=rt-b-$TS NS_R=rt-r-$TS
NS_GA=rt-ga-$TS NS_GB=rt-gb-$TS NS_GC=rt-gc-$TS
TUN_NS="$NS_GA $NS_GB $NS_GC $NS_A $NS_B $NS_R"
MAC_GA=02:00:00:00:50:01 MAC_GB=02:00:00:00:50:02 MAC_GC=02:00:00:00:50:03
IP_GA=192.168.50.1 IP_GB=192.168.50.2 IP_GC=192.168.50.3
TUNNELCTL=$BUILD/tunnelctl
: "${TUN_LOG:=${T:-/tmp}/tunnelctl.log}"

tun_skip() { echo "$*"; exit 77; }

tun_cleanup() {
    for ns in $TUN_NS; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
    done
    sleep 0.2
    for ns in $TUN_NS; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
}

# Checks for the tools the tests need and for tunnelctl, which make builds
# (from tests/net/tunnelctl.c and the project's libraries) into $BUILD.
tun_build() {
    ping -V 2>&1 | grep -q iputils ||
        tun_skip "iputils-ping is not installed (ping -D -O -M)"
    command -v python3 >/dev/null || tun_skip "python3 is not installed"
    [ -x "$TUNNELCTL" ] ||
        { echo "FAIL: tunnelctl missing: run make (no $TUNNELCTL)"; exit 1; }
}

# tun_topo [UNDERLAY_MTU]: the picture above; no tunnel yet.
tun_topo() {
    mtu=${1:-1500}
    for ns in $TUN_NS; do
        ip netns add "$ns" || tun_skip "cannot create network namespaces"
        ip -n "$ns" link set lo up
    done
    ip link add a-r netns "$NS_A" mtu "$mtu" type veth peer name r-a \
        netns "$NS_R" mtu "$mtu"
    ip link add b-r netns "$NS_B" mtu "$mtu" type veth peer name r-b \
        netns "$NS_R" mtu "$mtu"
    ip -n "$NS_A" addr add 10.1.0.2/24 dev a-r
    ip -n "$NS_R" addr add 10.1.0.1/24 dev r-a
    ip -n "$NS_B" addr add 10.2.0.2/24 dev b-r
    ip -n "$NS_R" addr add 10.2.0.1/24 dev r-b
    for l in "$NS_A a-r" "$NS_R r-a" "$NS_R r-b" "$NS_B b-r"; do
        # shellcheck disable=SC2086
        set -- $l
        ip -n "$1" link set "$2" up
    done
    ip -n "$NS_A" route add default via 10.1.0.1
    ip -n "$NS_B" route add default via 10.2.0.1
    ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
    for ns in $NS_A $NS_B; do
        ip -n "$ns" link add br0 type bridge
        ip -n "$ns" link set br0 up
    done
    tun_guest "$NS_GA" vif-ga "$NS_A" "$MAC_GA" "$IP_GA"
    tun_guest "$NS_GB" vif-gb "$NS_B" "$MAC_GB" "$IP_GB"
    tun_guest "$NS_GC" vif-gc "$NS_A" "$MAC_GC" "$IP_GC"
}

# tun_guest GUEST_NS VIF DOM0_NS MAC IP.  No IPv6: its duplicate address
# detection after a link change would announce the guest by chance, and
# the tests want a guest that says nothing by itself.
tun_guest() {
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip link add "$2" netns "$3" type veth peer name eth0 netns "$1"
    ip -n "$3" link set "$2" master br0 up
    ip -n "$1" link set eth0 address "$4" up
    ip -n "$1" addr add "$5/24" dev eth0
}

# tun_move VIF FROM_NS TO_NS: the guest's vif goes to the other dom0's
# bridge, as its backend does when the guest resumes over there.
tun_move() {
    ip -n "$2" link set "$1" netns "$3"
    ip -n "$3" link set "$1" master br0 up
}

# tctl NS ARGS...: tunnelctl in a dom0 with that dom0's state file.  Its
# stderr (and a spawned EtherIP process's) goes to TUN_LOG, never to a
# pipe that a tunnel process would hold open.
tctl() {
    ns=$1
    shift
    ip netns exec "$ns" "$TUNNELCTL" -s "${T:-/tmp}/$ns.state" "$@" \
        2>>"$TUN_LOG"
}

# tun_up KIND [ID] [HOLDER]: the tunnel on both sides.
tun_up() {
    tctl "$NS_A" -H "${3:-g1}" up "$1" 10.2.0.2 - br0 ${2:+"$2"} &&
        tctl "$NS_B" -H "${3:-g1}" up "$1" 10.1.0.2 - br0 ${2:+"$2"}
}

# tun_down [HOLDER]
# shellcheck disable=SC2120 # HOLDER is optional (g1)
tun_down() {
    tctl "$NS_A" -H "${1:-g1}" down 10.2.0.2 br0 &&
        tctl "$NS_B" -H "${1:-g1}" down 10.1.0.2 br0
}

# tun_dev NS: the tunnel port on br0 in NS (rt + kind letter + hash).
tun_dev() {
    ip -n "$1" -o link show master br0 | sed -n 's/^[0-9]*: \(rt[egx][0-9a-f]*\)[:@].*/\1/p'
}

# pings NS IP [OPTS]: three answers in a row
pings() {
    ns=$1 ip=$2
    shift 2
    ip netns exec "$ns" ping -q -c 3 -i 0.2 -W 2 "$@" "$ip" >/dev/null
}

# tcp_check FROM_NS TO_NS TO_IP MIB: MIB of random bytes over TCP, the
# SHA-256 of what arrived equal to what was sent.
tcp_check() {
    ip netns exec "$2" python3 -c '
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5599)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 16)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest())' >"$T/tcp.rx" 2>&1 &
    rx=$!
    # The listener's start takes its time under load: retry, bounded.
    sent=$(ip netns exec "$1" python3 -c '
import hashlib, random, socket, sys, time
data = random.Random(7).randbytes(int(sys.argv[2]) << 20)
for attempt in range(100):
    try:
        s = socket.create_connection((sys.argv[1], 5599), timeout=30)
        break
    except ConnectionRefusedError:
        time.sleep(0.1)
else:
    sys.exit("nobody listens on %s:5599" % sys.argv[1])
s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$3" "$4" 2>&1)
    wait $rx
    got=$(cat "$T/tcp.rx")
    [ -n "$sent" ] && [ "$sent" = "$got" ] ||
        { echo "sent: $sent"; echo "got:  $got"; return 1; }
}

# probe_or_skip KIND: this kernel's answer, in its own words.
probe_or_skip() {
    tctl "$NS_A" probe "$1" >/dev/null 2>&1 ||
        tun_skip "$1 not available here: $(ip netns exec "$NS_A" \
            "$TUNNELCTL" probe "$1" 2>&1 | sed 's/^tunnelctl: probe: //')"
}

# tun_traffic KIND [ID]: the tunnel up on both sides carries the guests'
# traffic both ways: pings, full-size frames, 32 MiB of TCP intact.
tun_traffic() {
    tun_up "$@" || die "$1 tunnel up: $(tail -n 3 "$TUN_LOG")"
    dev=$(tun_dev "$NS_A")
    [ -n "$dev" ] || die "no tunnel port on br0"
    ip -n "$NS_A" -o link show "$dev" | grep -q "mtu 1500 .*master br0" ||
        die "$dev: $(ip -n "$NS_A" -o link show "$dev")"
    pings "$NS_GA" "$IP_GB" || die "$1: ga -> gb"
    pings "$NS_GB" "$IP_GA" || die "$1: gb -> ga"
    pings "$NS_GC" "$IP_GB" -M "do" -s 1472 || die "$1: full-size frames"
    tcp_check "$NS_GA" "$NS_GB" "$IP_GB" 32 || die "$1: TCP ga -> gb"
    tcp_check "$NS_GB" "$NS_GA" "$IP_GA" 32 || die "$1: TCP gb -> ga"
}
