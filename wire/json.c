/*
 * json.c - thin helpers over yajl_gen; strings are not validated as UTF-8
 * because names come from Xen and config files, not from users' keyboards.
 */
#include <math.h>
#include <string.h>

#include "wire/json.h"

yajl_gen json_begin(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g) {
        yajl_gen_config(g, yajl_gen_validate_utf8, 0);
        yajl_gen_map_open(g);
    }
    return g;
}

void json_str(yajl_gen g, const char *s)
{
    if (g) yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void json_kv_str(yajl_gen g, const char *k, const char *v)
{
    json_str(g, k);
    json_str(g, v ? v : "");
}

void json_kv_int(yajl_gen g, const char *k, long long v)
{
    json_str(g, k);
    if (g) yajl_gen_integer(g, v);
}

void json_kv_num(yajl_gen g, const char *k, double v)
{
    json_str(g, k);
    /* yajl refuses NaN and infinities: report them as -1. */
    if (g) yajl_gen_double(g, isfinite(v) ? v : -1);
}

void json_kv_bool(yajl_gen g, const char *k, int v)
{
    json_str(g, k);
    if (g) yajl_gen_bool(g, v);
}

int json_end(yajl_gen g, const unsigned char **text_r, size_t *len_r)
{
    if (!g) return -1;
    yajl_gen_map_close(g);
    return yajl_gen_get_buf(g, text_r, len_r) == yajl_gen_status_ok ? 0 : -1;
}

void json_free(yajl_gen g)
{
    if (g) yajl_gen_free(g);
}

int json_too_deep(const uint8_t *p, size_t len, int max)
{
    int depth = 0, in_str = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                in_str = 0;
        } else if (p[i] == '"') {
            in_str = 1;
        } else if (p[i] == '{' || p[i] == '[') {
            if (++depth > max) return 1;
        } else if (p[i] == '}' || p[i] == ']') {
            depth--;
        }
    }
    return 0;
}
