/*
 * guestnet.c - a guest's vifs from its libxl JSON configuration.
 *
 * libxl_domain_config's JSON (libxl_types.idl): "c_info": {"uuid": ...},
 * "nics": [{"mac": "00:16:3e:..", "bridge": "xenbr0", "ip": "a.b.c.d ..."}].
 * A running domain's configuration has every vif's MAC filled in; its
 * bridge may be absent, meaning libxl's default.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "tunnel/garp.h"
#include "tunnel/guestnet.h"

static const char *jstr(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

/* The first IPv4 address of libxl's space-separated "ip" list. */
static int first_ip4(const char *list, struct in_addr *ip)
{
    char word[64];
    size_t n;

    if (!list) return 0;
    list += strspn(list, " ");
    n = strcspn(list, " ");
    if (n == 0 || n >= sizeof(word)) return 0;
    memcpy(word, list, n);
    word[n] = '\0';
    return inet_pton(AF_INET, word, ip) == 1;
}

static int nic_parse(yajl_val o, unsigned i, struct guestnet_nic *nic,
                     char *err, size_t errlen)
{
    const char *mac = jstr(o, "mac"), *br = jstr(o, "bridge");

    if (!YAJL_IS_OBJECT(o)) {
        snprintf(err, errlen, "vif %u: not a JSON object", i);
        return -1;
    }
    if (!mac || garp_parse_mac(mac, nic->mac) < 0) {
        snprintf(err, errlen, "vif %u: no valid MAC address", i);
        return -1;
    }
    if (!br || !*br) br = GUESTNET_DEFAULT_BRIDGE;
    if (strlen(br) >= sizeof(nic->bridge) || strchr(br, '/')) {
        snprintf(err, errlen, "vif %u: bad bridge name", i);
        return -1;
    }
    snprintf(nic->bridge, sizeof(nic->bridge), "%s", br);
    nic->has_ip = first_ip4(jstr(o, "ip"), &nic->ip);
    return 0;
}

static int nics_parse(yajl_val root, struct guestnet *gn, char *err,
                      size_t errlen)
{
    const char *path[] = {"nics", NULL};
    yajl_val nics = yajl_tree_get(root, path, yajl_t_array);
    size_t i;

    if (!nics) return 0; /* a guest without vifs */
    if (YAJL_GET_ARRAY(nics)->len > GUESTNET_MAX_NICS) {
        snprintf(err, errlen, "more than %d vifs", GUESTNET_MAX_NICS);
        return -1;
    }
    for (i = 0; i < YAJL_GET_ARRAY(nics)->len; i++) {
        if (nic_parse(YAJL_GET_ARRAY(nics)->values[i], (unsigned)i,
                      &gn->nic[gn->n], err, errlen) < 0)
            return -1;
        gn->n++;
    }
    return 0;
}

int guestnet_parse(const char *json, size_t len, struct guestnet *gn, char *err,
                   size_t errlen)
{
    const char *upath[] = {"c_info", "uuid", NULL};
    char *text, jerr[128];
    const char *u;
    yajl_val root, uuid;
    int rc;

    memset(gn, 0, sizeof(*gn));
    /* yajl_tree_parse() wants a NUL-terminated text. */
    if (!(text = malloc(len + 1))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(text, json, len);
    text[len] = '\0';
    root = yajl_tree_parse(text, jerr, sizeof(jerr));
    free(text);
    if (!root || !YAJL_IS_OBJECT(root)) {
        snprintf(err, errlen, "not a domain configuration");
        yajl_tree_free(root);
        return -1;
    }
    uuid = yajl_tree_get(root, upath, yajl_t_string);
    u = uuid ? YAJL_GET_STRING(uuid) : NULL;
    if (u && strlen(u) < sizeof(gn->uuid))
        snprintf(gn->uuid, sizeof(gn->uuid), "%s", u);
    rc = nics_parse(root, gn, err, errlen);
    yajl_tree_free(root);
    return rc;
}
