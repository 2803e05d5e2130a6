# fault.sh - helpers of the fault-* scenarios (sourced after /lab/lib.sh
# and /lab/relocd.sh): one dom0 plays both hosts, the target relocd runs in
# a network namespace, so "the network between the dom0s" is one veth pair
# that a scenario can cut (xl and xenstore work from any namespace: their
# sockets and /dev/xen are file-system paths).
#
# The pair's addresses are loopback ones, 127.77.0.1 (this side) and
# 127.77.0.2 (the target), routed over the veth (route_localnet): relocd
# allows the guest's name and UUID on the target only on a move within
# one host, which it knows by a loopback peer (xen/preflight.c).
#
# target_use N: the helpers below act on target N from now on: 0 (the
#   default, what the fault scenarios use) or 1, 2, ... (evac-* puts two
#   targets beside this dom0 to empty it onto).  Target N is namespace
#   tgt (tgtN), addresses 127.77.N.1 here and 127.77.N.2 there over veth
#   fault(2N)/fault(2N+1), relocd's control socket in /run/relocd-target
#   (-targetN), its configuration /tmp/target.sxp (targetN.sxp), its log
#   $LAB_DIR/target.log (targetN.log); $TGT_LOG names it.
# target_up [SXP-LINES]: the current target's namespace behind its veth,
#   and relocd in it on the TLS port 8003.
#   LAB_FAULT=before-ready|after-ready in the environment makes its
#   xl migrate-receive stop there (src/faultshim.c).
# target_down: stop that relocd (SIGTERM; target_kill: SIGKILL).
# cut drop|to-target|link / heal: packets dropped both ways, only those
#   sent to the target, the link down; back to normal.
# xlr_bg NAME LOG ARGS...: xl-relocate migrate ARGS NAME 10.1.0.2 in the
#   background ($XLR_PID).
# wait_line FILE REGEX [S]: until FILE has a line matching REGEX.
# wait_fault_stop [S]: until the shimmed xl stopped; prints its pid.
# worker_pid: the source relocd's sender worker.
# shellcheck shell=sh

FAULT_FILE=/tmp/fault-stopped
# the targets target_up started, for fault_cleanup_all
TGT_USED=

target_use() {
    local n="$1" s="${1#0}"
    TGT_N=$n
    TGT_NS=tgt$s
    TGT_NET=127.77.$n
    TGT_IP=$TGT_NET.2
    SRC_IP=$TGT_NET.1
    TGT_IF=fault$((2 * n))
    TGT_PEER_IF=fault$((2 * n + 1))
    TGT_CONF=/tmp/target$s.sxp
    TGT_RUN=/run/relocd-target${s:+-$s}
    TGT_LOG=$LAB_DIR/target$s.log
}
target_use 0

# in_tgt CMD...: run CMD in the target's namespace
in_tgt() {
    /usr/sbin/ip netns exec "$TGT_NS" "$@"
}

# side NS IF ADDR: one end of the pair; its /24 in the local table too,
# ahead of lo's 127.0.0.0/8 there
side() {
    local x="/usr/sbin/ip${1:+ -n $1}"
    $x link set lo up
    $x link set "$2" up
    $x addr add "$3/24" dev "$2"
    $x route add "$TGT_NET.0/24" dev "$2" table local src "$3"
    ${1:+in_tgt} sh -c "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet &&
        echo 1 > /proc/sys/net/ipv4/conf/$2/route_localnet"
}

# fault_cleanup: the current target's relocd (all its processes) and its
# namespace gone.  setsid takes the target relocd out of the scenario's
# process group, which the runner kills after each scenario, so the
# scenario does it (EXIT trap: fault_cleanup_all), and the next one again
# in case this one was killed.
fault_cleanup() {
    local p
    while p=$(target_pid); do
        kill -9 -- "-$p" "$p" 2> /dev/null
        usleep 300000
    done
    /usr/sbin/ip netns del "$TGT_NS" 2> /dev/null
    /usr/sbin/ip link del "$TGT_IF" 2> /dev/null
    # a scenario that failed between cut and heal leaves its blackhole
    # here, in this namespace's local table: the next one's ping would die
    while /usr/sbin/ip route del blackhole "$TGT_IP/32" table local 2> /dev/null; do :; done
    return 0
}

# fault_cleanup_all: every target this scenario started
fault_cleanup_all() {
    local n
    for n in $TGT_USED; do
        target_use "$n"
        fault_cleanup
    done
}

