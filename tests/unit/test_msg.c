/* test_msg.c - frames and JSON messages: round trips and hostile input. */
#include <stdlib.h>

#include "wire/buf.h"
#include "wire/msg.h"
#include "wire/proto.h"
#include "t.h"

static struct proto_frame frame;
static char why[256];

/* Puts a raw frame with the given payload text, then takes it back. */
static enum proto_err raw(unsigned type, const char *payload)
{
    struct buf *b = buf_new(PROTO_MAX_FRAME + 64);
    enum proto_err e;

    proto_frame_put(b, type, payload, strlen(payload));
    e = proto_frame_take(b, &frame);
    buf_free(b);
    return e;
}

static void test_frames(void)
{
    struct buf *b = buf_new(4 * PROTO_MAX_FRAME);
    static const uint8_t big[] = {0x00, 0x04, 0x00, 0x01, 0, 1, 0, 0};
    static const uint8_t flags[] = {0, 0, 0, 0, 0, 1, 0, 1};
    char *huge = calloc(1, PROTO_MAX_FRAME + 2);

    T_EQ_INT(proto_frame_take(b, &frame), PERR_EOF);
    buf_put(b, "\0\0\0\5\0\1\0", 7); /* truncated header */
    T_EQ_INT(proto_frame_take(b, &frame), PERR_EOF);
    buf_put(b, "\0abc", 4); /* header done, payload short */
    T_EQ_INT(proto_frame_take(b, &frame), PERR_EOF);
    buf_put(b, "de", 2);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, 1);
    T_EQ_STR((char *)frame.payload, "abcde");
    buf_reset(b);
    buf_put(b, big, sizeof(big));
    T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    buf_reset(b);
    buf_put(b, flags, sizeof(flags));
    T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    memset(huge, 'x', PROTO_MAX_FRAME + 1);
    T_EQ_INT(proto_frame_put(b, 1, huge, PROTO_MAX_FRAME + 1), -1);
    buf_reset(b);
    T_EQ_INT(proto_frame_put(b, 1, huge, PROTO_MAX_FRAME), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.len, PROTO_MAX_FRAME);
    free(huge);
    buf_free(b);
}

static void test_hello(void)
{
    struct msg_hello h = {2, 1, "relocd 0.1", "host-a"}, g;
    struct buf *b = buf_new(PROTO_MAX_FRAME);

    T_EQ_INT(msg_put_hello(b, &h), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_OK);
    T_EQ_INT(g.version, 2);
    T_EQ_INT(g.min_version, 1);
    T_EQ_STR(g.host, "host-a");
    buf_free(b);

    raw(PROTO_HELLO, "{\"proto\":\"http\",\"version\":1,\"min_version\":1,"
                     "\"software\":\"x\",\"host\":\"h\"}");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "not a relocd peer") != NULL, "%s", why);
    raw(PROTO_HELLO, "{\"proto\":\"relocd\",\"version\":1,\"min_version\":2,"
                     "\"software\":\"x\",\"host\":\"h\"}");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_HELLO, "{\"proto\":\"relocd\",\"version\":\"1\"}");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "'version'") != NULL, "%s", why);
    raw(PROTO_HELLO, "[1,2]");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_HELLO, "{\"proto\":");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "not JSON") != NULL, "%s", why);
    raw(PROTO_MIGRATE, "{}");
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "expected HELLO, got MIGRATE") != NULL, "%s", why);
}

static void test_depth_and_nul(void)
{
    char deep[200];
    struct msg_hello g;

    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = 0;
    raw(PROTO_HELLO, deep);
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "deeply") != NULL, "%s", why);
    raw(PROTO_HELLO, "{\"proto\":\"relocd\"}");
    frame.payload[3] = 0;
    T_EQ_INT(msg_get_hello(&frame, &g, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "NUL") != NULL, "%s", why);
}

