# Block migration end to end without Xen (README.xen 3.5): xl-relocate
# migrate --copy-storage --disk-map sends a simulated guest whose disk
# file it keeps writing during pre-copy; the target's relocd creates the
# mapped file (sparse), a disk connection per disk carries the passes,
# and the stream's END comes only after the target synced: fake_xl.py
# sees the final bytes when it attaches the disk.  The target's copy
# equals the source (sha256); the source is never written by relocd.
# Refusals: a path outside relocd-disk-allow, an existing target file, no
# room.  A cancel mid-copy removes the target's copy; over TLS too.  A
# target relocd killed mid-copy: restarted, it removes the copy.  A
# sender worker killed mid-copy: its relocd undoes the write tracking.
# A disk on storage both hosts see (the fake identity: a file under a
# "shared" directory) is not copied and the target's config names its
# path there; an existing local file with the same bytes is not taken.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state" "$T/src-disks" "$T/dst-disks"
export RELOCD_FAKE_STATE="$T/state"
openssl rand -hex 32 >"$T/psk" && chmod 600 "$T/psk"
dst_conf="(xend-relocation-server yes)
(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-disk-allow '$T/dst-disks/* $T/small/* $T/shared/*')
(relocd-control-socket $T/dst.sock)"
# a 1 MiB file system for the "no room" case, there before relocd's
# namespace copies the mounts
mkdir -p "$T/small"
mount -t tmpfs -o size=1m tmpfs "$T/small" || die "cannot mount a small tmpfs"
trap 'umount "$T/small" 2>/dev/null; cleanup' EXIT
start_relocd "$dst_conf"
# disk IMAGE MIB: a sparse file with data in its first and last MiB
disk() {
    truncate -s "${2}M" "$1"
    head -c 1048576 /dev/urandom | dd of="$1" conv=notrunc status=none
    head -c 1048576 /dev/urandom |
        dd of="$1" bs=1M seek=$(($2 - 1)) conv=notrunc status=none
}
for g in d1 d2 d3 d4 d5 d6 d7; do disk "$T/src-disks/$g.img" 16; done
export RELOCD_FAKE_DISK_WRITES=8
# each guest its own disk: the fake reads RELOCD_FAKE_DISKS at open
src_disks() {
    echo "xvda=$T/src-disks/$1.img"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
map() { echo "--disk-map $T/src-disks/$1.img=$T/dst-disks/$1.img"; }

# start_src_relocd passes its environment on: one source relocd per guest
# set, since the fake guest's disks come from the environment.
src_for() {
    [ -n "${SRC_PID:-}" ] && { kill "$SRC_PID"; wait "$SRC_PID" 2>/dev/null; }
    rm -f "$T/src.sock"
    RELOCD_FAKE_DISKS=$(src_disks "$1") start_src_relocd "$1" \
        "(relocd-psk-file $T/psk)"
    trap 'umount "$T/small" 2>/dev/null; kill $SRC_PID 2>/dev/null; cleanup' EXIT
}

# slow_move G OUT: G's slow move (1 s rounds) with its disk, in the
# background ($mig), its output in OUT
slow_move() {
    echo 1000 >"$T/state/$1.round_ms"; echo 20000 >"$T/state/$1.pps"
    # shellcheck disable=SC2046 # map: two words
    xlr migrate --max-downtime 1 --copy-storage $(map "$1") "$1" 10.77.0.2 \
        >"$2" 2>&1 &
    mig=$!
}
# wait_copy G: the target made G's copy, and the copy is under way
wait_copy() {
    i=0
    until [ -e "$T/dst-disks/$1.img" ]; do
        sleep 0.2; i=$((i + 1)); [ $i -gt 50 ] && die "the target made no copy"
    done
    sleep 2
}

# 1. live, writes in every round: the copy equals the source
src_for d1
before=$(sha "$T/src-disks/d1.img")
echo 200 >"$T/state/d1.round_ms"; echo 5000 >"$T/state/d1.pps"
# shellcheck disable=SC2046 # map: two words
expect_ok xlr migrate --json --copy-storage $(map d1) d1 10.77.0.2
received d1 || die "d1 not received: $(cat "$T/out")"
after=$(sha "$T/src-disks/d1.img")
[ "$before" != "$after" ] || die "the fake guest wrote nothing to its disk"
[ "$(sha "$T/dst-disks/d1.img")" = "$after" ] ||
    die "the target's copy differs from the source"
grep -q "attached xvda $T/dst-disks/d1.img sha256=$after" "$FAKE_XL_LOG" ||
    die "xl attached a disk that was not complete: $(grep attached "$FAKE_XL_LOG")"
grep -q '"event":"result","ok":true' "$T/out" || die "no JSON result"
grep '"event":"result"' "$T/out" | grep -q '"disk":{"disks":1,"passes":[2-9]' ||
    die "the result lacks the disk's passes: $(grep result "$T/out")"
grep -q '"event":"disk-final"' "$T/out" || die "no final pass reported"
# sparse: the copy allocates about what the source has, not 16 MiB
alloc=$(du -k "$T/dst-disks/d1.img" | cut -f1)
[ "$alloc" -lt 8192 ] || die "the copy is not sparse: $alloc KiB"
[ "$(state d1)" = destroyed ] || die "d1 is '$(state d1)' on the source"
[ -z "$(ls "$T/disks" 2>/dev/null)" ] || die "tokens left: $(ls "$T/disks")"

# 2. refused in pre-flight, nothing created: outside relocd-disk-allow,
# an existing file, no room (the allocated bytes of a 16 MiB disk on a
# 1 MiB tmpfs)
src_for d2
expect_fail "pre-flight (disk|storage) failed on the target: .*not in relocd-disk-allow" \
    xlr migrate --copy-storage --disk-map "$T/src-disks/d2.img=$T/d2.img" \
    d2 10.77.0.2
[ -e "$T/d2.img" ] && die "a disk was created outside relocd-disk-allow"
: >"$T/dst-disks/d2.img"
# shellcheck disable=SC2046
expect_fail "pre-flight storage failed on the target: .*exists already" \
    xlr migrate --copy-storage $(map d2) d2 10.77.0.2
rm -f "$T/dst-disks/d2.img"
expect_fail "pre-flight storage failed on the target: .*needs 2 MiB" \
    xlr migrate --copy-storage \
    --disk-map "$T/src-disks/d2.img=$T/small/d2.img" d2 10.77.0.2
[ "$(state d2)" = running ] || die "d2 is '$(state d2)' after the refusals"
# shellcheck disable=SC2046
expect_fail "--disk-map needs --copy-storage" xlr migrate $(map d2) d2 10.77.0.2

# 3. cancelled during pre-copy: the guest stays, the target's copy goes
src_for d3
slow_move d3 "$T/cancel.out"
wait_copy d3
id=$(xlr list 2>&1 | awk '/d3/ {print $1}')
expect_ok xlr cancel "$id"
wait $mig && die "a cancelled migration reported success"
[ "$(state d3)" = running ] || die "d3 is '$(state d3)' after the cancel"
i=0
while [ -e "$T/dst-disks/d3.img" ]; do
    sleep 0.2; i=$((i + 1)); [ $i -gt 50 ] && die "the target kept its copy"
done
grep -q "removed the 1 disk copie(s) of d3" "$T/relocd.log" ||
    die "the target did not say it removed the copy"

# 4. the target fails to start the guest after the copy: the copy goes
src_for d4
echo ready >"$FAKE_XL_DIR/d4.fail"
# shellcheck disable=SC2046
expect_fail "" xlr migrate --copy-storage $(map d4) d4 10.77.0.2
[ "$(state d4)" = running ] || die "d4 is '$(state d4)'"
[ -e "$T/dst-disks/d4.img" ] && die "the target kept d4's copy"
rm -f "$FAKE_XL_DIR/d4.fail"

# 5. over TLS (PSK): the disk connection authenticates like the control
# one; --paused asks xl migrate-receive for -p, as xl migrate -p does
src_for d5
# shellcheck disable=SC2046
expect_ok xlr migrate --ssl -p 8003 --paused --copy-storage $(map d5) d5 \
    10.77.0.2
grep -q "received d5 .*flags=-p" "$FAKE_XL_LOG" || die "--paused: no -p"
grep -q "receiving disk $T/dst-disks/d5.img" "$T/relocd.log" ||
    die "no disk connection over TLS"
[ "$(sha "$T/dst-disks/d5.img")" = "$(sha "$T/src-disks/d5.img")" ] ||
    die "the copy over TLS differs"
# 6. the whole target relocd dies mid-copy: the guest stays; restarted,
# the target removes the copy its dead receive made (its marker says which)
src_for d6
slow_move d6 "$T/kill.out"
wait_copy d6
ip netns pids "$NS_DST" | xargs -r kill -9
wait $mig && die "a migration to a killed target reported success"
[ "$(state d6)" = running ] || die "d6 is '$(state d6)' after the kill"
[ -e "$T/dst-disks/d6.img" ] || die "no copy left to clean up: the test is void"
grep -q "^disk [0-9a-f]\{32\}\$" "$T/incoming/d6" ||
    die "the marker names no disk: $(cat "$T/incoming/d6")"
# a domain d6 runs here, on other disks: the source's own, as when a guest
# moves within one host (the lab); the copy is still the dead receive's
touch "$FAKE_XL_DIR/d6"
start_relocd "$dst_conf"
grep -q "removed the disk copy $T/dst-disks/d6.img that the receive of d6 made" \
    "$T/relocd.log" || die "the restarted target did not remove the copy"
[ -e "$T/dst-disks/d6.img" ] && die "the copy survived the restart"
[ -z "$(ls "$T/disks" 2>/dev/null)" ] || die "tokens left: $(ls "$T/disks")"
[ -e "$T/incoming/d6" ] && die "the marker survived the recovery"
rm -f "$FAKE_XL_DIR/d6"
# 7. the sender worker dies mid-copy: the guest stays, and the source
# relocd undoes the tracking the worker left (dm-era's table back on a
# real dom0; the fake tracker's state file here)
src_for d7
slow_move d7 "$T/worker.out"
i=0
until ls "$T"/era/*/*.table >/dev/null 2>&1; do
    sleep 0.2; i=$((i + 1)); [ $i -gt 50 ] && die "no tracking started"
done
w=$(ls -d "$T"/era/[0-9]*); w=${w##*/}
kill -9 "$w"
wait $mig && die "a migration whose worker died reported success"
[ "$(state d7)" = running ] || die "d7 is '$(state d7)' after the worker died"
grep -q "the dead sender worker $w left it tracked; its table is back" \
    "$T/src.log" || die "the source did not undo the tracking: $(tail -5 "$T/src.log")"
