# The target tells whether it received a guest from what happened, not
# from xl migrate-receive's exit status, which xl 4.17 gets wrong both ways
# (xl_migrate.c migrate_receive): 0 after a failed unpause whose copy it
# destroyed, 1 when writing its report failed after the guest started.
# fake_xl.py exits as xl does; the Xen double asks where the copy runs.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state"
export RELOCD_FAKE_STATE="$T/state"
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-control-socket $T/dst.sock)"
start_src_relocd "v1 v2 v3 v4"
# target_says NAME TEXT: the target's log has TEXT about NAME, within 5 s
target_says() {
    i=0; until grep -q "$2" "$T/relocd.log"; do
        sleep 0.1; i=$((i + 1))
        [ $i -gt 50 ] && die "$1: the target never said '$2'"
    done
}

# The unpause fails: xl reports it, destroys its copy, gives the guest
# back and exits 0.  The guest runs on the source; the target says so.
echo result >"$FAKE_XL_DIR/v1.fail"
expect_fail "the target could not start the guest" xlr migrate v1 10.77.0.2
[ "$(state v1)" = running ] || die "v1 is '$(state v1)' on the source"
target_says v1 "receiving v1 failed; it stays on the source"
grep -q "received v1" "$T/relocd.log" && die "the target claims it received v1"

# The guest started on the target, then xl's report write failed (exit 1):
# the source cannot know and keeps its copy suspended, as xl; the target
# knows the guest runs there and says so.
echo report >"$FAKE_XL_DIR/v2.fail"
expect_fail "connection lost during the final handshake" xlr migrate v2 10.77.0.2
[ "$(state v2)" = "renamed:v2--migratedaway" ] ||
    die "v2 is '$(state v2)' on the source"
target_says v2 "received v2"
grep -q "receiving v2 failed" "$T/relocd.log" &&
    die "the target says v2 stayed on the source"

# A move within one host: the source's own copy has the guest's name on
# the target's Xen while it receives.  The receive fails before "ready":
# that copy is not the received guest, and the target must not say it is.
: >"$FAKE_XL_DIR/v4"
echo ready >"$FAKE_XL_DIR/v4.fail"
expect_fail "" xlr migrate v4 10.77.0.2
target_says v4 "receiving v4 failed; it stays on the source"
grep -q "received v4" "$T/relocd.log" && die "the target claims it received v4"
rm -f "$FAKE_XL_DIR/v4"

# Two connections pre-flight one name: once the first is receiving it,
# the second is refused, so neither's cleanup can destroy the other's copy.
out=$(nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 twice)
echo "$out" | grep -q "ERROR busy: raw1 is being received already" ||
    die "second receive of raw1: '$out'"

# And a plain move still is one.
expect_ok xlr migrate v3 10.77.0.2
[ "$(state v3)" = destroyed ] || die "v3 is '$(state v3)' on the source"
target_says v3 "received v3"
alive