static void test_error_and_result(void)
{
    struct buf *b = buf_new(PROTO_MAX_FRAME);
    struct msg_preflight_result r = {.ok = 1}, r2;
    struct msg_error err;

    T_EQ_INT(msg_put_error(b, PERR_BUSY, "%d migrations running", 2), 0);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_error(&frame, &err, why, sizeof(why)), PERR_OK);
    T_EQ_INT(err.code, PERR_BUSY);
    T_EQ_STR(err.message, "2 migrations running");
    raw(PROTO_ERROR, "{\"code\":\"martian\",\"message\":\"m\"}");
    T_EQ_INT(msg_get_error(&frame, &err, why, sizeof(why)), PERR_OK);
    T_EQ_INT(err.code, PERR_INTERNAL);
    /* an ERROR that says "ok" does not read as success */
    raw(PROTO_ERROR, "{\"code\":\"ok\",\"message\":\"m\"}");
    T_EQ_INT(msg_get_error(&frame, &err, why, sizeof(why)), PERR_OK);
    T_EQ_INT(err.code, PERR_INTERNAL);

    msg_check_add(&r, "memory", 1, "need %d MiB, have %d MiB", 192, 800);
    msg_check_add(&r, "name", 0, "a domain named %s exists", "g1");
    T_EQ_INT(r.ok, 0);
    msg_put_preflight_result(b, &r);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(r2.nchecks, 2);
    T_EQ_INT(r2.ok, 0);
    T_EQ_STR(r2.checks[1].message, "a domain named g1 exists");
    T_EQ_INT(r2.mem_known, 0);
    /* the optional free-memory pair: round trip, old servers, garbage */
    r.mem_known = 1;
    r.free_kb = 8ULL << 30;
    r.need_kb = 196608;
    msg_put_preflight_result(b, &r);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)), PERR_OK);
    T_OK(r2.mem_known && r2.free_kb == 8ULL << 30 && r2.need_kb == 196608,
         "free %llu need %llu", (unsigned long long)r2.free_kb,
         (unsigned long long)r2.need_kb);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],"
                                "\"free_kb\":-1,\"need_kb\":1}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],\"free_kb\":1}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[1]}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    /* the optional shared disks: absent when none, indices, garbage */
    msg_put_preflight_result(b, &r);
    proto_frame_take(b, &frame);
    T_OK(!memmem(frame.payload, frame.len, "shared", 6), "shared sent");
    r.shared = 1u << 0 | 1u << 7;
    msg_put_preflight_result(b, &r);
    proto_frame_take(b, &frame);
    T_OK(memmem(frame.payload, frame.len, "\"shared\":[0,7]", 14) != NULL,
         "%.*s", (int)frame.len, frame.payload);
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(r2.shared, 1u << 0 | 1u << 7);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],\"shared\":[8]}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],\"shared\":[1,1]}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],\"shared\":[-1]}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    raw(PROTO_PREFLIGHT_RESULT, "{\"ok\":true,\"checks\":[],\"shared\":\"0\"}");
    T_EQ_INT(msg_get_preflight_result(&frame, &r2, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    buf_free(b);
}

static void test_migrate_and_preflight(void)
{
    struct msg_migrate m = {.mode = "xl-stream",
                            .nflags = 2,
                            .flags = {"-e", "-p"}},
                       m2;
    struct msg_preflight p = {.config = "{\"c_info\":{}}", .live = 1}, p2;
    struct buf *b = buf_new(PROTO_MAX_FRAME);

    msg_put_migrate(b, &m);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(m2.nflags, 2);
    T_EQ_STR(m2.flags[1], "-p");
    raw(PROTO_MIGRATE, "{\"mode\":\"xl-stream\",\"flags\":[\"-e\",2]}");
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_MIGRATE, "{\"mode\":\"xl-stream\",\"flags\":[\"0123456789abcdef"
                       "0123\"]}");
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_MIGRATE, "{\"mode\":\"xl-stream\",\"flags\":[\"a\",\"a\",\"a\","
                       "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}");
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_BAD_MESSAGE);

    msg_put_preflight(b, &p);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_preflight(&frame, &p2, why, sizeof(why)), PERR_OK);
    T_EQ_STR(p2.config, "{\"c_info\":{}}");
    T_EQ_INT(p2.live, 1);
    msg_preflight_clear(&p2);
    msg_put_accept(b);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_accept(&frame, why, sizeof(why)), PERR_OK);
    buf_free(b);
}

