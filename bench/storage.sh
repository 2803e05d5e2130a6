#!/bin/bash
# bench/storage.sh - `make bench-storage`: block migration in one lab boot
# (Xen 4.17 under QEMU, tests/lab), xl-relocate --copy-storage against what
# an admin does without relocd (xl save, rsync --sparse, xl restore).
# See bench/README.md.
#
#   BUILD=build bench/storage.sh
#
# Environment:
#   BENCH_LOADS="idle light heavy"   the guest's disk writer
#   BENCH_ALLOCS="10 100"            percent of the disk allocated
#   BENCH_MEM=112  BENCH_DISK=64     guest memory, disk size (MiB)
#   BENCH_HEAVY=2                    the heavy writer's MiB/s
#   BENCH_MEMONLY=1                  0: no memory-only reference move
#   BENCH_TCP="idle"                 loads also moved over plain TCP ("none")
#   LAB_CPU=qemu64,+npt,+aes,...     the lab CPU: with AES-NI, as servers have
#   BENCH_STREAM=1                   show dom0's progress live
#   BENCH_FROM=DIR                   no run: report an earlier run's results dir
# Output: the table on stdout, progress on stderr, and
# bench/results/storage-<UTC timestamp>.json (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=SCRIPTDIR/lablib.sh
. "$HERE/lablib.sh"
export BUILD=${BUILD:-$REPO/build}
LAB_CACHE=${LAB_CACHE:-/var/tmp/relocd-lab}
TS=$(date -u +%Y%m%dT%H%M%SZ)
list() { echo "$1" | tr ' ' ',' | tr -s ',' | sed 's/^,//; s/,$//'; }
LOADS=$(list "${BENCH_LOADS:-idle light heavy}")
ALLOCS=$(list "${BENCH_ALLOCS:-10 100}")
MEM=${BENCH_MEM:-112}
DISK=${BENCH_DISK:-64}
HEAVY=${BENCH_HEAVY:-2}
MEMONLY=${BENCH_MEMONLY:-1}
TCP=$(list "${BENCH_TCP:-idle}")
OUT=$HERE/results/storage-$TS.json
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

for l in ${LOADS//,/ }; do
    case $l in idle | light | heavy) ;;
    *) echo "bench: unknown load $l (idle light heavy)" >&2; exit 2 ;;
    esac
done
for a in ${ALLOCS//,/ } $MEM $DISK; do
    case $a in '' | *[!0-9]*) echo "bench: $a is not a number" >&2; exit 2 ;; esac
done

if [ -n "${BENCH_FROM:-}" ]; then
    RES=$BENCH_FROM
    LOADAVG=
else
    [ "$(id -u)" = 0 ] || { echo "bench: the lab needs root" >&2; exit 2; }
    [ -x "$BUILD/relocd" ] && [ -x "$BUILD/xl-relocate" ] ||
        { echo "bench: no $BUILD/relocd or xl-relocate: run make first" >&2; exit 2; }
    RES=$LAB_CACHE/results/bench-storage-$TS
    echo "bench: loads [$LOADS] x allocation [$ALLOCS] %, ${MEM} MiB PVH guest," \
        "${DISK} MiB disk; lab results in $RES (about 25 min under TCG)" >&2
    # dom0's files are in its RAM, and the peer holds the save file twice
    # (source and target) beside the images: more than the lab's 768 MiB
    export LAB_MEM=${LAB_MEM:-2048} LAB_DOM0_MEM=${LAB_DOM0_MEM:-1280M}
    bench_server_cpu
    bench_lab "$RES" \
        --set "BENCH_LOADS=$LOADS" --set "BENCH_ALLOCS=$ALLOCS" \
        --set "BENCH_MEM=$MEM" --set "BENCH_DISK=$DISK" \
        --set "BENCH_HEAVY=$HEAVY" --set "BENCH_MEMONLY=$MEMONLY" \
        --set "BENCH_TCP=$TCP" bench-storage
fi
bench_logs "$RES"
mkdir -p "$HERE/results"
BENCH_TS=$TS BENCH_LAB_RESULTS=$RES BENCH_LOADAVG=$LOADAVG \
    BENCH_CPU=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)" x $(nproc)" \
    python3 "$HERE/storage-report.py" "$OUT" "${logs[@]}"
