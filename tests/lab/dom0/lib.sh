# lib.sh - the lab's scenario API, sourced by every scenario (busybox sh,
# in dom0). See tests/lab/README.md for a walk-through.
#
# Environment set by the runner:
#   LAB_NAME   scenario name          LAB_DIR    its scratch dir (per attempt)
#   LAB_HOST   a | b (b only in 2-host scenarios; a is the sender)
#   LAB_HOSTS  1 | 2                  LAB_ATTEMPT 1 | 2
#   LAB_IP     this dom0's IP on the lab link (2-host topologies)
#   LAB_PEER   the other dom0's IP
#   LAB_T0     scenario start (xts)
# plus every `--set KEY=VAL` given to tests/lab/run, as KEY=VAL.
#
# A scenario ends with pass, fail or skip (or exits: rc 0 is PASS, other
# is FAIL). Numbers it wants in results.jsonl go through `result`.
# shellcheck shell=sh

export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
# no udev in dom0: dmsetup (libdevmapper) makes the /dev/mapper nodes itself
export DM_DISABLE_UDEV=1
CON=/var/log/xen/console
LAB_FIELDS=${LAB_DIR:-/tmp/lab}/fields
LAB_STATUS=${LAB_DIR:-/tmp/lab}/status

# ---- time and logging ----------------------------------------------------

now() { xts; }

# elapsed T0 [T1]: seconds from T0 to T1 (default now), 3 decimals
elapsed() {
    awk -v a="$1" -v b="${2:-$(xts)}" 'BEGIN { printf "%.3f", b - a }'
}

# log MSG: a progress line, shown live by `tests/lab/demo`
log() {
    echo "[lab ${LAB_NAME:-?}${LAB_HOSTS:+@$LAB_HOST} +$(elapsed "${LAB_T0:-$(xts)}")s] $*"
}

# log_file FILE [N]: the last N (20) lines of FILE as progress lines
log_file() {
    tail -n "${2:-20}" "$1" 2> /dev/null | while IFS= read -r l; do
        log "    | $l"
    done
}

# karg NAME: value of NAME= on the dom0 kernel command line
karg() {
    echo " $(cat /proc/cmdline) " | sed -n "s/.* $1=\([^ ]*\) .*/\1/p"
}

# ---- results -------------------------------------------------------------

# result KEY VALUE: set a field of this scenario's JSON result line.
# Numbers stay numbers, anything else becomes a string.
result() {
    local k="$1" v="$2"
    if ! printf '%s' "$v" | grep -qE '^-?[0-9]+(\.[0-9]+)?$'; then
        v="\"$(printf '%s' "$v" | sed 's/[\\"]/\\&/g; s/\t/ /g')\""
    fi
    touch "$LAB_FIELDS"
    grep -v "^$k	" "$LAB_FIELDS" > "$LAB_FIELDS.tmp"
    printf '%s\t%s\n' "$k" "$v" >> "$LAB_FIELDS.tmp"
    mv "$LAB_FIELDS.tmp" "$LAB_FIELDS"
}

# pass [MSG] / fail REASON / skip REASON: record the verdict and end the
# scenario. Only the first verdict counts.
verdict() {
    [ -s "$LAB_STATUS" ] || echo "$1 $2" > "$LAB_STATUS"
    log "$1${2:+: $2}"
}
# shellcheck disable=SC2120 # MSG is optional
pass() { verdict PASS "$*"; exit 0; }
fail() { verdict FAIL "$*"; exit 1; }
skip() { verdict SKIP "$*"; exit 0; }

# ---- guests --------------------------------------------------------------

