/*
 * sxp.c - the S-expression reader (see sxp.h).
 *
 * xend read its config with the character-at-a-time state machine of
 * tools/python/xen/xend/sxp.py (class Parser, Xen 4.4).  This is the same
 * grammar as a loop over a bounded buffer with an explicit stack of open
 * lists, so no input can recurse deeply or run us out of memory.  Every
 * oddity of sxp.py that a real file could rely on is mirrored, with the
 * sxp.py function it comes from; the few places where we refuse what xend
 * accepted (or the reverse) say DEVIATION.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/sxp.h"

#define SXP_EOT 0x04 /* ^D */

struct sxp_parser {
    const char *p, *end;
    const char *file;
    int line;
    int depth;    /* lists open now; open[0] is the root */
    size_t nodes; /* allocated so far, against SXP_MAX_NODES */
    struct sxp_node *open[SXP_MAX_DEPTH + 1];
    struct sxp_node *last[SXP_MAX_DEPTH + 1]; /* last child of open[i] */
    char *buf;                                /* string being decoded */
    size_t buflen, bufcap;
    const struct conf_opts *opts;
    char *err;
    size_t errlen;
};

/* "FILE:LINE: ..." errors (-1, errno EINVAL) and warnings. */
#define sxp_err(ps, line, ...)                                                 \
    diag_errf_at((ps)->err, (ps)->errlen, (ps)->file, line, __VA_ARGS__)
#define sxp_warn(ps, line, ...)                                                \
    diag_warnf_at((ps)->opts, (ps)->file, line, __VA_ARGS__)

static int sxp_nomem(struct sxp_parser *ps)
{
    sxp_err(ps, ps->line, "out of memory");
    errno = ENOMEM;
    return -1;
}

/* Says what an unknown escape became, and how to write what was meant. */
static void sxp_unknown_escape(struct sxp_parser *ps, int c)
{
    if (c > 0x20 && c < 0x7f)
        sxp_warn(ps, ps->line,
                 "unknown escape '\\%c' reads as '\\', without the '%c', "
                 "as in xend; write '\\\\%c' for '\\%c'",
                 c, c, c, c);
    else
        sxp_warn(ps, ps->line,
                 "unknown escape: a backslash and code %d read as '\\', "
                 "as in xend",
                 c);
}

/* sxp.py in_space_class() */
static int sxp_is_space(int c)
{
    return c && strchr(" \t\n\v\f\r", c);
}

/* sxp.py is_separator(): these end an atom (but may start one) */
static int sxp_is_sep(int c)
{
    return c && strchr("{}()<>[];", c);
}

static int sxp_put(struct sxp_parser *ps, int c)
{
    if (ps->buflen == ps->bufcap) {
        size_t cap = ps->bufcap ? ps->bufcap * 2 : 64;
        char *nbuf = realloc(ps->buf, cap);

        if (!nbuf) return sxp_nomem(ps);
        ps->buf = nbuf;
        ps->bufcap = cap;
    }
    ps->buf[ps->buflen++] = (char)c;
    return 0;
}

/* Appends a new node to the innermost open list; NULL on error. */
static struct sxp_node *sxp_add(struct sxp_parser *ps, enum sxp_type type,
                                int line, const char *text, size_t len)
{
    struct sxp_node *node, *parent = ps->open[ps->depth];

    if (ps->nodes >= SXP_MAX_NODES) {
        sxp_err(ps, line, "more than %d elements", SXP_MAX_NODES);
        return NULL;
    }
    node = calloc(1, sizeof(*node) + len + 1);
    if (!node) {
        sxp_nomem(ps);
        return NULL;
    }
    ps->nodes++;
    node->type = type;
    node->line = line;
    node->len = len;
    if (len) memcpy(node->text, text, len);
    if (ps->last[ps->depth])
        ps->last[ps->depth]->next = node;
    else
        parent->child = node;
    ps->last[ps->depth] = node;
    parent->len++;
    return node;
}