/* The guest's CPU policy in PREFLIGHT: exact round trip, strict bounds. */
static void test_cpu_policy(void)
{
    static struct msg_cpu_policy cpu;
    struct msg_preflight p = {.config = "{}", .live = 1, .cpu = &cpu}, p2;
    struct buf *b = buf_new(PROTO_MAX_FRAME);
    unsigned i;

    cpu.nleaves = MSG_MAX_CPUID_LEAVES;
    for (i = 0; i < cpu.nleaves; i++)
        cpu.leaves[i] = (struct msg_cpuid_leaf){i, 0xffffffffu, 0xdeadbeef,
                                                i, 0,           0x80000000u};
    cpu.nmsrs = 2;
    cpu.msrs[0] = (struct msg_msr){0xce, 0, 0x8000000000000001ULL};
    cpu.msrs[1] = (struct msg_msr){0x10a, 1, 0xffffffffffffffffULL};
    T_EQ_INT(msg_put_preflight(b, &p), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &p2, why, sizeof(why)), PERR_OK);
    T_OK(p2.cpu != NULL, "no policy");
    if (p2.cpu) {
        T_EQ_INT(p2.cpu->nleaves, MSG_MAX_CPUID_LEAVES);
        T_EQ_INT(p2.cpu->leaves[7].leaf, 7);
        T_OK(p2.cpu->leaves[7].subleaf == 0xffffffffu, "subleaf");
        T_OK(p2.cpu->leaves[300].a == 0xdeadbeef, "a");
        T_EQ_INT(p2.cpu->nmsrs, 2);
        T_OK(p2.cpu->msrs[0].val == 0x8000000000000001ULL, "msr value");
        T_OK(p2.cpu->msrs[1].val == 0xffffffffffffffffULL, "msr value");
    }
    msg_preflight_clear(&p2);
    T_OK(p2.cpu == NULL && p2.config == NULL, "cleared");
    buf_free(b);

    raw(PROTO_PREFLIGHT, "{\"config\":\"{}\",\"live\":true}");
    T_EQ_INT(msg_get_preflight(&frame, &p2, why, sizeof(why)), PERR_OK);
    T_OK(p2.cpu == NULL, "no cpu member, no policy");
    msg_preflight_clear(&p2);
    static const char *const bad[] = {
        "\"cpu\":7",
        "\"cpu\":{\"msr\":[]}",
        "\"cpu\":{\"cpuid\":[],\"msr\":{}}",
        "\"cpu\":{\"cpuid\":[[0,0,0,0,0]],\"msr\":[]}",
        "\"cpu\":{\"cpuid\":[[0,0,0,0,0,4294967296]],\"msr\":[]}",
        "\"cpu\":{\"cpuid\":[[0,0,0,0,0,-1]],\"msr\":[]}",
        "\"cpu\":{\"cpuid\":[[0,0,0,0,0,\"0\"]],\"msr\":[]}",
        "\"cpu\":{\"cpuid\":[],\"msr\":[[1,2,3]]}",
    };
    char text[256];
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"config\":\"{}\",\"live\":true,%s}",
                 bad[i]);
        raw(PROTO_PREFLIGHT, text);
        T_EQ_INT(msg_get_preflight(&frame, &p2, why, sizeof(why)),
                 PERR_BAD_MESSAGE);
        T_OK(p2.cpu == NULL && p2.config == NULL, "freed on error: %s", bad[i]);
    }
    T_EQ_STR(why, "'cpu.msr' entry 0 is not 4 numbers of 32 bits");
}

