#!/bin/sh
# tunnel.sh [BUILD] - TCP throughput between two guests on different
# subnets: routed (no tunnel), VXLAN, GRETAP (where the kernel has it),
# EtherIP as relocd starts it (offloads, super-frames cut to fit the
# underlay), EtherIP with super-frames sent whole as outer fragments
# (etherip-F, ETHERIP_F_FRAGMENT), EtherIP with offloads off (one syscall
# per frame, like the first prototype), and two ceilings of bare raw
# protocol-97 sockets.  Rounds go round-robin over the modes so that load
# from elsewhere on the machine spreads evenly; the table gives medians and
# ratios, and is saved in bench/results/.  Needs root; iperf3 (Debian's,
# installed when missing and apt-get works), else a Python sender stands in.
#
#   ROUNDS=3 SECONDS_PER=5 UNDERLAY_MTU=1500 bench/tunnel.sh
#   ONLY="vxlan etherip-F" bench/tunnel.sh     (a subset of the modes)
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${BUILD:-$here/../build}}
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
ROUNDS=${ROUNDS:-3}
SECONDS_PER=${SECONDS_PER:-5}
UNDERLAY_MTU=${UNDERLAY_MTU:-1500}
T=$(mktemp -d /tmp/relocd-tunbench.XXXXXX)
TUN_LOG=$T/tunnelctl.log
RESULTS=$here/results
export BUILD T TUN_LOG
# shellcheck source=SCRIPTDIR/../tests/net/tunnel_lib.sh
. "$here/../tests/net/tunnel_lib.sh"

die() {
    echo "bench: $*" >&2
    exit 1
}
skip() {
    echo "bench: skipped: $*" >&2
    exit 77
}
finish() {
    tun_cleanup
    rm -rf "$T"
}
trap finish EXIT INT TERM

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
if ! command -v iperf3 >/dev/null; then
    apt-get install -y -qq iperf3 >/dev/null 2>&1 || true
fi
tun_build
tun_topo "$UNDERLAY_MTU"

# The routed baseline: the same path, the dom0s route instead of bridging.
routed_addrs() {
    ip -n "$NS_A" addr add 172.16.1.1/24 dev br0
    ip -n "$NS_B" addr add 172.16.2.1/24 dev br0
    ip -n "$NS_GA" addr add 172.16.1.2/24 dev eth0
    ip -n "$NS_GB" addr add 172.16.2.2/24 dev eth0
    ip -n "$NS_GA" route add 172.16.2.0/24 via 172.16.1.1
    ip -n "$NS_GB" route add 172.16.1.0/24 via 172.16.2.1
    ip -n "$NS_A" route add 172.16.2.0/24 via 10.1.0.1
    ip -n "$NS_B" route add 172.16.1.0/24 via 10.2.0.1
    ip -n "$NS_R" route add 172.16.1.0/24 via 10.1.0.2
    ip -n "$NS_R" route add 172.16.2.0/24 via 10.2.0.2
    for ns in $NS_A $NS_B; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    done
}

# mode_up MODE / mode_down MODE; the guests' server address in $DST.
mode_up() {
    case $1 in
    routed) DST=172.16.2.2 ;;
    raw-ceiling | raw-frag) return 0 ;;
    etherip-O | etherip-F)
        # tunnelctl's own EtherIP loop in the foreground: -O offloads off,
        # -F super-frames whole (ETHERIP_F_FRAGMENT), both ends alike.
        DST=$IP_GB
        flag=-${1#etherip-}
        for s in "$NS_A 10.1.0.2 10.2.0.2" "$NS_B 10.2.0.2 10.1.0.2"; do
            # shellcheck disable=SC2086
            set -- $s
            ip netns exec "$1" "$TUNNELCTL" etherip "$flag" -K eipX "$2" \
                "$3" 2>>"$TUN_LOG" &
        done
        sleep 0.5
        for ns in $NS_A $NS_B; do
            ip -n "$ns" link set eipX master br0 up
        done
        ;;
    *)
        DST=$IP_GB
        tun_up "$1" 4242 bench || die "$1: $(tail -n 2 "$TUN_LOG")"
        ;;
    esac
    pings "$NS_GA" "$DST" || die "$1: no traffic"
}