# guest_cfg NAME [--mem MiB] [--dirty MiB] [--rate MiB/s] [--type pvh|pv|hvm]
#                [--vcpus N] [--tick-ms MS] [--vif SPEC] [--disk PATH]...
#                [--disk-rate MiB/s] [--verify-s S] [--stamp-blocks N]
#                [--wake-ms MS]
# Write $LAB_DIR/NAME.cfg. Lab guests boot the Debian kernel with the lab's
# initramfs; they run `dirty` (src/dirty.c). on_reboot=destroy and
# on_crash=preserve make a crash or triple fault visible instead of xl
# restarting the guest silently.  --wake-ms: how often an idle guest
# checks its clock (10): the resolution of its downtime figure, and the
# cost of keeping it alive (each wake-up is a VM exit, slow under TCG).
# An hvm guest boots the same kernel
# directly (QEMU's -kernel, through hvmloader and SeaBIOS), with Debian's
# QEMU upstream as its device model and no display.
# --vif bridge=BR[,mac=MAC][,ip=ADDR/PREFIX][,gw=ADDR][,KEY=VAL...]: one
# network interface (netfront eth0 in the guest) on dom0's bridge BR,
# hotplugged by /lab/vif-lab (dom0/vif-lab; bridge_up creates BR). ip and
# gw go to the guest's command line (guest/init configures eth0), the
# address also to xl's vif spec (relocd announces it after a move), the
# rest to the vif spec as given.
# --disk PATH (again for the next disk: xvda, xvdb, ...): a raw disk on a
# regular file (lab_disk) or a block device (lab_lv), hotplugged by
# /lab/block-lab (dom0/block-lab: a file gets a loop device and a
# dm-linear node vbd-DOMID-DEVID over it, see vbd_node).  In the guest
# (xen-blkfront), on each disk: diskstamp (src/diskstamp.c) writes O_DIRECT
# 4 KiB stamps into its first --stamp-blocks blocks (1024, at most half
# the disk) at --disk-rate MiB/s (0.25) and verifies them every
# --verify-s seconds (60; LAB-DISKVERIFY lines; no stamp is written
# while it verifies), and a
# buffered writer (dd, 16 KiB 10 times a second, through the guest's page
# cache, written back within a second) writes random data into its
# second half.  --disk-rate idle: neither writer, the disk left idle.
guest_cfg() {
    local name="$1" mem=192 dirty=0 rate=0 type=pvh vcpus=1 tick=1000 vif=
    local spec='' net='' kv disks='' vdevs='' drate=0.25 verify=60 v=a
    local stamps=1024 wake=10
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --mem) mem=$2 ;;
        --dirty) dirty=$2 ;;
        --rate) rate=$2 ;;
        --type) type=$2 ;;
        --vcpus) vcpus=$2 ;;
        --tick-ms) tick=$2 ;;
        --wake-ms) wake=$2 ;;
        --vif) vif=$2 ;;
        --disk)
            disks="$disks${disks:+, }'format=raw,vdev=xvd$v,access=rw,script=/lab/block-lab,target=$2'"
            vdevs="$vdevs${vdevs:+,}xvd$v"
            v=$(echo "$v" | tr 'a-y' 'b-z')
            ;;
        --disk-rate) drate=$2 ;;
        --verify-s) verify=$2 ;;
        --stamp-blocks) stamps=$2 ;;
        *) fail "guest_cfg: unknown option $1" ;;
        esac
        shift 2
    done
    if [ -n "$vif" ]; then
        for kv in $(echo "$vif" | tr ',' ' '); do
            case $kv in
            ip=*)
                # xl's ip= (no prefix) tells relocd the guest's address
                net="$net lab.ip=${kv#ip=}"
                kv=${kv%/*}
                spec="$spec${spec:+,}$kv"
                ;;
            gw=*) net="$net lab.gw=${kv#gw=}" ;;
            *) spec="$spec${spec:+,}$kv" ;;
            esac
        done
        case $spec in *script=*) ;; *) spec="$spec,script=/lab/vif-lab" ;; esac
    fi
    [ -n "$disks" ] &&
        net="$net lab.disks=$vdevs lab.diskrate=$drate lab.verify_s=$verify lab.stampblocks=$stamps"
    cat > "$LAB_DIR/$name.cfg" << EOF
name="$name"
type="$type"
memory=$mem
vcpus=$vcpus
kernel="/guest/vmlinuz"
ramdisk="/guest/initrd.gz"
extra="console=hvc0 quiet lab.dirty=$dirty lab.rate=$rate lab.tick_ms=$tick lab.wake_ms=$wake$net"
on_poweroff="destroy"
on_reboot="destroy"
on_crash="preserve"
EOF
    # HVM: Debian's QEMU upstream as the device model, no display (the
    # console is hvc0 through xenconsoled, as for PVH)
    [ "$type" = hvm ] && printf '%s\n' 'device_model_version="qemu-xen"' \
        'vga="none"' 'vnc=0' 'sdl=0' >> "$LAB_DIR/$name.cfg"
    [ -n "$spec" ] && echo "vif=['$spec']" >> "$LAB_DIR/$name.cfg"
    [ -n "$disks" ] && echo "disk=[$disks]" >> "$LAB_DIR/$name.cfg"
    return 0
}

# ktls_modules: load tls.ko and its ciphers from the base layer (a Debian
# dom0 loads them on the first use of kernel TLS; the lab's busybox does
# not load modules on demand); fails unless tls is loaded
ktls_modules() {
    local ko
    while read -r ko; do
        case "${ko##*/}" in
        tls.ko | lib*.ko | chacha*.ko | poly1305*.ko | ctr.ko | ghash*.ko | gcm.ko | aesni*.ko | cryptd.ko | crypto_simd.ko)
            insmod "$ko" 2> /dev/null ;;
        esac
    done < /etc/lab-modules-extra
    grep -q '^tls ' /proc/modules || fail "this dom0 has no tls module"
}

