/*
 * json.h - building JSON objects with yajl, for messages and events.
 */
#ifndef RELOCD_JSON_H
#define RELOCD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

/* A generator with an object opened, or NULL on ENOMEM (callers may pass it
 * on). */
yajl_gen json_begin(void);
void json_str(yajl_gen g, const char *s);
void json_kv_str(yajl_gen g, const char *k, const char *v);
void json_kv_int(yajl_gen g, const char *k, long long v);
void json_kv_num(yajl_gen g, const char *k, double v);
void json_kv_bool(yajl_gen g, const char *k, int v);
/*
 * Closes the object; the text and its length point into g, valid until
 * json_free().
 * Returns 0, or -1 when the generator failed.
 */
int json_end(yajl_gen g, const unsigned char **text_r, size_t *len_r);
void json_free(yajl_gen g);

/*
 * 1 when the len bytes at p nest [ and { (outside strings) deeper than
 * max, else 0.  Decoders of untrusted JSON check it before yajl, which
 * accepts any depth and frees its trees recursively.
 */
int json_too_deep(const uint8_t *p, size_t len, int max);

#endif