/* sxp.py state_comment(): to the end of the line, even inside a list. */
static int sxp_comment(struct sxp_parser *ps)
{
    while (ps->p < ps->end && *ps->p != '\n')
        ps->p++;
    return 0;
}

static int sxp_open(struct sxp_parser *ps)
{
    struct sxp_node *list;

    if (ps->depth == SXP_MAX_DEPTH)
        return sxp_err(ps, ps->line, "lists nested deeper than %d levels",
                       SXP_MAX_DEPTH);
    list = sxp_add(ps, SXP_LIST, ps->line, NULL, 0);
    if (!list) return -1;
    ps->depth++;
    ps->open[ps->depth] = list;
    ps->last[ps->depth] = NULL;
    ps->p++;
    return 0;
}

/* sxp.py state_start() raises "syntax error: )" at the top level. */
static int sxp_close(struct sxp_parser *ps)
{
    if (!ps->depth)
        return sxp_err(ps, ps->line, "syntax error: unexpected ')'");
    ps->depth--;
    ps->p++;
    return 0;
}

/*
 * sxp.py begin_atom()/state_atom(): the first character is taken whatever
 * it is, then the atom runs to a space, a separator or '#'.  So a separator
 * other than a paren starts an atom ("a;b" is a and ;b, "[a]" is [a and ]),
 * quotes and backslashes inside an atom are plain characters, and '#' ends
 * the atom and comments out the rest of the line, a ')' there included.
 */
static int sxp_atom(struct sxp_parser *ps)
{
    const char *start = ps->p++;

    for (; ps->p < ps->end; ps->p++) {
        int c = (unsigned char)*ps->p;

        /* DEVIATION: sxp.py kept a NUL inside an atom; C strings can't */
        if (!c) return sxp_err(ps, ps->line, "NUL byte in atom");
        if (sxp_is_space(c) || sxp_is_sep(c) || c == '#') break;
    }
    if (!sxp_add(ps, SXP_ATOM, ps->line, start, (size_t)(ps->p - start)))
        return -1;
    return 0;
}

static int sxp_unterminated(struct sxp_parser *ps, int line)
{
    return sxp_err(ps, line, "unterminated string (end of file inside it)");
}

/* A decoded escape yielding a NUL: DEVIATION, as in sxp_atom(). */
static int sxp_put_escaped(struct sxp_parser *ps, int c)
{
    if (!c)
        return sxp_err(ps, ps->line,
                       "escape yields a NUL byte, which is not supported");
    return sxp_put(ps, c);
}

/*
 * sxp.py state_hex(): exactly two hex digits, with two bugs of sxp.py kept.
 * It adds ord(c) - ord('A') (or 'a') for a letter, without the + 10, so
 * A-F and a-f count as 0-5: '\xff' is 'U' (0x55).  And on a character that
 * is not a hex digit it evaluates an undefined name (NameError), which
 * aborted xend's config loading: an error here too.
 */