# ---- disks ---------------------------------------------------------------

# dm_modules: load device-mapper with dm-era (and the other extra modules
# of the base layer, /etc/lab-modules-extra, in dependency order); once
dm_modules() {
    [ -e /dev/mapper/control ] && grep -q '^dm_era ' /proc/modules && return 0
    while read -r ko; do
        insmod "$ko" 2> /dev/null
    done < /etc/lab-modules-extra
    grep -q '^dm_era ' /proc/modules || fail "dm-era did not load"
}

# lab_disk NAME MiB: a sparse raw disk file (in dom0's RAM); prints its path
lab_disk() {
    mkdir -p /var/lab-disks
    truncate -s "$2M" "/var/lab-disks/$1.img" || fail "cannot make disk $1"
    echo "/var/lab-disks/$1.img"
}

# lab_lv NAME MiB: what an LV is to blkback, emulated: a dm-linear node
# NAME over a loop device on a sparse file; prints /dev/mapper/NAME
lab_lv() {
    local f loop
    dm_modules
    f=$(lab_disk "lv-$1" "$2")
    loop=$(losetup -f) && losetup "$loop" "$f" || fail "no loop for lv $1"
    dmsetup create "$1" --table "0 $(($2 * 2048)) linear $loop 0" ||
        fail "dm-linear $1 over $loop"
    echo "/dev/mapper/$1"
}

# lab_vg NAME MiB: a volume group NAME on a loop device over a sparse
# file of MiB.  dom0 has no udev: /etc/lvm/lvm.conf (written once) makes
# lvm create its /dev nodes itself and wait for no udev event, reads no
# devices file (so it sees the loop device) and starts no daemon.
lab_vg() {
    local f loop
    dm_modules
    if [ ! -e /etc/lvm/lvm.conf ]; then
        mkdir -p /etc/lvm /run/lock/lvm
        cat > /etc/lvm/lvm.conf << 'EOF_LVM'
devices {
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
}
activation {
    udev_sync = 0
    udev_rules = 0
    verify_udev_operations = 0
    monitoring = 0
}
global {
    locking_dir = "/run/lock/lvm"
    use_lvmpolld = 0
    event_activation = 0
}
backup {
    backup = 0
    archive = 0
}
EOF_LVM
    fi
    f=$(lab_disk "vg-$1" "$2")
    loop=$(losetup -f) && losetup "$loop" "$f" || fail "no loop for vg $1"
    pvcreate -q "$loop" > /dev/null || fail "pvcreate $loop"
    vgcreate -q "$1" "$loop" > /dev/null || fail "vgcreate $1 $loop"
    log "volume group $1 on $loop: $(vgs --noheadings -o vg_name,vg_size,vg_free "$1")"
}