mode_down() {
    case $1 in
    routed | raw-ceiling | raw-frag) ;;
    etherip-O | etherip-F)
        for ns in $NS_A $NS_B; do
            ip netns pids "$ns" | xargs -r kill
        done
        sleep 0.3
        ;;
    *) tun_down bench || die "$1 down" ;;
    esac
}

# measure: Gbit/s from ga to $DST for SECONDS_PER seconds.
measure() {
    if command -v iperf3 >/dev/null; then
        ip netns exec "$NS_GB" iperf3 -s -1 -D >/dev/null 2>&1
        sleep 0.3
        ip netns exec "$NS_GA" iperf3 -c "$DST" -t "$SECONDS_PER" -J \
            >"$T/iperf.json" 2>/dev/null
        python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' \
            "$T/iperf.json" 2>/dev/null || echo 0
    else
        blast
    fi
}

# blast: the stand-in for iperf3, a Python sender and counting receiver.
blast() {
    ip netns exec "$NS_GB" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5598)); s.listen(1); c, _ = s.accept(); n = 0
b = bytearray(1 << 20); t0 = time.time()
while True:
    k = c.recv_into(b)
    if not k: break
    n += k
print("%.2f" % (n * 8 / (time.time() - t0) / 1e9))' >"$T/blast" &
    rx=$!
    sleep 0.3
    ip netns exec "$NS_GA" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5598)); b = b"x" * (1 << 20)
end = time.time() + float(sys.argv[2])
while time.time() < end: s.sendall(b)
s.close()' "$DST" "$SECONDS_PER"
    wait "$rx"
    cat "$T/blast"
}

# The ceiling for any EtherIP in user space: bare raw protocol-97 sockets,
# sendmmsg() in dom0 a, recvmmsg() in dom0 b, datagrams of a full segment,
# counted as the TCP payload they would carry.  (Inline, not bench/*.c:
# bench-transport links every bench/*.c into one program.)
rawblast_build() {
    cat >"$T/rawblast.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
int main(int argc, char **argv)
{
    static char buf[64][65536];
    struct sockaddr_in l = {.sin_family = AF_INET}, r = l;
    struct mmsghdr m[64];
    struct iovec v[64];
    struct timeval tv = {1, 0};
    int fd = socket(AF_INET, SOCK_RAW, 97), tx = argv[1][0] == 's', i, k;
    int len = atoi(argv[4]), sz = 8 << 20;
    double secs = atof(argv[5]), t0, t;
    long long n = 0;
    struct timespec ts;

    inet_pton(AF_INET, argv[2], &l.sin_addr);
    inet_pton(AF_INET, argv[3], &r.sin_addr);
    if (fd < 0 || bind(fd, (void *)&l, sizeof(l)) ||
        connect(fd, (void *)&r, sizeof(r)))
        return 1;
    setsockopt(fd, SOL_SOCKET, tx ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, &sz, 4);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(m, 0, sizeof(m));
    for (i = 0; i < 64; i++) {
        v[i].iov_base = buf[i];
        v[i].iov_len = tx ? (size_t)len : sizeof(buf[i]);
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = t = ts.tv_sec + ts.tv_nsec / 1e9;
    while (t - t0 < secs) {
        k = tx ? sendmmsg(fd, m, 64, 0) : recvmmsg(fd, m, 64, 0, NULL);
        if (k > 0) n += k;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t = ts.tv_sec + ts.tv_nsec / 1e9;
    }
    printf("%.0f\n", n / (t - t0));
    return 0;
}
C
    "${CC:-cc}" -O2 -o "$T/rawblast" "$T/rawblast.c"
}

# raw_ceiling [LEN]: datagrams of LEN bytes (default: one underlay MTU);
# longer ones leave as outer fragments, as etherip-F's super-frames do.
raw_ceiling() {
    len=${1:-$((UNDERLAY_MTU - 20))}
    ip netns exec "$NS_B" "$T/rawblast" r 10.2.0.2 10.1.0.2 "$len" \
        "$SECONDS_PER" >"$T/raw.pps" &
    rx=$!
    sleep 0.3
    ip netns exec "$NS_A" "$T/rawblast" s 10.1.0.2 10.2.0.2 "$len" \
        "$SECONDS_PER" >/dev/null
    wait "$rx"
    # a full segment's TCP payload: minus EtherIP, Ethernet, IPv4, TCP+TS
    awk -v pps="$(cat "$T/raw.pps")" -v p=$((len - 2 - 14 - 20 - 32)) \
        'BEGIN { printf "%.2f\n", pps * p * 8 / 1e9 }'
}

# Other busy processes on the machine make every number smaller.
foreign_load() {
    ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 { printf "%s %s%%; ", $2, $1 }'
}

MODES="routed vxlan"
tctl "$NS_A" probe gretap >/dev/null 2>&1 && MODES="$MODES gretap"
MODES="$MODES etherip etherip-F etherip-O"
rawblast_build 2>/dev/null && MODES="$MODES raw-ceiling raw-frag"
# ONLY="vxlan etherip-F": a subset, for quick looks (vxlan is the yardstick)
if [ -n "${ONLY:-}" ]; then
    MODES=$(for m in $MODES; do
        case " $ONLY " in *" $m "*) echo "$m" ;; esac
    done | tr '\n' ' ')