static int sxp_hex(struct sxp_parser *ps, int line)
{
    int v = 0, letters = 0, i;

    for (i = 0; i < 2; i++, ps->p++) {
        int c;

        if (ps->p == ps->end) return sxp_unterminated(ps, line);
        c = (unsigned char)*ps->p;
        if (c >= '0' && c <= '9') {
            v = v * 16 + (c - '0');
        } else if ((c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')) {
            v = v * 16 + ((c | 0x20) - 'a');
            letters = 1;
        } else {
            return sxp_err(ps, ps->line,
                           "invalid hex escape: \\x needs two hex digits");
        }
    }
    if (letters)
        sxp_warn(ps, ps->line,
                 "hex escape '\\x%.2s' reads as code %d, as in xend, whose "
                 "sxp.py took hex digits a-f for 0-5",
                 ps->p - 2, v);
    return sxp_put_escaped(ps, v);
}

/*
 * sxp.py state_octal(): one to three octal digits; a value over 0xff is
 * "invalid octal escape: out of range"; after fewer than three digits the
 * next character is read as usual ('\1x' is code 1 then 'x').
 */
static int sxp_octal(struct sxp_parser *ps)
{
    const char *start = ps->p;
    int v = 0;

    while (ps->p < ps->end && ps->p - start < 3 && *ps->p >= '0' &&
           *ps->p <= '7')
        v = v * 8 + (*ps->p++ - '0');
    if (v > 0xff)
        return sxp_err(ps, ps->line, "invalid octal escape: out of range %.3s",
                       start);
    return sxp_put_escaped(ps, v);
}

/*
 * sxp.py state_escape(): \a \b \t \n \v \f \r \\ \' \" (both quotes in
 * either kind of string), \xHH, octal.  Any other character after the
 * backslash: "ignore escape if it doesn't match anything we know", which in
 * fact appends the backslash and drops the character, so '\.' reads as a
 * lone '\'.  That is why xend's sample writes '^localhost\\.localdomain$'.
 * Kept, with a warning, as a file written for xend means what xend read.
 */
static int sxp_escape(struct sxp_parser *ps, int line)
{
    static const char from[] = "abtnvfr\\'\"", to[] = "\a\b\t\n\v\f\r\\'\"";
    const char *e;
    int c;

    if (ps->p == ps->end) return sxp_unterminated(ps, line);
    c = (unsigned char)*ps->p;
    if (c && (e = strchr(from, c))) {
        ps->p++;
        return sxp_put(ps, to[e - from]);
    }
    if (c == 'x') {
        ps->p++;
        return sxp_hex(ps, line);
    }
    if (c >= '0' && c <= '7') return sxp_octal(ps);
    ps->p++;
    sxp_unknown_escape(ps, c);
    if (c == '\n') ps->line++;
    return sxp_put(ps, '\\');
}

/*
 * sxp.py state_string(): any character up to the same quote, newlines
 * included; a backslash starts an escape; end of file is an error.
 */
static int sxp_string(struct sxp_parser *ps)
{
    int delim = (unsigned char)*ps->p++, line = ps->line, rc;

    ps->buflen = 0;
    for (;;) {
        int c;

        if (ps->p == ps->end) return sxp_unterminated(ps, line);
        c = (unsigned char)*ps->p++;
        if (c == delim) break;
        if (c == '\\') {
            rc = sxp_escape(ps, line);
        } else if (!c) {
            return sxp_err(ps, ps->line, "NUL byte in string"); /* ditto */
        } else {
            if (c == '\n') ps->line++;
            rc = sxp_put(ps, c);
        }
        if (rc < 0) return -1;
    }
    if (!sxp_add(ps, SXP_STRING, line, ps->buf, ps->buflen)) return -1;
    return 0;
}

/*
 * sxp.py state_start(): ^D where an element could start means end of
 * input.  At the top level the rest is ignored; inside a list that is
 * "unexpected EOF".  Returns 1 to stop.
 */
static int sxp_eot(struct sxp_parser *ps)
{
    const char *q;

    if (ps->depth)
        return sxp_err(ps, ps->line,
                       "end of input (^D) inside the list opened at line %d",
                       ps->open[ps->depth]->line);
    for (q = ps->p + 1; q < ps->end; q++) {
        if (!sxp_is_space((unsigned char)*q)) {
            sxp_warn(ps, ps->line, "text after ^D ignored, as xend did");
            break;
        }
    }
    return 1;
}

/*
 * sxp.py state_start()/state_list(): one step where an element may start.
 * Returns 0 to go on, 1 to stop, -1 on error.
 */
static int sxp_step(struct sxp_parser *ps)
{
    int c = (unsigned char)*ps->p;

    if (c == '\n') {
        ps->line++;
        ps->p++;
        return 0;
    }
    if (sxp_is_space(c)) {
        ps->p++;
        return 0;
    }
    if (c == '#') return sxp_comment(ps);
    if (c == '(') return sxp_open(ps);
    if (c == ')') return sxp_close(ps);
    if (c == '"' || c == '\'') return sxp_string(ps);
    if (c > 0x20 && c < 0x7f) /* string.printable, spaces already taken */
        return sxp_atom(ps);
    if (c == SXP_EOT) return sxp_eot(ps);
    return sxp_err(ps, ps->line, "invalid character: code %d", c);
}

/*
 * The loop over the whole input.  DEVIATION: sxp.py only noticed an open
 * list at end of file when the file ended with a newline or a space; when
 * it ended inside an atom or a comment ("(a b" with no newline) the
 * unfinished list was dropped without a word, and a truncated file ran on
 * defaults.  Here an open list at end of file is always an error.
 */
static int sxp_run(struct sxp_parser *ps)
{
    int rc = 0;

    while (rc == 0 && ps->p < ps->end)
        rc = sxp_step(ps);
    if (rc < 0) return -1;
    if (ps->depth)
        return sxp_err(ps, ps->open[ps->depth]->line,
                       "unexpected end of file: list opened here is not "
                       "closed");
    return 0;
}

int sxp_parse_opts(const char *text, size_t len, const char *filename,
                   const struct conf_opts *opts, struct sxp_node **root_r,
                   char *err, size_t errlen)
{
    struct sxp_parser ps = {
        .file = filename ? filename : "<input>",
        .line = 1,
        .opts = opts,
        .err = err,
        .errlen = errlen,
    };
    struct sxp_node *root;
    int rc;

    *root_r = NULL;
    if (len > SXP_MAX_SIZE) {
        return diag_errnof(err, errlen, EFBIG, "%s: larger than %d bytes",
                           ps.file, SXP_MAX_SIZE);
    }
    ps.p = text ? text : "";
    ps.end = text ? text + len : ps.p;
    root = calloc(1, sizeof(*root) + 1);
    if (!root) return sxp_nomem(&ps);
    root->type = SXP_LIST;
    root->line = 1;
    ps.open[0] = root;
    rc = sxp_run(&ps);
    free(ps.buf);
    if (rc < 0) {
        int saved = errno;

        sxp_free(root);
        errno = saved;
        return -1;
    }
    *root_r = root;
    return 0;
}

int sxp_parse(const char *text, size_t len, const char *filename,
              struct sxp_node **root_r, char *err, size_t errlen)
{
    return sxp_parse_opts(text, len, filename, NULL, root_r, err, errlen);
}

/* Children recurse; depth is bounded by SXP_MAX_DEPTH. */
void sxp_free(struct sxp_node *node)
{
    while (node) {
        struct sxp_node *next = node->next;

        sxp_free(node->child);
        free(node);
        node = next;
    }
}

const char *sxp_name(const struct sxp_node *node)
{
    if (!node) return NULL;
    if (node->type != SXP_LIST) return node->text;
    if (node->child && node->child->type != SXP_LIST) return node->child->text;
    return NULL;
}

/* sxp.py elementp(node, name): a non-empty list whose first is name. */
static int sxp_is_element(const struct sxp_node *node, const char *name)
{
    return node->type == SXP_LIST && node->child &&
           node->child->type != SXP_LIST && !strcmp(node->child->text, name);
}

const struct sxp_node *sxp_children(const struct sxp_node *node)
{
    const struct sxp_node *kid;

    if (!node || node->type != SXP_LIST || !node->child) return NULL;
    kid = node->child->next;
    if (kid && sxp_is_element(kid, "@")) kid = kid->next;
    return kid;
}

const struct sxp_node *sxp_find(const struct sxp_node *first, const char *name)
{
    for (; first; first = first->next)
        if (sxp_is_element(first, name)) return first;
    return NULL;
}

const struct sxp_node *sxp_child(const struct sxp_node *node, const char *name)
{
    return sxp_find(sxp_children(node), name);
}

const struct sxp_node *sxp_child_at(const struct sxp_node *node, size_t index)
{
    const struct sxp_node *kid = sxp_children(node);

    while (kid && index--)
        kid = kid->next;
    return kid;
}

const struct sxp_node *sxp_child_value(const struct sxp_node *node,
                                       const char *name)
{
    return sxp_children(sxp_child(node, name));
}
