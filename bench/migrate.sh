#!/bin/bash
# bench/migrate.sh - `make bench`: real migrations in one lab boot (Xen 4.17
# under QEMU, tests/lab), stock xl against xl-relocate. See bench/README.md.
#
#   BUILD=build bench/migrate.sh
#
# Environment:
#   BENCH_REPS=3            migrations of each case per load
#   BENCH_CASES="ssh tcp pipe xlr-tls xlr-md100 xlr-pipe"   (also: nc,
#                           xlr-pipe-mdN: xlr-pipe with --max-downtime N)
#   BENCH_LOADS="idle dirty16 dirty32"     idle | dirtyN | rateN
#   BENCH_MEM=128           guest memory, MiB (the guest kernel needs ~80 of it: keep dirtyN <= MEM - 96)
#   BENCH_STREAM=1          show dom0's progress live (tests/lab/run --stream)
#   BENCH_FROM=DIR          no run: report an earlier run's lab results dir
# Output: the table on stdout, progress on stderr, and
# bench/results/migrate-<UTC timestamp>.json (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=SCRIPTDIR/lablib.sh
. "$HERE/lablib.sh"
export BUILD=${BUILD:-$REPO/build}
LAB_CACHE=${LAB_CACHE:-/var/tmp/relocd-lab}
TS=$(date -u +%Y%m%dT%H%M%SZ)
list() { echo "$1" | tr ' ' ',' | tr -s ',' | sed 's/^,//; s/,$//'; }
REPS=${BENCH_REPS:-3}
CASES=$(list "${BENCH_CASES:-ssh tcp pipe xlr-tls xlr-md100 xlr-pipe}")
LOADS=$(list "${BENCH_LOADS:-idle dirty16 dirty32}")
MEM=${BENCH_MEM:-128}
OUT=$HERE/results/migrate-$TS.json
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

case $REPS in '' | *[!0-9]*) echo "bench: BENCH_REPS must be a number" >&2; exit 2 ;; esac
for c in ${CASES//,/ }; do
    case $c in ssh | tcp | nc | pipe | xlr-tls | xlr-md100 | xlr-pipe | xlr-pipe-md[0-9]*) ;;
    *) echo "bench: unknown case $c (ssh tcp nc pipe xlr-tls xlr-md100 xlr-pipe xlr-pipe-mdN)" >&2; exit 2 ;;
    esac
done
for l in ${LOADS//,/ }; do
    case $l in idle | dirty[0-9]* | rate[0-9]*) ;;
    *) echo "bench: unknown load $l (idle, dirtyN, rateN)" >&2; exit 2 ;;
    esac
done

if [ -n "${BENCH_FROM:-}" ]; then
    RES=$BENCH_FROM
    LOADAVG=
else
    [ "$(id -u)" = 0 ] || { echo "bench: the lab needs root" >&2; exit 2; }
    case $CASES in *xlr*)
        [ -x "$BUILD/relocd" ] && [ -x "$BUILD/xl-relocate" ] ||
            { echo "bench: no $BUILD/relocd or xl-relocate: run make first" >&2; exit 2; } ;;
    esac
    RES=$LAB_CACHE/results/bench-migrate-$TS
    echo "bench: $REPS rep(s) of [$CASES] per load [$LOADS], ${MEM} MiB PVH guest;" \
        "lab results in $RES" >&2
    echo "bench: a full run takes about an hour under TCG (BENCH_REPS=1 BENCH_LOADS=idle ~10 min)" >&2
    bench_lab "$RES" \
        --set "BENCH_REPS=$REPS" --set "BENCH_CASES=$CASES" \
        --set "BENCH_LOADS=$LOADS" --set "BENCH_MEM=$MEM" bench-migrate
fi
bench_logs "$RES"
BENCH_TS=$TS BENCH_LAB_RESULTS=$RES \
    BENCH_LOADAVG=$LOADAVG \
    BENCH_CPU=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)" x $(nproc)" \
    python3 "$HERE/migrate-report.py" "$OUT" "${logs[@]}"