fi
routed_addrs
load_before=$(foreign_load)
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
    for m in $MODES; do
        mode_up "$m"
        case $m in
        raw-ceiling) v=$(raw_ceiling) ;;
        raw-frag) v=$(raw_ceiling 65000) ;;
        *) v=$(measure) ;;
        esac
        mode_down "$m"
        echo "$m $v" >>"$T/raw"
        echo "round $r: $m $v Gbit/s" >&2
    done
done
load_after=$(foreign_load)
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { grep "^$1 " "$T/raw" | awk '{ print $2 }' | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

report() {
    kernel=$(uname -r)
    echo "relocd tunnel benchmark: TCP guest ga -> guest gb across a router,"
    echo "$ROUNDS rounds of $SECONDS_PER s per mode, underlay MTU $UNDERLAY_MTU,"
    echo "kernel $kernel, $(nproc) CPUs, $(command -v iperf3 >/dev/null &&
        echo iperf3 || echo 'python sender')"
    echo "load average: before: $loadavg_before after: $loadavg_after"
    [ -n "$load_before$load_after" ] &&
        echo "foreign load: before: ${load_before:-none} after: ${load_after:-none}"
    gretap=$(echo "$MODES" | grep -q gretap && echo yes ||
        ip netns exec "$NS_A" "$TUNNELCTL" probe gretap 2>&1 |
        sed 's/^tunnelctl: probe: //')
    echo
    vx=$(median vxlan)
    ro=$(median routed)
    printf '%-22s %8s  %-22s %8s %9s\n' mode Gbit/s rounds "vs vxlan" "vs routed"
    for m in $MODES; do
        med=$(median "$m")
        rounds=$(grep "^$m " "$T/raw" | awk '{ printf "%s ", $2 }')
        awk -v m="$m" -v v="$med" -v vx="$vx" -v ro="$ro" -v r="$rounds" \
            'BEGIN { printf "%-22s %8.2f  %-22s %8s %9s\n", m, v, r,
                     (vx > 0 ? sprintf("%.2f", v / vx) : "-"),
                     (ro > 0 ? sprintf("%.2f", v / ro) : "-") }'
    done
    echo
    best=$(for m in etherip etherip-F; do median "$m"; done | sort -n | tail -n 1)
    awk -v b="$best" -v vx="$vx" 'BEGIN { if (b != "" && vx > 0)
        printf "goal: EtherIP at 0.50 of vxlan or better; best EtherIP row: %.2f\n", b / vx }'
    echo
    echo "etherip   = relocd's EtherIP process (as tunnel_acquire starts it):"
    echo "  TSO super-frames cut into underlay-sized segments in user space"
    echo "etherip-F = super-frames sent whole, one datagram each, cut into"
    echo "  outer IPv4 fragments by the kernel (ETHERIP_F_FRAGMENT, tunnelctl -F)"
    echo "etherip-O = EtherIP with TAP offloads off (one syscall per frame)"
    echo "raw-ceiling = bare raw protocol-97 sockets dom0 a -> dom0 b, no TAP,"
    echo "  no TCP, full-size datagrams counted as the TCP payload they carry:"
    echo "  the most an EtherIP that sends underlay-sized datagrams can move"
    echo "raw-frag = the same with 65000-byte datagrams (outer fragments): the"
    echo "  most etherip-F can move"
    [ "$gretap" = yes ] || echo "gretap: not measured: $gretap"
}

mkdir -p "$RESULTS"
out=$RESULTS/tunnel-$(date +%Y%m%d-%H%M%S).txt
report | tee "$out"
echo "(saved in $out)"