[ -e "$T/era/$w" ] && die "the dead worker's tracking state is left: $(ls "$T/era/$w")"
alive
# 8. shared storage: the source's disk and the target's path are one file
# (links to it), so nothing is created or copied; the guest moves with
# its disk where it is.  A local file of the same bytes is another disk.
mkdir -p "$T/shared"
disk "$T/shared/d8.img" 16
ln -sf "$T/shared/d8.img" "$T/src-disks/d8.img"
ln -sf "$T/shared/d8.img" "$T/dst-disks/d8.img"
src_for d8
cp "$T/shared/d8.img" "$T/dst-disks/d8-copy.img"
expect_fail "exists already.*not the storage the source's disk is" \
    xlr migrate --copy-storage \
    --disk-map "$T/src-disks/d8.img=$T/dst-disks/d8-copy.img" d8 10.77.0.2
rm -f "$T/dst-disks/d8-copy.img"
# shellcheck disable=SC2046
expect_ok xlr migrate --json --copy-storage $(map d8) d8 10.77.0.2
received d8 || die "d8 not received: $(cat "$T/out")"
grep -q "xvda: $T/src-disks/d8.img is shared storage with the target" \
    "$T/out" || die "no word of the shared disk: $(cat "$T/out")"
grep '"event":"result"' "$T/out" | grep '"disk":{"disks":0,' |
    grep -q '"shared":1}' ||
    die "the result does not count a shared disk: $(grep result "$T/out")"
grep -q "attached xvda $T/dst-disks/d8.img " "$FAKE_XL_LOG" ||
    die "xl did not get the target's path: $(grep attached "$FAKE_XL_LOG")"
grep -q '"event":"disk-final"' "$T/out" &&
    die "a final disk pass was reported with no disk to copy"
[ -L "$T/dst-disks/d8.img" ] || die "the target replaced the shared disk"
[ -z "$(ls "$T/disks" 2>/dev/null)" ] || die "tokens left: $(ls "$T/disks")"
echo "t_storage: ok"
