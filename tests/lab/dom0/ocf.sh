# ocf.sh - drive ocf:relocd:xen as Pacemaker does (sourced after
# /lab/lib.sh and /lab/relocd.sh), for the cluster-* scenarios.
#
# The lab's dom0 has no Corosync/Pacemaker (a busybox initramfs, no
# systemd, no dbus), so pacemaker-execd's part is played here, to the
# letter of its source (lib/services/services_linux.c, add_action_env_vars
# and set_ocf_env_with_prefix, Pacemaker 2.1 as in Debian 12): the agent
# /usr/lib/ocf/resource.d/relocd/xen is exec'd with the action as its only
# argument, in an environment of execd's own (PATH) plus OCF_RA_VERSION_MAJOR
# 1, OCF_RA_VERSION_MINOR 1, OCF_ROOT, OCF_EXIT_REASON_PREFIX,
# OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER, and
# every parameter and meta attribute of the operation as OCF_RESKEY_NAME
# (CRM_meta_timeout in ms, CRM_meta_interval, CRM_meta_name,
# CRM_meta_on_node, and for a move CRM_meta_migrate_source/_target and
# CRM_meta_record_pending, as the scheduler adds them).
#
# ocf_op ACTION EXPECT [NAME=VALUE...]: runs ACTION with the resource's
#   parameters ($OCF_PARAMS, NAME=VALUE a line) plus these, as execd does;
#   fails the scenario unless the exit status is EXPECT.  Output in
#   $LAB_DIR/ocf-N-ACTION.log (N counts the calls; $OCF_LAST), logged.
# shellcheck shell=sh

OCF_AGENT=/usr/lib/ocf/resource.d/relocd/xen
OCF_RSC=vm
OCF_PARAMS=
OCF_N=0

ocf_env() {
    local kv
    echo "PATH=$PATH"
    echo "OCF_RA_VERSION_MAJOR=1"
    echo "OCF_RA_VERSION_MINOR=1"
    echo "OCF_ROOT=/usr/lib/ocf"
    echo "OCF_EXIT_REASON_PREFIX=ocf-exit-reason:"
    echo "OCF_RESOURCE_INSTANCE=$OCF_RSC"
    echo "OCF_RESOURCE_TYPE=xen"
    echo "OCF_RESOURCE_PROVIDER=relocd"
    echo "OCF_RESKEY_CRM_meta_on_node=lab-$LAB_HOST"
    # (Corosync's node ids: 1 and 2)
    case ${LAB_HOST:-a} in a) echo "OCF_RESKEY_CRM_meta_on_node_uuid=1" ;;
    *) echo "OCF_RESKEY_CRM_meta_on_node_uuid=2" ;; esac
    for kv in $OCF_PARAMS "$@"; do echo "OCF_RESKEY_$kv"; done
}

ocf_op() {
    local action="$1" want="$2" out t0 rc
    shift 2
    OCF_N=$((OCF_N + 1))
    out="$LAB_DIR/ocf-$OCF_N-$action.log"
    [ -x "$OCF_AGENT" ] || fail "the agent $OCF_AGENT is not in this lab image"
    [ -f /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ] ||
        fail "no OCF shell functions (resource-agents on the build host)"
    t0=$(xts)
    # env -i: only what execd passes (NAME=VALUE a line: values may hold
    # blanks, never newlines)
    ocf_env CRM_meta_name="$action" "$@" > "$LAB_DIR/ocf.env"
    (
        IFS='
'
        # shellcheck disable=SC2046 # one NAME=VALUE a line
        exec env -i $(cat "$LAB_DIR/ocf.env") "$OCF_AGENT" "$action"
    ) > "$out" 2>&1
    rc=$?
    log "ocf:relocd:xen $action ($*): exit $rc after $(elapsed "$t0")s"
    log_file "$out" 12
    [ "$rc" = "$want" ] || fail "$action: exit $rc, not $want"
    # shellcheck disable=SC2034 # the scenarios read it
    OCF_LAST=$out
}