target_net() {
    fault_cleanup
    case " $TGT_USED " in *" $TGT_N "*) ;; *) TGT_USED="$TGT_USED $TGT_N" ;; esac
    trap fault_cleanup_all EXIT
    /usr/sbin/ip netns add "$TGT_NS"
    /usr/sbin/ip link add "$TGT_IF" type veth peer name "$TGT_PEER_IF" ||
        fail "no veth"
    /usr/sbin/ip link set "$TGT_PEER_IF" netns "$TGT_NS"
    side "" "$TGT_IF" "$SRC_IP"
    side "$TGT_NS" "$TGT_PEER_IF" "$TGT_IP"
    ping -c 1 -W 5 "$TGT_IP" > /dev/null || fail "the target namespace does not answer"
}

# shellcheck disable=SC2120 # SXP-LINES are optional
target_up() {
    local i=0
    [ -e "/run/netns/$TGT_NS" ] || target_net
    relocd_conf "$TGT_CONF" "(relocd-control-socket $TGT_RUN/relocd.sock)" "$@"
    rm -f "$FAULT_FILE"
    # setsid: its own process group, which a scenario may kill whole
    in_tgt env LD_PRELOAD=/lab/faultshim.so LAB_FAULT_FILE=$FAULT_FILE \
        LAB_FAULT="${LAB_FAULT:-}" setsid relocd -d -f "$TGT_CONF" \
        >> "$TGT_LOG" 2>&1 &
    until [ -S "$TGT_RUN/relocd.sock" ] &&
        in_tgt netstat -ltn 2> /dev/null | grep -q ':8003 '; do
        usleep 200000
        i=$((i + 1))
        [ $i -gt 100 ] && { log_file "$TGT_LOG"; fail "the target relocd did not start"; }
    done
    TGT_PID=$(target_pid)
    log "target relocd up in namespace $TGT_NS at $TGT_IP (pid $TGT_PID${LAB_FAULT:+, xl stops $LAB_FAULT})"
}

# target_pid: the target relocd's pid (the one listening in the namespace)
target_pid() {
    local p
    for p in $(pidof relocd); do
        [ "$(readlink "/proc/$p/ns/net")" = "$(readlink /proc/self/ns/net)" ] && continue
        # (not -F: busybox's stops at the first NUL of cmdline; the
        # regex /tmp/target.sxp does not match /tmp/target1.sxp)
        grep -q "$TGT_CONF" "/proc/$p/cmdline" 2> /dev/null || continue
        # the parent: its parent is not a relocd
        grep -q relocd "/proc/$(awk '{ print $4 }' "/proc/$p/stat")/comm" 2> /dev/null && continue
        echo "$p"
        return 0
    done
    return 1
}

target_down() {
    local p
    p=$(target_pid) && kill "$p"
    sleep 1
}

target_kill() {
    local p
    p=$(target_pid) || return 0
    log "SIGKILL to the target relocd ($p)"
    kill -9 "$p"
}

cut() {
    case $1 in
    drop)
        # Routes that discard: each side's packets to the other vanish.
        /usr/sbin/ip route add blackhole "$TGT_IP/32" table local
        in_tgt /usr/sbin/ip route add blackhole "$SRC_IP/32" table local
        ;;
    to-target) /usr/sbin/ip route add blackhole "$TGT_IP/32" table local ;;
    link)
        # the blackholes stay: without them lo's 127.0.0.0/8 would take
        # the packets once the link's routes are gone, and answer RST
        cut drop > /dev/null 2>&1
        /usr/sbin/ip link set "$TGT_IF" down
        ;;
    esac
    log "network between the dom0s cut: $1"
}

heal() {
    /usr/sbin/ip route del blackhole "$TGT_IP/32" table local 2> /dev/null
    in_tgt /usr/sbin/ip route del blackhole "$SRC_IP/32" table local 2> /dev/null
    /usr/sbin/ip link set "$TGT_IF" up
    in_tgt /usr/sbin/ip link set "$TGT_PEER_IF" up
    # a link that went down lost its routes
    /usr/sbin/ip route replace "$TGT_NET.0/24" dev "$TGT_IF" table local src "$SRC_IP"
    in_tgt /usr/sbin/ip route replace "$TGT_NET.0/24" dev "$TGT_PEER_IF" table local src "$TGT_IP"
    log "network between the dom0s healed"
}

xlr_bg() {
    local name="$1" out="$2"
    shift 2
    log "xl-relocate migrate $* $name $TGT_IP &"
    XLR_LOG=$out
    xlr migrate "$@" "$name" "$TGT_IP" > "$out" 2>&1 &
    XLR_PID=$!
}