# vbd_node NAME VDEV: the dm node (its name) blkback holds for guest NAME's
# disk VDEV (xvda...), from the backend's physical-device-path
vbd_node() {
    local d devid path
    d=$(xl domid "$1") || return 1
    case $2 in
    xvda) devid=51712 ;; xvdb) devid=51728 ;; xvdc) devid=51744 ;;
    *) return 1 ;;
    esac
    path=$(xenstore-read "/local/domain/0/backend/vbd/$d/$devid/physical-device-path") ||
        return 1
    echo "${path#/dev/mapper/}"
}

# guest_log NAME: everything guest NAME printed, on this host, in order of
# the console log files (after a local migration the incoming domain logs
# to guest-NAME--incoming.log, see xenconsoled --log=guest)
guest_log() {
    cat "$CON/guest-$1.log" "$CON/guest-$1--incoming.log" 2>/dev/null
}

# last_tick NAME: number of the last LAB-TICK of guest NAME (0 if none)
last_tick() {
    guest_log "$1" | sed -n 's/.*LAB-TICK \([0-9]*\) .*/\1/p' |
        sort -n | tail -n 1 | grep . || echo 0
}

# wait_marker NAME PATTERN [TIMEOUT_S]: wait until guest NAME prints a line
# matching PATTERN (grep -E). Returns 1 on timeout.
wait_marker() {
    local i=0 n=$((${3:-120} * 5))
    while [ $i -lt $n ]; do
        guest_log "$1" | grep -qE "$2" && return 0
        usleep 200000
        i=$((i + 1))
    done
    return 1
}

# wait_ticks NAME N [TIMEOUT_S]: wait until guest NAME printed N ticks more
# than it had when called
wait_ticks() {
    local want=$(($(last_tick "$1") + $2)) i=0 n=$((${3:-60} * 5))
    while [ $i -lt $n ]; do
        [ "$(last_tick "$1")" -ge $want ] && return 0
        usleep 200000
        i=$((i + 1))
    done
    return 1
}

# try NAME...: run a helper that would fail the scenario so that it returns
# 1 instead (e.g. `try create_guest g || ...`)
try() { LAB_TRY=1 "$@"; }
soft_fail() {  # REASON: fail, or only log under `try`
    if [ -n "${LAB_TRY:-}" ]; then log "error: $*"; else fail "$@"; fi
}

# create_guest NAME [guest_cfg options] [--ticks N] [--timeout S]
# Create the guest and wait until it printed N ticks (default 2). Records
# create_s (xl create to first tick). Fails the scenario on error.
create_guest() {
    local name="$1" ticks=2 to=240 t0 o=
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --ticks) ticks=$2 ;;
        --timeout) to=$2 ;;
        *) o="$o $1 $2" ;;
        esac
        shift 2
    done
    # shellcheck disable=SC2086 # o: the guest_cfg options, split
    guest_cfg "$name" $o
    log "creating guest $name ($(grep -E '^(type|memory|extra|vif)' \
        "$LAB_DIR/$name.cfg" | tr '\n' ' '))"
    t0=$(xts)
    xl create "$LAB_DIR/$name.cfg" > "$LAB_DIR/create-$name.log" 2>&1 ||
        { cat "$LAB_DIR/create-$name.log"; soft_fail "xl create $name failed"; return 1; }
    wait_marker "$name" "LAB-TICK $ticks " "$to" ||
        { guest_log "$name" | tail -n 5; soft_fail "guest $name: no tick $ticks within ${to}s"; return 1; }
    result create_s "$(elapsed "$t0")"
    log "guest $name up (domid $(xl domid "$name"), $(elapsed "$t0")s)"
}

# console_sees NAME PATTERN [xl|xm]: what an admin sees attaching to the
# guest's console (`xl console NAME`, or xend's `xm console NAME`, held
# open for 5 s) has a line matching PATTERN (grep -E); its output in
# $LAB_DIR/console-NAME.log.  xenconsole returns at the end of its stdin,
# hence the sleep in front.
console_sees() {
    sleep 8 | timeout 5 "${3:-xl}" console "$1" > "$LAB_DIR/console-$1.log" 2>&1
    grep -qE "$2" "$LAB_DIR/console-$1.log"
}

