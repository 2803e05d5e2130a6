# relocd.sh - lab helpers for scenarios that use relocd and xl-relocate
# (sourced after /lab/lib.sh).
#
# relocd_start [SXP-LINES]: a PSK-authenticated relocd on this dom0
#   (TLS port 8003, loopback and the lab networks allowed), plus SXP-LINES.
# relocd_share_psk: two hosts: one PSK for both relocds (before relocd_start).
# xlr ARGS...: xl-relocate with that configuration.
# xlr_migrate NAME ARGS...: xl-relocate migrate, logged and timed.
# xlr_result FILE [PREFIX]: record the numbers of its summary line.
# check_moved / check_stayed: the guest's fate, checked.
# shellcheck shell=sh

RELOCD_CONF=/etc/xen/relocd-lab.sxp
RELOCD_PSK=/etc/xen/relocd-lab.psk

relocd_psk() {
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"
    chmod 600 "$1"
}

# relocd_share_psk: host a makes the PSK and hands it to host b, which
# waits for it; both call it before relocd_start
relocd_share_psk() {
    local psk
    if on_host a; then
        relocd_psk "$RELOCD_PSK"
        exchange psk "$(cat "$RELOCD_PSK")" > /dev/null || fail "host b never came"
    else
        psk=$(exchange psk -) || fail "host a never came"
        printf '%s' "$psk" > "$RELOCD_PSK"
        chmod 600 "$RELOCD_PSK"
    fi
}

# relocd_conf FILE [SXP-LINES]: the lab's relocd configuration
relocd_conf() {
    local f="$1"
    shift
    [ -s "$RELOCD_PSK" ] || relocd_psk "$RELOCD_PSK"
    {
        echo "(xend-relocation-ssl-server yes)"
        echo "(xend-relocation-ssl yes)"
        echo "(relocd-psk-file $RELOCD_PSK)"
        # In the file a regex backslash is written \\, as in xend's sample.
        printf '%s\n' "(xend-relocation-hosts-allow '^127\\\\. ^169\\\\.254\\\\.77\\\\. ^10\\\\.[12]\\\\.0\\\\.')"
        # The lab's guests plug into its bridge with its own vif script,
        # which pre-flight refuses unless the admin lists it (README.xen 2.3).
        echo "(relocd-allow-scripts 'block vif-bridge vif-nat vif-openvswitch vif-route /lab/vif-lab /lab/block-lab')"
        for l in "$@"; do echo "$l"; done
    } > "$f"
}

# shellcheck disable=SC2120 # SXP-LINES are optional
relocd_start() {
    local i=0
    [ -x /usr/sbin/relocd ] || fail "relocd is not in this lab image"
    # every scenario starts with no downtime floor learned (README.xen
    # 5.2): the scenarios of one boot would inherit each other's.  One
    # that restarts relocd and keeps what it learned sets RELOCD_KEEP_FLOOR=1.
    [ "${RELOCD_KEEP_FLOOR:-}" = 1 ] || rm -rf /run/relocd/floor
    relocd_conf "$RELOCD_CONF" "$@"
    relocd -n -f "$RELOCD_CONF" > "$LAB_DIR/relocd-n.log" 2>&1 ||
        { cat "$LAB_DIR/relocd-n.log"; fail "relocd -n rejects the lab config"; }
    relocd -d -f "$RELOCD_CONF" >> "$LAB_DIR/relocd.log" 2>&1 &
    echo $! > /tmp/relocd.pid
    until [ -S /run/relocd/relocd.sock ] &&
        netstat -ltn 2> /dev/null | grep -q ':8003 '; do
        usleep 200000
        i=$((i + 1))
        [ $i -gt 100 ] && { cat "$LAB_DIR/relocd.log"; fail "relocd did not start"; }
    done
    log "relocd started (pid $(cat /tmp/relocd.pid))"
}

relocd_stop() {
    [ -f /tmp/relocd.pid ] && kill "$(cat /tmp/relocd.pid)" 2> /dev/null
    rm -f /tmp/relocd.pid
}

xlr() {
    xl-relocate -f "$RELOCD_CONF" "$@"
}

# xlr_migrate NAME ARGS...: xl-relocate migrate ARGS (ending in NAME HOST),
# output in $LAB_DIR/xlr-NAME.log; returns its exit status.
xlr_migrate() {
    local name="$1" t0 rc
    shift
    log "xl-relocate migrate $*"
    t0=$(xts)
    xlr migrate "$@" > "$LAB_DIR/xlr-$name.log" 2>&1
    rc=$?
    log "xl-relocate rc=$rc after $(elapsed "$t0")s"
    log_file "$LAB_DIR/xlr-$name.log" 40
    # A failure is explained by relocd's side too.
    [ $rc -eq 0 ] || log_file "$LAB_DIR/relocd.log" 25
    return $rc
}

# xlr_result FILE [PREFIX]: numbers of the summary line into the results
xlr_result() {
    local line p="${2:-}"
    line=$(grep '^migrated ' "$1" | tail -n 1)
    [ -n "$line" ] || return 1
    result "${p}migrate_s" "$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s,.*/\1/p')"
    result "${p}sender_downtime_ms" "$(echo "$line" | sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p')"
    result "${p}wire_mib" "$(echo "$line" | sed -n 's/.* \([0-9]*\) MiB on the wire.*/\1/p')"
    result "${p}rounds" "$(echo "$line" | sed -n 's/.* \([0-9]*\) rounds.*/\1/p')"
}

# no_leftovers: no half-moved copies (NAME--incoming, NAME--migratedaway)
no_leftovers() {
    if xl list | grep -q -- "--migratedaway\|--incoming"; then
        xl list
        fail "a half-moved domain is left: $(xl list | grep -E -- '--(migratedaway|incoming)')"
    fi
}

# check_moved NAME D0 T0: NAME runs under a new domid, ticking, intact
check_moved() {
    local d1
    d1=$(xl domid "$1") || fail "guest $1 gone after migration"
    [ "$d1" != "$2" ] || fail "domid of $1 unchanged ($2): nothing migrated"
    guest_alive "$1" 2 60 || fail "guest $1 stopped ticking after migration"
    [ "$(guest_errors "$1")" = 0 ] || fail "guest $1 saw corrupted pages"
    no_leftovers
    result downtime_ms "$(downtime_ms "$1" "$3")"
    log "$1 moved: domid $2 -> $d1, guest saw a $(downtime_ms "$1" "$3") ms stall"
}

# check_stayed NAME D0: NAME still runs here, same domid and name, ticking
check_stayed() {
    [ "$(xl domid "$1" 2> /dev/null)" = "$2" ] ||
        fail "guest $1 is not domid $2 any more: $(xl list)"
    guest_alive "$1" 2 60 || fail "guest $1 stopped ticking"
    no_leftovers
    log "$1 still runs here as domid $2"
}
