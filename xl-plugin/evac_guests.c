/*
 * evac_guests.c - the guests xl-relocate evacuate has to move: every
 * domain `xl list -l` shows, with the libxl configuration it prints for
 * each (the JSON libxl_retrieve_domain_configuration() gives, which is
 * what pre-flight reads).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "xl-plugin/evacuate.h"

/* xl list -l of a few hundred guests is a few MiB; more is not xl. */
#define EVAC_MAX_LIST (64 << 20)

/* All of xl list -l's output, NUL-terminated and malloc'd; or NULL. */
static char *read_xl_list(void)
{
    FILE *p = popen("xl list -l", "r");
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap), *bigger;
    size_t n;

    while (p && text && (n = fread(text + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 < cap) continue;
        bigger = cap < EVAC_MAX_LIST ? realloc(text, cap * 2) : NULL;
        if (!bigger) {
            free(text);
            text = NULL;
            break;
        }
        text = bigger;
        cap *= 2;
    }
    if (!p || pclose(p) != 0) {
        fprintf(stderr, "xl-relocate: 'xl list -l' failed; is this a "
                        "Xen dom0?\n");
        free(text);
        return NULL;
    }
    if (text) text[len] = '\0';
    return text;
}

/* Writes v, any JSON value, into g. */
static void gen_value(yajl_gen g, yajl_val v)
{
    size_t i;

    if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
            const char *k = YAJL_GET_OBJECT(v)->keys[i];

            yajl_gen_string(g, (const unsigned char *)k, strlen(k));
            gen_value(g, YAJL_GET_OBJECT(v)->values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
            gen_value(g, YAJL_GET_ARRAY(v)->values[i]);
        yajl_gen_array_close(g);
    } else if (YAJL_IS_STRING(v) && YAJL_GET_STRING(v)) {
        const char *str = YAJL_GET_STRING(v);

        yajl_gen_string(g, (const unsigned char *)str, strlen(str));
    } else if (YAJL_IS_NUMBER(v)) {
        /* The number as xl printed it: 64-bit values stay exact. */
        yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
    } else {
        yajl_gen_null(g);
    }
}

/* The config object as compact JSON text, malloc'd; NULL on ENOMEM. */
static char *config_text(yajl_val config)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *text;
    size_t len;
    char *copy = NULL;

    if (!g) return NULL;
    gen_value(g, config);
    if (yajl_gen_get_buf(g, &text, &len) == yajl_gen_status_ok)
        copy = strndup((const char *)text, len);
    yajl_gen_free(g);
    return copy;
}

/* Not a guest of this host to move: dom0 and the two halves of a move. */
static int skip_domain(long long domid, const char *name)
{
    static const char *const suffixes[] = {"--incoming", "--migratedaway"};
    size_t i, n = strlen(name), sl;

    if (domid == 0 || !strcmp(name, "Domain-0")) return 1;
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        sl = strlen(suffixes[i]);
        if (n > sl && !strcmp(name + n - sl, suffixes[i])) return 1;
    }
    return 0;
}

static uint64_t config_kb(yajl_val config, const char *key)
{
    const char *path[] = {"b_info", key, NULL};
    yajl_val v = yajl_tree_get(config, path, yajl_t_number);

    return v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0
               ? (uint64_t)YAJL_GET_INTEGER(v)
               : 0;
}

/* One element of xl list -l's array: {"domid":N,"config":{...}}. */
static int add_guest(struct evac *ev, yajl_val dom)
{
    const char *dpath[] = {"domid", NULL}, *cpath[] = {"config", NULL};
    const char *npath[] = {"c_info", "name", NULL};
    yajl_val domid = yajl_tree_get(dom, dpath, yajl_t_number);
    yajl_val config = yajl_tree_get(dom, cpath, yajl_t_object);
    yajl_val name = config ? yajl_tree_get(config, npath, yajl_t_string) : NULL;
    struct evac_guest *g;

    if (!domid || !name) return 0;
    if (skip_domain(YAJL_GET_INTEGER(domid), YAJL_GET_STRING(name))) return 0;
    if (ev->nguests >= EVAC_MAX_GUESTS) {
        fprintf(stderr, "xl-relocate: more than %d guests here\n",
                EVAC_MAX_GUESTS);
        return -1;
    }
    g = &ev->guests[ev->nguests];
    snprintf(g->name, sizeof(g->name), "%s", YAJL_GET_STRING(name));
    g->mem_kb = config_kb(config, "max_memkb");
    if (!g->mem_kb) g->mem_kb = config_kb(config, "target_memkb");
    g->host = -1;
    g->fd = -1;
    if (!(g->config = config_text(config))) return -1;
    ev->nguests++;
    return 0;
}

int evac_list_guests(struct evac *ev)
{
    char *text = read_xl_list(), err[256] = "out of memory";
    yajl_val root;
    size_t i;
    int rc = 0;

    if (!text) return -1;
    if (!ev->guests) ev->guests = calloc(EVAC_MAX_GUESTS, sizeof(*ev->guests));
    /* Nothing at all is no domain xl could describe: none to move. */
    if (ev->guests && !text[strspn(text, " \t\n")]) {
        free(text);
        return 0;
    }
    root = ev->guests ? yajl_tree_parse(text, err, sizeof(err)) : NULL;
    free(text);
    if (!root || !YAJL_IS_ARRAY(root)) {
        fprintf(stderr, "xl-relocate: cannot read 'xl list -l': %s\n",
                root ? "not a JSON array" : err);
        yajl_tree_free(root);
        return -1;
    }
    for (i = 0; rc == 0 && i < YAJL_GET_ARRAY(root)->len; i++)
        rc = add_guest(ev, YAJL_GET_ARRAY(root)->values[i]);
    yajl_tree_free(root);
    return rc;
}

void evac_clear(struct evac *ev)
{
    unsigned i;

    for (i = 0; ev->guests && i < ev->nguests; i++)
        free(ev->guests[i].config);
    free(ev->guests);
    ev->guests = NULL;
    ev->nguests = 0;
}