# qemu_status NAME: the run state of guest NAME's QEMU ("running",
# "paused"), as its monitor reports it
qemu_status() {
    xl qemu-monitor-command "$1" "info status" 2> /dev/null |
        sed -n 's/^VM status: \([a-z-]*\).*/\1/p'
}

# hvm_evidence NAME: into the log, what QEMU and Xen said about an HVM
# guest NAME that did not come up
hvm_evidence() {
    local f
    log_file "$LAB_DIR/create-$1.log" 20
    for f in "/var/log/xen/qemu-dm-$1.log" "/var/log/xen/xl-$1.log"; do
        [ -f "$f" ] && log_file "$f" 30
    done
    xl dmesg | tail -n 30 | while IFS= read -r l; do log "xen: $l"; done
    xl list
}

# guest_alive NAME [N] [TIMEOUT_S]: succeed if guest NAME prints N (2) more
# ticks within TIMEOUT_S (30)
guest_alive() {
    wait_ticks "$1" "${2:-2}" "${3:-30}"
}

# downtime_ms NAME SINCE: the longest stall (ms) guest NAME reported in the
# ticks printed at or after xts time SINCE (minus 1 s). Local only: the rt=
# clock of a guest cannot be compared with another host's dom0.
downtime_ms() {
    guest_log "$1" |
        sed -n 's/.*LAB-TICK [0-9]* rt=\([0-9.]*\) maxgap_ms=\([0-9.]*\).*/\1 \2/p' |
        awk -v t="$2" '$1 >= t - 1 && $2 > m { m = $2 } END { print m + 0 }'
}

# guest_errors NAME: memory corruption the workload detected (0 = none)
guest_errors() {
    guest_log "$1" | sed -n 's/.*LAB-TICK .* errors=\([0-9]*\).*/\1/p' |
        sort -n | tail -n 1 | grep . || echo 0
}

# ---- migration -----------------------------------------------------------

# migrate NAME XL-MIGRATE-ARGS...: run `xl migrate ARGS... NAME ...` as
# given (the guest name must be among ARGS), record migrate_s, keep the
# output in $LAB_DIR/migrate-NAME.log. Returns xl's exit status.
#   migrate g -s "" g "xl migrate-receive"        # localhost, plain pipe
#   migrate g -s "" g "nc $LAB_PEER 8002"          # over TCP
migrate() {
    local name="$1" t0 rc
    shift
    log "xl migrate $*"
    t0=$(xts)
    xl migrate "$@" > "$LAB_DIR/migrate-$name.log" 2>&1
    rc=$?
    result migrate_s "$(elapsed "$t0")"
    log "xl migrate rc=$rc after $(elapsed "$t0")s"
    log_file "$LAB_DIR/migrate-$name.log" 15
    return $rc
}

# migrate_local NAME [--via pipe|ssh|tcp]: live-migrate NAME to this same
# dom0 with stock xl and check it: new domid, same name, still ticking.
# Records migrate_s and downtime_ms. Fails the scenario on any error.
#   pipe: xl migrate -s "" NAME "xl migrate-receive"   (no relay)
#   ssh:  xl migrate -s FAKESSH NAME localhost         (xl's ssh rune)
#   tcp:  xl migrate -s "" NAME "nc 127.0.0.1 8002", receiver behind
#         `nc -ll -p 8002` (two relay processes in the stream's path)
migrate_local() {
    local name="$1" via=pipe d0 d1 t0
    [ "$2" = --via ] && via=$3
    d0=$(xl domid "$name") || fail "no domain $name"
    t0=$(xts)
    case $via in
    pipe) migrate "$name" -s "" "$name" "xl migrate-receive" ;;
    ssh)
        printf '#!/bin/sh\necho "fakessh: $*" >&2\nshift\nexec "$@"\n' \
            > "$LAB_DIR/fakessh"
        chmod +x "$LAB_DIR/fakessh"
        migrate "$name" -s "$LAB_DIR/fakessh" "$name" localhost
        ;;
    tcp)
        start_receiver 8002
        migrate "$name" -s "" "$name" "nc 127.0.0.1 8002"
        ;;
    *) fail "migrate_local: unknown transport $via" ;;
    esac || fail "xl migrate $name ($via) failed"
    d1=$(xl domid "$name") || fail "guest $name gone after migration"
    [ "$d1" != "$d0" ] || fail "domid unchanged ($d0): nothing migrated"
    guest_alive "$name" 2 60 || fail "guest $name stopped ticking after migration"
    result downtime_ms "$(downtime_ms "$name" "$t0")"
    [ "$(guest_errors "$name")" = 0 ] ||
        fail "guest $name saw $(guest_errors "$name") corrupted pages"
    log "migrated $name ($via): domid $d0 -> $d1, guest saw a $(downtime_ms "$name" "$t0") ms stall"
}

