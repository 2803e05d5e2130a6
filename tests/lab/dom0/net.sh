# net.sh - lab helpers for guests with a network (sourced after
# /lab/lib.sh): dom0's bridge, a "machine" on the guests' segment that
# pings them, and L2 tunnels made by hand (what relocd's tunnel module
# makes, for a baseline and for debugging).
#
#   bridge_up BR                     a bridge with no physical port
#   client_up NS BR ADDR/PREFIX      a network namespace with a veth on BR
#   net_down [NS] [BR]               remove them again
#   ping_start NS DEST [INTERVAL_S]  ping DEST from NS in the background
#   ping_wait NS [TIMEOUT_S]         wait for a reply newer than now
#   ping_stop NS                     stop it (statistics in its log)
#   ping_result NS [PREFIX]          lost pings and the longest gap, as results
#   tcp_start NS DEST                a TCP connection to DEST's echo server,
#                                    a record every 0.1 s (src/tcpseq.c)
#   tcp_wait NS [TIMEOUT_S]          wait for an echo newer than now
#   tcp_stop NS [PREFIX]             end it: fails unless it held, whole;
#                                    PREFIXtcp_gap_ms, PREFIXtcp_records
#   tunnel_manual_up KIND PEER BR    a vxlan | gretap | etherip port on BR
#   tunnel_manual_down BR            remove it
#   tunnel_ports BR                  the tunnel ports on BR, one per line
#
# Guests get an address with create_guest's --vif bridge=BR,ip=ADDR/PREFIX.
# shellcheck shell=sh

# iproute2's ip (busybox's has no netns, vxlan or gretap, and Debian's
# busybox sh runs its own applets ahead of PATH)
ip() { /usr/sbin/ip "$@"; }

# bridge_up BR: create bridge BR (idempotent): no STP, no forwarding delay,
# so a port forwards the moment it is added (a vif after a migration)
bridge_up() {
    if [ ! -d "/sys/class/net/$1/bridge" ]; then
        ip link add name "$1" type bridge stp_state 0 forward_delay 0 ||
            fail "cannot create bridge $1"
    fi
    ip link set "$1" up || fail "cannot bring bridge $1 up"
}

# client_up NS BR ADDR/PREFIX: network namespace NS (a machine on BR's
# segment) whose eth0 has ADDR; the other end of the veth, v-NS, is a
# port of BR
client_up() {
    local ns="$1" br="$2" addr="$3"
    ip netns add "$ns" || fail "cannot create namespace $ns"
    ip link add "v-$ns" type veth peer name eth0 netns "$ns" ||
        fail "cannot create the veth of $ns"
    ip link set "v-$ns" master "$br" up || fail "cannot add v-$ns to $br"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr" dev eth0
    ip -n "$ns" link set eth0 up || fail "cannot bring $ns's eth0 up"
    log "client $ns: ${addr%/*} on $br"
}

# net_down [NS] [BR]: remove client NS and bridge BR (what is there of them)
net_down() {
    [ -n "$1" ] && ip netns del "$1" 2> /dev/null
    [ -n "$1" ] && ip link del "v-$1" 2> /dev/null
    [ -n "$2" ] && ip link del "$2" 2> /dev/null
    return 0
}

# ping_start NS DEST [INTERVAL_S]: ping DEST from NS every INTERVAL_S
# (0.2) seconds until ping_stop; replies in $LAB_DIR/ping-NS.log
ping_start() {
    local ns="$1" dest="$2" iv="${3:-0.2}"
    echo "$iv" > "$LAB_DIR/ping-$ns.iv"
    # not through the ip function: $! must be ping itself, for ping_stop
    /usr/sbin/ip netns exec "$ns" ping -i "$iv" "$dest" \
        > "$LAB_DIR/ping-$ns.log" 2>&1 &
    echo $! > "$LAB_DIR/ping-$ns.pid"
    log "pinging $dest from $ns every ${iv}s"
}

