# lib.sh - sourced by tests/net/t_*.sh: namespaces, relocd, helpers.
#
# Topology (names carry the PID so parallel runs never collide):
#   ns src 10.77.0.1 ─┐
#   ns dst 10.77.0.2 ─┼─ bridge in ns hub
#   ns evl 10.77.0.3 ─┘
# relocd-fake runs in dst; clients in src (allowed) and evl (not allowed).
# shellcheck shell=sh
set -u
: "${BUILD:?}"
NETDIR=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/relocd-net.XXXXXX)
SFX=$$
NS_HUB=rl-hub-$SFX NS_SRC=rl-src-$SFX NS_DST=rl-dst-$SFX NS_EVL=rl-evl-$SFX
RELOCD_PID=
export FAKE_XL_LOG="$T/received.log"
# fake_xl.py marks here the guests whose copy runs on the target
export FAKE_XL_DIR="$T/xl"
mkdir -p "$FAKE_XL_DIR"
export RELOCD_FAKE_RECEIVER="$NETDIR/fake_xl.py"

cleanup() {
    [ -n "$RELOCD_PID" ] && kill "$RELOCD_PID" 2>/dev/null
    for ns in $NS_SRC $NS_DST $NS_EVL $NS_HUB; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

skip() { echo "$*"; exit 77; }
die() {
    echo "FAIL: $*"
    for f in "$T"/*.log; do echo "--- $f"; tail -n 30 "$f"; done
    # again last: the runner shows only the output's tail
    echo "FAIL: $*"
    exit 1
}

# addhost NS IP NAME: reverse DNS for IP inside NS (ip netns exec binds
# /etc/netns/NS/hosts over /etc/hosts).
addhost() {
    mkdir -p "/etc/netns/$1"
    [ -f "/etc/netns/$1/hosts" ] || echo "127.0.0.1 localhost" >"/etc/netns/$1/hosts"
    echo "$2 $3" >>"/etc/netns/$1/hosts"
}

net_up() {
    ip netns add "$NS_HUB" || skip "cannot create network namespaces"
    ip -n "$NS_HUB" link add br0 type bridge
    ip -n "$NS_HUB" link set br0 up
    i=1
    for ns in $NS_SRC $NS_DST $NS_EVL; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip link add "rlv$i-$SFX" netns "$NS_HUB" type veth peer name eth0 netns "$ns"
        ip -n "$NS_HUB" link set "rlv$i-$SFX" master br0 up
        ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
        ip -n "$ns" link set eth0 up
        i=$((i + 1))
    done
    addhost "$NS_DST" 10.77.0.1 src.relocd.test
    addhost "$NS_DST" 10.77.0.3 evil.relocd.test
}

# start_relocd CONFIG-TEXT: writes $T/xend-config.sxp, starts relocd-fake
# in dst and waits for its port.
start_relocd() {
    printf '%s\n' "$1" >"$T/xend-config.sxp"
    # Each test's own control socket (and run directory beside it).
    grep -q relocd-control-socket "$T/xend-config.sxp" ||
        echo "(relocd-control-socket $T/relocd.sock)" >>"$T/xend-config.sxp"
    ip netns exec "$NS_DST" "$BUILD/relocd-fake" -d -f "$T/xend-config.sxp" \
        >>"$T/relocd.log" 2>&1 &
    RELOCD_PID=$!
    port=${2:-8002}
    i=0
    until ip netns exec "$NS_DST" sh -c "ss -ltn | grep -q ':$port '"; do
        sleep 0.1; i=$((i + 1))
        [ $i -gt 50 ] && die "relocd did not listen on $port"
        kill -0 "$RELOCD_PID" 2>/dev/null || die "relocd exited"
    done
}

# nsx NS CMD...: run in a namespace
nsx() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# migrate NS [fake_xl send options] -- [xl-relocate connect options]
# Runs fake xl's sender through xl-relocate connect to 10.77.0.2.
migrate() {
    ns=$1; shift
    sendopts=
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sendopts="$sendopts $1"; shift; done
    [ $# -gt 0 ] && shift
    # shellcheck disable=SC2086 # sendopts: one word per option, split
    nsx "$ns" "$NETDIR/fake_xl.py" send $sendopts \
        "$BUILD/xl-relocate connect -f $T/client.sxp $*" 10.77.0.2
}

expect_ok() { "$@" >"$T/out" 2>&1 || { cat "$T/out"; die "expected success: $*"; }; }
# expect_fail REGEX CMD...: fails, and its output matches REGEX
expect_fail() {
    re=$1; shift
    if "$@" >"$T/out" 2>&1; then cat "$T/out"; die "expected failure: $*"; fi
    grep -Eq -- "$re" "$T/out" || { cat "$T/out"; die "output lacks /$re/"; }
}
alive() { kill -0 "$RELOCD_PID" 2>/dev/null || die "relocd died"; }
received() { grep -q "received $1" "$FAKE_XL_LOG" 2>/dev/null; }

# start_src_relocd DOMAINS [SXP]: a sending relocd-fake in src whose guests
# are DOMAINS, configured by $T/src.sxp (port 8002, control socket
# $T/src.sock, then the SXP lines); xlr runs xl-relocate against it and
# state NAME reads a guest's state from $RELOCD_FAKE_STATE.
start_src_relocd() {
    printf '(xend-relocation-port 8002)\n(relocd-control-socket %s/src.sock)\n%s\n' \
        "$T" "${2:-}" >"$T/src.sxp"
    RELOCD_FAKE_DOMAINS="$1" \
        nsx "$NS_SRC" "$BUILD/relocd-fake" -d -f "$T/src.sxp" >"$T/src.log" 2>&1 &
    SRC_PID=$!
    trap 'kill $SRC_PID 2>/dev/null; cleanup' EXIT
    i=0; until [ -S "$T/src.sock" ]; do
        sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "src relocd did not start"
    done
}
xlr() { nsx "$NS_SRC" "$BUILD/xl-relocate" -f "$T/src.sxp" "$@"; }
state() { cat "$RELOCD_FAKE_STATE/$1"; }