/* What the user left out stays out, so the daemon's configuration decides. */
static void test_ctl_migrate_defaults(void)
{
    struct buf *b = buf_new(PROTO_MAX_FRAME + 64);
    struct msg_ctl_migrate m = {.domain = "g1",
                                .target = "host-b",
                                .ssl = -1,
                                .live = 1,
                                .bandwidth_mbps = -1,
                                .on_no_converge = CONVERGE_THROTTLE};
    struct msg_ctl_migrate got;

    T_EQ_INT(msg_put_ctl_migrate(b, &m), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_OK(!strstr((char *)frame.payload, "max_downtime_ms") &&
             !strstr((char *)frame.payload, "bandwidth_mbps") &&
             !strstr((char *)frame.payload, "on_no_converge"),
         "defaults left out: %s", (char *)frame.payload);
    T_EQ_INT(msg_get_ctl_migrate(&frame, &got, why, sizeof(why)), PERR_OK);
    T_EQ_INT(got.max_downtime_ms, 0);
    T_EQ_INT(got.bandwidth_mbps, -1);
    T_EQ_INT(got.converge_set, 0);
    T_EQ_INT(got.via_set, 0);

    m.max_downtime_ms = 100;
    m.bandwidth_mbps = 0; /* unlimited, chosen */
    m.converge_set = 1;
    m.on_no_converge = CONVERGE_ABORT;
    buf_reset(b);
    T_EQ_INT(msg_put_ctl_migrate(b, &m), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_ctl_migrate(&frame, &got, why, sizeof(why)), PERR_OK);
    T_EQ_INT(got.max_downtime_ms, 100);
    T_EQ_INT(got.bandwidth_mbps, 0);
    T_OK(got.converge_set && got.on_no_converge == CONVERGE_ABORT, "abort");

    T_EQ_INT(raw(PROTO_CTL_MIGRATE, "{\"domain\":\"g\",\"target\":\"h\","
                                    "\"port\":0,\"ssl\":-1,\"live\":true,"
                                    "\"timeout_s\":0,"
                                    "\"on_no_converge\":\"later\"}"),
             PERR_OK);
    T_EQ_INT(msg_get_ctl_migrate(&frame, &got, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    T_EQ_STR(why, "unknown on_no_converge 'later'");
    buf_free(b);
}

/* MIGRATE's optional "anatomy", and the ANATOMY frame it asks for. */
static void test_anatomy(void)
{
    struct msg_migrate m = {.mode = "xl-stream"}, m2;
    struct msg_anatomy a = {{150000, MSG_ANATOMY_UNKNOWN, 40000}}, a2;
    struct buf *b = buf_new(PROTO_MAX_FRAME);

    /* Not asked: not on the wire, so an old server sees the old MIGRATE. */
    msg_put_migrate(b, &m);
    proto_frame_take(b, &frame);
    T_OK(strstr((char *)frame.payload, "anatomy") == NULL, "%s",
         (char *)frame.payload);
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(m2.anatomy, 0);
    m.anatomy = 1;
    msg_put_migrate(b, &m);
    proto_frame_take(b, &frame);
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(m2.anatomy, 1);
    raw(PROTO_MIGRATE, "{\"mode\":\"xl-stream\",\"flags\":[],"
                       "\"anatomy\":1}");
    T_EQ_INT(msg_get_migrate(&frame, &m2, why, sizeof(why)), PERR_BAD_MESSAGE);

    msg_put_anatomy(b, &a);
    proto_frame_take(b, &frame);
    T_EQ_INT(frame.type, PROTO_ANATOMY);
    T_EQ_STR((char *)frame.payload,
             "{\"restore_us\":150000,\"start_us\":40000}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(a2.us[MSG_ANAT_RESTORE], 150000);
    T_EQ_INT(a2.us[MSG_ANAT_GO_WAIT], MSG_ANATOMY_UNKNOWN);
    T_EQ_INT(a2.us[MSG_ANAT_START], 40000);
    /* Empty is fine (a target that saw nothing); unknown members too. */
    raw(PROTO_ANATOMY, "{\"later_us\":5}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_OK);
    T_EQ_INT(a2.us[MSG_ANAT_RESTORE], MSG_ANATOMY_UNKNOWN);
    /* Typed and bounded: no negatives, fractions, strings or eternities. */
    raw(PROTO_ANATOMY, "{\"restore_us\":-1}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_EQ_STR(why, "'restore_us' is not an integer from 0 to 86400000000");
    raw(PROTO_ANATOMY, "{\"start_us\":1.5}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_ANATOMY, "{\"go_wait_us\":\"7\"}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_BAD_MESSAGE);
    raw(PROTO_ANATOMY, "{\"restore_us\":1,\"start_us\":86400000001}");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_EQ_INT(a2.us[MSG_ANAT_RESTORE], MSG_ANATOMY_UNKNOWN);
    raw(PROTO_ANATOMY, "[1]");
    T_EQ_INT(msg_get_anatomy(&frame, &a2, why, sizeof(why)), PERR_BAD_MESSAGE);
    /* Another type is not an ANATOMY. */
    raw(PROTO_ACCEPT, "{}");
    T_OK(msg_get_anatomy(&frame, &a2, why, sizeof(why)) != PERR_OK, "type");
    T_EQ_STR(proto_type_name(PROTO_ANATOMY), "ANATOMY");
    buf_free(b);
}

/* --copy-storage: PREFLIGHT's disks, MIGRATE's tokens, the ctl's maps. */
static void test_disks(void)
{
    static struct msg_preflight p, q;
    struct msg_migrate m = {.mode = "xl-stream", .ntokens = 2}, n;
    struct msg_ctl_migrate c = {.domain = "g",
                                .target = "t",
                                .copy_storage = 1,
                                .paused = 1,
                                .nmaps = 1},
                           d;
    struct buf *b = buf_new(PROTO_MAX_FRAME + 64);
    const char *tok = "0123456789abcdef0123456789abcdef";

    p.config = "{}";
    p.ndisks = 1;
    snprintf(p.disks[0].path, sizeof(p.disks[0].path), "/srv/g.img");
    p.disks[0].size = 1 << 20;
    p.disks[0].allocated = 4096;
    msg_put_preflight(b, &p);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_OK);
    T_EQ_INT(q.ndisks, 1);
    T_EQ_STR(q.disks[0].path, "/srv/g.img");
    T_EQ_INT(q.disks[0].size, 1 << 20);
    T_EQ_INT(q.disks[0].allocated, 4096);
    T_EQ_STR(q.disks[0].id, "");
    msg_preflight_clear(&q);
    /* the source disk's identity: sent when it has one, bounded */
    snprintf(p.disks[0].id, sizeof(p.disks[0].id), "nbd:nbd://h:10809/x");
    msg_put_preflight(b, &p);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_OK);
    T_EQ_STR(q.disks[0].id, "nbd:nbd://h:10809/x");
    msg_preflight_clear(&q);
    p.disks[0].id[0] = 0;
    {
        char text[600], id[300];

        memset(id, 'x', sizeof(id) - 1);
        id[sizeof(id) - 1] = 0;
        snprintf(text, sizeof(text),
                 "{\"config\":\"{}\",\"live\":true,\"disks\":[{\"path\":"
                 "\"/a\",\"size\":512,\"allocated\":0,\"id\":\"%s\"}]}",
                 id);
        T_EQ_INT(raw(PROTO_PREFLIGHT, text), PERR_OK);
        T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)),
                 PERR_BAD_MESSAGE);
        msg_preflight_clear(&q);
    }
    /* no disks: nothing on the wire, as an older sender */
    p.ndisks = 0;
    msg_put_preflight(b, &p);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_OK(!memmem(frame.payload, frame.len, "disks", 5), "disks sent");
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_OK);
    T_EQ_INT(q.ndisks, 0);
    msg_preflight_clear(&q);
    T_EQ_INT(raw(PROTO_PREFLIGHT, "{\"config\":\"{}\",\"live\":true,"
                                  "\"disks\":[{\"path\":\"rel.img\","
                                  "\"size\":512,\"allocated\":0}]}"),
             PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_EQ_INT(raw(PROTO_PREFLIGHT, "{\"config\":\"{}\",\"live\":true,"
                                  "\"disks\":[{\"path\":\"/a\","
                                  "\"size\":512,\"allocated\":1024}]}"),
             PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_EQ_INT(raw(PROTO_PREFLIGHT, "{\"config\":\"{}\",\"live\":true,"
                                  "\"disks\":[{\"path\":\"/a\","
                                  "\"size\":1000,\"allocated\":0}]}"),
             PERR_OK);
    T_EQ_INT(msg_get_preflight(&frame, &q, why, sizeof(why)), PERR_BAD_MESSAGE);

    snprintf(m.tokens[0], sizeof(m.tokens[0]), "%s", tok);
    snprintf(m.tokens[1], sizeof(m.tokens[1]), "%s", tok);
    msg_put_migrate(b, &m);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_migrate(&frame, &n, why, sizeof(why)), PERR_OK);
    T_EQ_INT(n.ntokens, 2);
    T_EQ_STR(n.tokens[1], tok);
    T_EQ_INT(raw(PROTO_MIGRATE, "{\"mode\":\"disk\",\"flags\":[],"
                                "\"disks\":[\"../../etc/passwd\"]}"),
             PERR_OK);
    T_EQ_INT(msg_get_migrate(&frame, &n, why, sizeof(why)), PERR_BAD_MESSAGE);
    T_EQ_INT(msg_token_ok(tok), 1);
    T_EQ_INT(msg_token_ok("0123456789ABCDEF0123456789abcdef"), 0);

    snprintf(c.maps[0].src, sizeof(c.maps[0].src), "/a.img");
    snprintf(c.maps[0].dst, sizeof(c.maps[0].dst), "/b.img");
    msg_put_ctl_migrate(b, &c);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(msg_get_ctl_migrate(&frame, &d, why, sizeof(why)), PERR_OK);
    T_EQ_INT(d.copy_storage, 1);
    T_EQ_INT(d.paused, 1);
    T_EQ_INT(d.nmaps, 1);
    T_EQ_STR(d.maps[0].dst, "/b.img");
    buf_free(b);
}

int main(void)
{
    test_disks();
    test_ctl_migrate_defaults();
    test_cpu_policy();
    test_frames();
    test_hello();
    test_depth_and_nul();
    test_error_and_result();
    test_migrate_and_preflight();
    test_anatomy();
    T_EQ_STR(proto_err_name(PERR_BAD_FLAGS), "bad-flags");
    T_EQ_INT(proto_err_from_name("busy"), PERR_BUSY);
    T_EQ_INT(proto_err_from_name("eof"), PERR_INTERNAL);
    return t_done("test_msg");
}