# ping_last_seq NS: the sequence number of the last reply (-1 if none)
ping_last_seq() {
    sed -n 's/.* seq=\([0-9]*\) .*/\1/p' "$LAB_DIR/ping-$1.log" |
        tail -n 1 | grep . || echo -1
}

# ping_wait NS [TIMEOUT_S]: wait until a ping sent after this call is
# answered; prints the seconds it took. Returns 1 on timeout.
ping_wait() {
    local ns="$1" to="${2:-10}" s0 t0 i=0
    s0=$(ping_last_seq "$ns")
    t0=$(xts)
    # the reply to the ping in flight may still come: wait for s0 + 2
    while [ $i -lt $((to * 10)) ]; do
        if [ "$(ping_last_seq "$ns")" -ge $((s0 + 2)) ]; then
            elapsed "$t0"
            return 0
        fi
        usleep 100000
        i=$((i + 1))
    done
    return 1
}

# ping_stop NS: stop the ping (SIGINT: it prints its statistics)
ping_stop() {
    local pid i=0
    pid=$(cat "$LAB_DIR/ping-$1.pid" 2> /dev/null) || return 0
    kill -INT "$pid" 2> /dev/null
    while kill -0 "$pid" 2> /dev/null && [ $i -lt 30 ]; do
        usleep 100000
        i=$((i + 1))
    done
    kill -KILL "$pid" 2> /dev/null
    rm -f "$LAB_DIR/ping-$1.pid"
}

# ping_result NS [PREFIX]: from the log of a stopped ping: PREFIXping_sent,
# PREFIXping_lost, PREFIXping_gap_ms (the longest time without a reply,
# in units of the interval: k pings lost in a row count (k+1) intervals)
ping_result() {
    local ns="$1" p="${2:-}" iv sent line
    iv=$(cat "$LAB_DIR/ping-$ns.iv")
    sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' \
        "$LAB_DIR/ping-$ns.log")
    line=$(sed -n 's/.* seq=\([0-9]*\) .*/\1/p' "$LAB_DIR/ping-$ns.log" |
        awk -v iv="$iv" -v sent="${sent:-0}" '
            { if (NR > 1 && $1 - last > gap) gap = $1 - last
              if (NR == 1) first = $1
              last = $1; n++ }
            END { if (sent == 0) sent = last + 1
                  if (sent - 1 - last > gap) gap = sent - 1 - last
                  printf "%d %d %d %d", sent, sent - n, gap * iv * 1000, first }')
    # shellcheck disable=SC2086 # line: four numbers, split
    set -- $line
    result "${p}ping_sent" "$1"
    result "${p}ping_lost" "$2"
    result "${p}ping_gap_ms" "$3"
    log "pings from $ns: $1 sent, $2 lost, longest gap $3 ms (first reply: seq $4)"
}

# tunnel_manual_up KIND PEER BR: an L2 tunnel port on BR to dom0 PEER, as
# relocd would make it (TUNNELS.md): vxlan VNI $TUNNEL_VNI (4242) on UDP
# 4789 without learning; gretap; etherip through tunnelctl (Linux has no
# EtherIP driver). The port is lab-tun. Both dom0s must make the same.
tunnel_manual_up() {
    local kind="$1" peer="$2" br="$3"
    case $kind in
    vxlan)
        ip link add lab-tun type vxlan id "${TUNNEL_VNI:-4242}" \
            remote "$peer" local "$LAB_IP" dstport 4789 nolearning
        ;;
    gretap)
        ip link add lab-tun type gretap remote "$peer" local "$LAB_IP" \
            nopmtudisc
        ;;
    etherip)
        command -v tunnelctl > /dev/null ||
            fail "etherip needs tunnelctl (build/tunnelctl) in the image"
        tunnelctl etherip lab-tun "$LAB_IP" "$peer" \
            >> "$LAB_DIR/etherip.log" 2>&1 &
        echo $! > "$LAB_DIR/etherip.pid"
        local i=0
        until [ -e /sys/class/net/lab-tun ] || [ $i -ge 50 ]; do
            usleep 100000
            i=$((i + 1))
        done
        ;;
    *) fail "tunnel_manual_up: unknown kind $kind" ;;
    esac || fail "cannot create the $kind tunnel to $peer"
    ip link set lab-tun mtu 1500 master "$br" up ||
        fail "cannot put lab-tun on $br"
    log "manual $kind tunnel lab-tun on $br to $peer"
}