# xlr_end LOG: wait for the background xl-relocate; fails if it succeeded
xlr_end() {
    local t0
    t0=$(xts)
    if wait "$XLR_PID"; then
        log_file "$1" 20
        fail "xl-relocate reported success"
    fi
    log "xl-relocate failed, $(elapsed "$t0")s after the fault; its output:"
    log_file "$1" 12
}

wait_line() {
    local end=$(($(date +%s) + ${3:-120}))
    until grep -qE "$2" "$1" 2> /dev/null; do
        [ "$(date +%s)" -gt $end ] && return 1
        usleep 200000
    done
    return 0
}

# (it also gives up when xl-relocate ended: then xl never stops); shows
# the migration's progress every 30 s on stderr
wait_fault_stop() {
    local t0 end next
    t0=$(date +%s)
    end=$((t0 + ${1:-300}))
    next=$((t0 + 30))
    until [ -s "$FAULT_FILE" ]; do
        [ "$(date +%s)" -gt $end ] && return 1
        # (a zombie until the scenario's shell waits for it)
        grep -q '^State:.*[ZX]' "/proc/$XLR_PID/status" 2> /dev/null && return 1
        [ -d "/proc/$XLR_PID" ] || return 1
        if [ "$(date +%s)" -ge $next ]; then
            next=$((next + 30))
            log "waiting for the target's xl: $(tail -n 1 "$XLR_LOG" 2> /dev/null)" >&2
        fi
        usleep 200000
    done
    cat "$FAULT_FILE"
}

# target_log_next: keep the target's log so far as target.log.N and start
# it empty (relocd appends: O_APPEND writes go to the new end)
target_log_next() {
    local n=1
    while [ -e "$TGT_LOG.$n" ]; do n=$((n + 1)); done
    [ -e "$TGT_LOG" ] || return 0
    cp "$TGT_LOG" "$TGT_LOG.$n"
    : > "$TGT_LOG"
}

# says FILE REGEX WHAT: FILE must have a line matching REGEX (grep -E)
says() {
    grep -qE "$2" "$1" || { log_file "$1" 30; fail "$3: no line /$2/ in ${1##*/}"; }
    log "${1##*/} says: $(grep -E "$2" "$1" | tail -n 1)"
}

# target_clean: the target holds no copy (NAME--incoming) of the guest,
# and the one it destroyed is gone from Xen (a dying domain, "(null)" in
# xl list, still has the guest's UUID: pre-flight refuses the next move)
target_clean() {
    local i=0
    # the target relocd destroys a failed receive's copy when xl exits
    while xl list | grep -q -- "--incoming"; do
        sleep 1
        i=$((i + 1))
        [ $i -gt 90 ] && { xl list; fail "the target keeps a copy: $(xl list | grep -- --incoming)"; }
    done
    i=0
    while xl list | grep -q "^(null)"; do
        [ $i = 0 ] && log "a destroyed copy is still dying: $(xl list | grep '^(null)')"
        sleep 1
        i=$((i + 1))
        [ $i -gt 120 ] && { fault_evidence; fail "a destroyed copy never goes: $(xl list | grep '^(null)')"; }
    done
    [ $i = 0 ] || log "it went after ${i}s"
}

# fault_evidence: what tells why a copy stays: the target's log, the xl
# processes still alive, and Xen's view of nameless domains
fault_evidence() {
    local f d
    log_file "$TGT_LOG" 40
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' < "$f" 2> /dev/null | grep -q '^xl ' || continue
        d=${f%/cmdline}
        log "alive: ${d#/proc/} $(tr '\0' ' ' < "$f") state $(awk '{ print $3 }' "$d/stat")"
    done
    xl list
    xenstore-ls /local/domain 2> /dev/null | grep -E '^ *[0-9]+ =|name =' | head -20
}

# worker_pid: the source relocd's sender worker (its only child here;
# busybox pgrep has no -P)
worker_pid() {
    local parent f
    parent=$(cat /tmp/relocd.pid)
    for f in /proc/[0-9]*/stat; do
        [ "$(awk '{ print $4 }' "$f" 2> /dev/null)" = "$parent" ] || continue
        f=${f#/proc/}
        echo "${f%/stat}"
        return 0
    done
    return 1
}

# state NAME: the domain's xl list state letters (r b p s c d, dashes dropped)
state() {
    xl list "$1" 2> /dev/null | awk 'NR == 2 { print $5 }' | tr -d -
}