# start_receiver PORT: a stock "relocation server" in this dom0: every TCP
# connection on PORT gets its own `xl migrate-receive` (idempotent)
start_receiver() {
    [ -f "/tmp/lab-recv-$1.pid" ] && kill -0 "$(cat "/tmp/lab-recv-$1.pid")" 2> /dev/null && return 0
    printf '#!/bin/sh\nexec xl migrate-receive\n' > /tmp/lab-recv.sh
    chmod +x /tmp/lab-recv.sh
    nc -ll -p "$1" -e /tmp/lab-recv.sh > /dev/null 2>&1 &
    echo $! > "/tmp/lab-recv-$1.pid"
    usleep 300000
}

# net_bytes [IFACE]: bytes sent so far on IFACE (default eth0)
net_bytes() {
    cat "/sys/class/net/${1:-eth0}/statistics/tx_bytes" 2>/dev/null || echo 0
}

# ---- two hosts -----------------------------------------------------------

# on_host a|b: true on that host
on_host() { [ "$LAB_HOST" = "$1" ]; }

# exchange TAG MSG [TIMEOUT_S]: swap one line with the other host; prints
# the peer's line. Both hosts must call it with the same TAG; it is also a
# barrier. Host b listens, host a connects. Returns 1 on timeout, or at
# once when the peer has ended the scenario (its TAG is end-*) while this
# host still waits inside it, so one failing host does not leave the other
# waiting for its whole timeout.
LAB_XPORT=7101
exchange() {
    local tag="$1" msg="$2" to="${3:-600}" end reply
    end=$(($(date +%s) + to))
    if on_host b; then
        printf '%s %s\n' "$tag" "$msg" > /tmp/lab-xchg.msg
        # shellcheck disable=SC2016 # $l: the script's, not ours
        printf '#!/bin/sh\nread -r l\necho "$l" > /tmp/lab-xchg.in\ncat /tmp/lab-xchg.msg\n' \
            > /tmp/lab-xchg.sh
        chmod +x /tmp/lab-xchg.sh
        while [ "$(date +%s)" -lt $end ]; do
            rm -f /tmp/lab-xchg.in
            timeout $((end - $(date +%s) + 1)) nc -l -p $LAB_XPORT \
                -e /tmp/lab-xchg.sh > /dev/null 2>&1
            reply=$(cat /tmp/lab-xchg.in 2> /dev/null)
            case $reply in
            "$tag "*) echo "${reply#"$tag "}"; return 0 ;;
            end-*) case $tag in end-*) ;; *) return 1 ;; esac ;;
            esac
        done
    else
        while [ "$(date +%s)" -lt $end ]; do
            reply=$(printf '%s %s\n' "$tag" "$msg" |
                timeout 20 nc -w 3 "$LAB_PEER" $LAB_XPORT 2> /dev/null)
            case $reply in
            "$tag "*) echo "${reply#"$tag "}"; return 0 ;;
            end-*) case $tag in end-*) ;; *) return 1 ;; esac ;;
            esac
            sleep 1
        done
    fi
    return 1
}

# barrier TAG [TIMEOUT_S]: wait until the other host reaches barrier TAG
barrier() {
    exchange "$1" "at-$1" "${2:-600}" > /dev/null
}