tunnel_manual_down() {
    if [ -f "$LAB_DIR/etherip.pid" ]; then
        kill "$(cat "$LAB_DIR/etherip.pid")" 2> /dev/null
        rm -f "$LAB_DIR/etherip.pid"
    fi
    ip link del lab-tun 2> /dev/null
    return 0
}

# tunnel_ports BR: the ports of BR that are tunnels (vxlan, gretap, or a
# TAP, which is what an EtherIP tunnel is), as "NAME KIND"
tunnel_ports() {
    ip -d -o link show master "$1" 2> /dev/null | awk '
        { name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); kind = "" }
        / vxlan id / { kind = "vxlan" }
        / gretap remote / { kind = "gretap" }
        / tun type tap / { kind = "tap" }
        kind != "" { print name, kind }'
}

# ---- a TCP connection held across migrations ----------------------------

# tcp_start NS DEST: from NS, connect to the echo server that guests with
# an address run (port 7777) and keep sending records (src/tcpseq.c)
tcp_start() {
    /usr/sbin/ip netns exec "$1" /lab/tcpseq -c "$2" -p 7777 \
        > "$LAB_DIR/tcp-$1.log" 2>&1 &
    echo $! > "$LAB_DIR/tcp-$1.pid"
    log "TCP connection from $1 to $2:7777"
}

# tcp_echoed NS: records echoed so far (the last report)
tcp_echoed() {
    sed -n 's/^TCPSEQ.* echoed=\([0-9]*\).*/\1/p' "$LAB_DIR/tcp-$1.log" |
        tail -n 1 | grep . || echo 0
}

# tcp_wait NS [TIMEOUT_S]: succeed once a report shows more records echoed
# than when called (reports come every second)
tcp_wait() {
    local n i=0 to=$((${2:-10} * 10))
    n=$(tcp_echoed "$1")
    while [ "$(tcp_echoed "$1")" -le "$n" ]; do
        grep -q '^TCPSEQ-END' "$LAB_DIR/tcp-$1.log" && return 1
        [ $i -ge $to ] && return 1
        usleep 100000
        i=$((i + 1))
    done
}

# tcp_stop NS [PREFIX]: end the connection; fails the scenario unless it
# stayed open and every record came back whole and in order.  Results:
# PREFIXtcp_gap_ms (its longest stall), PREFIXtcp_records (echoed)
tcp_stop() {
    local ns="$1" p="${2:-}" pid end
    pid=$(cat "$LAB_DIR/tcp-$ns.pid" 2> /dev/null) || fail "no TCP client in $ns"
    kill -TERM "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    rm -f "$LAB_DIR/tcp-$ns.pid"
    end=$(grep '^TCPSEQ-END' "$LAB_DIR/tcp-$ns.log" | tail -n 1)
    log "TCP from $ns: ${end:-no end line}"
    result "${p}tcp_gap_ms" "$(echo "$end" | sed -n 's/.* maxgap_ms=\([0-9]*\).*/\1/p')"
    result "${p}tcp_records" "$(echo "$end" | sed -n 's/.* echoed=\([0-9]*\).*/\1/p')"
    case $end in
    *" bad=0 state=open"*) ;;
    *) log_file "$LAB_DIR/tcp-$ns.log" 10
       fail "the TCP connection from $ns did not hold: ${end:-it vanished}" ;;
    esac
}
