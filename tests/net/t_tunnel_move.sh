#!/bin/sh
# t_tunnel_move.sh - a guest moves across the tunnel: its vif leaves dom0
# a's bridge for dom0 b's, as when it resumes on b after a migration,
# while guest gb (on b) and guest gc (left behind on a) ping it every
# 10 ms.  The announcement relocd makes after the resume (garp_forget and
# garp_announce into b's bridge) brings both back in under a second; a
# silent guest without it stays cut off.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/tunnel_lib.sh
. "$(dirname "$0")/tunnel_lib.sh"
trap 'tun_cleanup; cleanup' EXIT INT TERM
LIMIT_MS=1000
tun_build
tun_topo 1600

# warm: every bridge learns where ga is now.
warm() {
    pings "$NS_GB" "$IP_GA" && pings "$NS_GC" "$IP_GA" &&
        pings "$NS_GA" "$IP_GB" || die "$kind: no traffic before the move"
}

# pingers: gb and gc ping ga every 10 ms, with timestamps.
pingers() {
    ip netns exec "$NS_GB" ping -D -O -i 0.01 -W 0.1 "$IP_GA" \
        >"$T/ping-gb.log" 2>&1 &
    PID_GB=$!
    ip netns exec "$NS_GC" ping -D -O -i 0.01 -W 0.1 "$IP_GA" \
        >"$T/ping-gc.log" 2>&1 &
    PID_GC=$!
    sleep 0.5
}

stop_pingers() {
    kill "$PID_GB" "$PID_GC" 2>/dev/null
    wait "$PID_GB" "$PID_GC" 2>/dev/null
}

# first LOG T0: ms from T0 to the first answer after it, 99999 for none.
first() {
    awk -v t0="$2" '/bytes from/ { gsub(/[][]/, "", $1)
        if ($1 + 0 > t0) { printf "%d\n", ($1 - t0) * 1000; found = 1; exit } }
        END { if (!found) print 99999 }' "$1"
}

# gap LOG FROM TO: the longest silence (ms) between answers from the last
# one before FROM until TO: what the guest's peers lived through.
gap() {
    awk -v from="$2" -v to="$3" '/bytes from/ { gsub(/[][]/, "", $1)
        t = $1 + 0; if (t <= from) { prev = t; next }
        if (t > to) next
        if (prev && t - prev > max) max = t - prev; prev = t }
        END { if (!prev) prev = from; if (to - prev > max) max = to - prev
              printf "%d\n", max * 1000 }' "$1"
}

# answers LOG FROM TO: how many answers came in between.
answers() {
    awk -v from="$2" -v to="$3" '/bytes from/ { gsub(/[][]/, "", $1)
        if ($1 + 0 > from && $1 + 0 <= to) n++ } END { print n + 0 }' "$1"
}

now() { date +%s.%N; }

# move FROM TO [silent]: the vif changes dom0; unless silent, TO announces.
move() {
    T0=$(now)
    tun_move vif-ga "$1" "$2"
    if [ -z "${3:-}" ]; then
        tctl "$2" garp br0 "$MAC_GA" "$IP_GA" >/dev/null || die "garp"
        tctl "$1" forget br0 "$MAC_GA" >/dev/null || die "forget"
    fi
}

# check_outage FROM TO WHAT: both pingers' longest silence under LIMIT_MS.
check_outage() {
    for g in gb gc; do
        ms=$(gap "$T/ping-$g.log" "$1" "$2")
        echo "$kind $3: $g cut off for $ms ms"
        [ "$ms" -lt "$LIMIT_MS" ] ||
            die "$kind $3: $g cut off for $ms ms ($(tail -n 2 "$T/ping-$g.log"))"
    done
}

tested=
for kind in vxlan etherip; do
    tctl "$NS_A" probe "$kind" >/dev/null || continue
    tested="$tested $kind"
    tun_up "$kind" 4242 || die "$kind up"
    warm
    pingers
    move "$NS_A" "$NS_B"
    sleep 1.5
    stop_pingers
    check_outage "$T0" "$(now)" "a->b"
    # ...and back again, announced by a this time.
    warm
    pingers
    move "$NS_B" "$NS_A"
    sleep 1.5
    stop_pingers
    check_outage "$T0" "$(now)" "b->a"
    if [ "$kind" = vxlan ]; then
        # Without the announcement a silent guest stays unreachable.
        warm
        pingers
        move "$NS_A" "$NS_B" silent
        sleep 2
        T1=$(now)
        # (Answers already on their way when the vif moved do not count.)
        n=$(answers "$T/ping-gb.log" "$(awk -v t="$T0" 'BEGIN { printf "%.6f", t + 0.3 }')" "$T1")
        [ "$n" -eq 0 ] ||
            die "reachable without an announcement: the test proves nothing"
        tctl "$NS_B" garp br0 "$MAC_GA" "$IP_GA" >/dev/null || die "garp"
        sleep 1.5
        stop_pingers
        for g in gb gc; do
            ms=$(first "$T/ping-$g.log" "$T1")
            echo "$kind late announcement: $g back $ms ms after it"
            [ "$ms" -lt "$LIMIT_MS" ] || die "late announcement: $g $ms ms"
        done
        tun_move vif-ga "$NS_B" "$NS_A"
        tctl "$NS_A" garp br0 "$MAC_GA" "$IP_GA" >/dev/null
    fi
    tun_down || die "$kind down"
done
[ -n "$tested" ] || skip "no tunnel kind available"
exit 0
