/*
 * sxp.h - reader for the S-expressions of xend-config.sxp, with the syntax
 * and quirks of xend's own parser (tools/python/xen/xend/sxp.py, Xen 4.4),
 * and line numbers on every node for "FILE:LINE: message" errors.
 *
 * Syntax, as sxp.py: `( )` lists; '...' and "..." strings with backslash
 * escapes; bare atoms; `#` comments to the end of the line; ' \t\n\v\f\r'
 * separate elements.  sxp.c explains each quirk at the code mirroring it.
 */
#ifndef RELOCD_SXP_H
#define RELOCD_SXP_H

#include <stddef.h>

#include "config/diag.h"

#define SXP_MAX_SIZE (1024 * 1024) /* bytes of input */
#define SXP_MAX_DEPTH 64           /* lists open at once */
#define SXP_MAX_NODES 100000       /* atoms, strings and lists */

enum sxp_type {
    SXP_ATOM,   /* bare word: xend-relocation-port, 8002, yes */
    SXP_STRING, /* quoted, escapes decoded */
    SXP_LIST,
};

struct sxp_node {
    enum sxp_type type;
    int line;               /* 1-based line where the node starts */
    size_t len;             /* ATOM/STRING: bytes in text; LIST: children */
    struct sxp_node *next;  /* next sibling */
    struct sxp_node *child; /* LIST: first child */
    char text[];            /* ATOM/STRING: NUL-terminated; LIST: "" */
};

/* sxp.c */

/*
 * Parses len bytes of text (NULs included: they are an error) into
 * *root_r, a SXP_LIST whose children are the top-level values in order,
 * like sxp.parse().  filename (NULL: "<input>") prefixes every message.
 * Warnings about input xend accepted but probably misread (an unknown
 * escape, which xend turned into a lone backslash) go to opts, NULL being
 * stderr.  Returns 0, or -1 with errno set (EINVAL for bad input, EFBIG,
 * ENOMEM) and "FILE:LINE: message" in err.  The caller frees *root_r with
 * sxp_free().
 */
int sxp_parse_opts(const char *text, size_t len, const char *filename,
                   const struct conf_opts *opts, struct sxp_node **root_r,
                   char *err, size_t errlen);

/* sxp_parse_opts() with warnings on stderr. */
int sxp_parse(const char *text, size_t len, const char *filename,
              struct sxp_node **root_r, char *err, size_t errlen);

/* Frees node, its children and its following siblings; NULL is fine. */
void sxp_free(struct sxp_node *node);

/*
 * Lookups with the semantics of sxp.py's functions of the same name.
 * Strings and atoms are alike here, as both were Python strings to xend:
 * ('xend-relocation-port' 8002) sets the port as well.
 */

/*
 * name(): an atom's or string's own text, a list's first element when
 * that is an atom or a string.  Returns NULL otherwise (empty list, list
 * headed by a list).
 */
const char *sxp_name(const struct sxp_node *node);

/*
 * children(): the first element of a list after its name, skipping an
 * attribute list `(@ ...)` right after the name.  Returns NULL when there
 * is none or node is not a list; walk the rest with ->next.
 */
const struct sxp_node *sxp_children(const struct sxp_node *node);

/*
 * The first list in the sibling chain starting at first whose name is
 * name, or NULL.  sxp.child(x, name) is sxp_find(sxp_children(x), name);
 * xend's config lookups are sxp_find(root->child, name), since
 * XendOptionsFile put the name 'xend-config' in front of the file's values.
 */
const struct sxp_node *sxp_find(const struct sxp_node *first, const char *name);

/* child(): sxp_find(sxp_children(node), name). */
const struct sxp_node *sxp_child(const struct sxp_node *node, const char *name);

/* child_at(): the index'th of sxp_children(node), or NULL. */
const struct sxp_node *sxp_child_at(const struct sxp_node *node, size_t index);

/*
 * child_value(): the first value of the first child list named name, so
 * the first occurrence of a duplicated key wins.  Returns NULL when there
 * is no such child or it has no value ("(key)"): the caller's default.
 */
const struct sxp_node *sxp_child_value(const struct sxp_node *node,
                                       const char *name);

#endif
