# ocf:relocd:xen (etc/ocf/xen) against the Xen double (ocf-tester's run is
# t_ocf_tester.sh), driven as pacemaker-controld drives it (OCF_RESKEY_*
# and CRM_meta_* in the environment): a live move through relocd from src to
# dst (migrate_to, migrate_from, monitor on both sides), a refused move
# that leaves the guest here, and the halves of a move: NAME--incoming is
# not running yet and stop removes it, NAME--migratedaway is not running
# and stop leaves it alone.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# OCF_AGENT: another agent to hold to the same test (ocf:heartbeat:Xen fails it).
AGENT=${OCF_AGENT:-$(cd "$NETDIR/../../etc/ocf" && pwd)/xen}
export OCF_ROOT=/usr/lib/ocf
[ -f "$OCF_ROOT/lib/heartbeat/ocf-shellfuncs" ] ||
    skip "resource-agents is not installed (make deps installs it)"
net_up
mkdir -p "$T/state" "$T/bin-src" "$T/bin-dst" "$T/xl-src"
export RELOCD_FAKE_STATE="$T/state"
export FAKE_XL_CALLS="$T/xl-calls.log"
addhost "$NS_SRC" 10.77.0.2 dst.relocd.test

# mkxl DIR XLDIR DOMAINS: an xl for one host.  The system's python3
# starts in a tenth of the time of a version manager's shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
mkxl() {
    cat >"$1/xl" <<XL
#!/bin/sh
RELOCD_FAKE_DOMAINS="$3" FAKE_XL_DIR="$2" exec $PY "$NETDIR/fake_xl.py" xl "\$@"
XL
    chmod +x "$1/xl"
}
mkxl "$T/bin-src" "$T/xl-src" "vm2 vm6"
mkxl "$T/bin-dst" "$FAKE_XL_DIR" ""
# xl-relocate as the agent runs it, its arguments logged.
cat >"$T/bin-src/xl-relocate" <<XLR
#!/bin/sh
echo "\$*" >>"$T/xl-relocate.log"
exec "$BUILD/xl-relocate" "\$@"
XLR
chmod +x "$T/bin-src/xl-relocate"

# ra ACTION NS BIN [VAR=VALUE...]: the agent as pacemaker-controld runs it.
ra() {
    action=$1 ns=$2 bin=$3
    shift 3
    nsx "$ns" env PATH="$bin:$PATH" OCF_RA_VERSION_MAJOR=1 \
        OCF_RA_VERSION_MINOR=0 OCF_RESOURCE_INSTANCE=vmres \
        OCF_RESOURCE_TYPE=xen OCF_RESOURCE_PROVIDER=relocd \
        OCF_RESKEY_xmfile=/etc/xen/vm/none OCF_RESKEY_CRM_meta_timeout=20000 \
        OCF_RESKEY_CRM_meta_interval=0 __OCF_ACTION="$action" \
        "$@" "$AGENT" "$action"
}
# expect_rc RC CMD...: the agent's exit status is RC.
expect_rc() {
    want=$1
    shift
    "$@" >"$T/out" 2>&1
    got=$?
    [ "$got" = "$want" ] || { cat "$T/out"; die "exit $got, not $want: $*"; }
}

# A live move through relocd, with a downtime target.
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-control-socket $T/dst.sock)"
start_src_relocd "vm2 vm6"
mig() {
    ra migrate_to "$NS_SRC" "$T/bin-src" OCF_RESKEY_name="$1" \
        OCF_RESKEY_xend_config="$T/src.sxp" OCF_RESKEY_max_downtime=150 \
        OCF_RESKEY_CRM_meta_migrate_target=dst.relocd.test \
        OCF_RESKEY_CRM_meta_timeout=120000
}
expect_rc 0 ra monitor "$NS_SRC" "$T/bin-src" OCF_RESKEY_name=vm2
expect_rc 0 mig vm2
grep -q -- "-f $T/src.sxp migrate --live --max-downtime 150 --timeout 110 vm2 dst.relocd.test" \
    "$T/xl-relocate.log" || die "xl-relocate called as: $(cat "$T/xl-relocate.log")"
received vm2 || die "vm2 not received on dst"
grep -q "^xl migrate" "$FAKE_XL_CALLS" && die "stock xl migrate was used"
expect_rc 7 ra monitor "$NS_SRC" "$T/bin-src" OCF_RESKEY_name=vm2
expect_rc 0 ra migrate_from "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm2
expect_rc 0 ra monitor "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm2 \
    OCF_RESKEY_CRM_meta_interval=10000

# A move the target refuses (not enough memory): the guest stays here.
echo 99999 >"$T/state/vm6.mb"
expect_rc 1 mig vm6
grep -q "pre-flight memory failed" "$T/out" || die "no reason: $(cat "$T/out")"
[ "$(state vm6)" = running ] || die "vm6 is '$(state vm6)'"
expect_rc 0 ra monitor "$NS_SRC" "$T/bin-src" OCF_RESKEY_name=vm6

# A guest still arriving is not running here: probe, monitor and
# migrate_from say so; stop destroys the unfinished copy (the source keeps
# the guest).
: >"$FAKE_XL_DIR/vm3--incoming"
expect_rc 7 ra monitor "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm3
grep -q "vm3--incoming is still arriving" "$T/out" || die "no note: $(cat "$T/out")"
expect_rc 7 ra monitor "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm3 \
    OCF_RESKEY_CRM_meta_interval=10000
expect_rc 1 ra migrate_from "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm3 \
    OCF_RESKEY_CRM_meta_timeout=3000
expect_rc 0 ra stop "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm3 \
    OCF_RESKEY_shutdown_timeout=2
[ -e "$FAKE_XL_DIR/vm3--incoming" ] && die "stop left vm3--incoming"
grep -q "^xl destroy vm3--incoming" "$FAKE_XL_CALLS" || die "not destroyed"

# An arrival that completes while stop waits: the guest is stopped.
: >"$FAKE_XL_DIR/vm4--incoming"
(sleep 1; mv "$FAKE_XL_DIR/vm4--incoming" "$FAKE_XL_DIR/vm4") &
expect_rc 0 ra stop "$NS_DST" "$T/bin-dst" OCF_RESKEY_name=vm4 \
    OCF_RESKEY_shutdown_timeout=5
[ -e "$FAKE_XL_DIR/vm4" ] && die "stop left vm4 running"
grep -q "^xl shutdown vm4\$" "$FAKE_XL_CALLS" || die "vm4 not shut down"

# A migratedaway leftover is not running, and stop never destroys it.
: >"$T/xl-src/vm5--migratedaway"
expect_rc 7 ra monitor "$NS_SRC" "$T/bin-src" OCF_RESKEY_name=vm5
grep -q "vm5--migratedaway is here, suspended" "$T/out" || die "no note for vm5"
expect_rc 0 ra stop "$NS_SRC" "$T/bin-src" OCF_RESKEY_name=vm5 \
    OCF_RESKEY_shutdown_timeout=2
[ -e "$T/xl-src/vm5--migratedaway" ] || die "stop destroyed vm5--migratedaway"
grep -q "vm5--migratedaway left here" "$T/out" || die "no warning: $(cat "$T/out")"
alive
