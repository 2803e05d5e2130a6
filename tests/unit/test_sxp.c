/*
 * test_sxp.c - the S-expression reader against the behaviour of xend's
 * tools/python/xen/xend/sxp.py (Xen 4.4), quirks included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/sxp.h"
#include "t.h"

static int nwarn;
static char lastwarn[512];

static void grab_warn(void *arg, const char *msg)
{
    (void)arg;
    nwarn++;
    snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static const struct conf_opts quiet = {grab_warn, NULL};

/*
 * The tree as text: lists in parens, atoms bare, strings in single quotes
 * as they are (no escaping) except bytes outside printable ASCII as \xNN.
 */
static void dump(FILE *f, const struct sxp_node *n)
{
    const unsigned char *s;

    for (; n; n = n->next) {
        if (n->type == SXP_LIST) {
            fputc('(', f);
            dump(f, n->child);
            fputc(')', f);
        } else {
            if (n->type == SXP_STRING) fputc('\'', f);
            for (s = (const unsigned char *)n->text; *s; s++)
                fprintf(f, (*s >= 0x20 && *s < 0x7f) ? "%c" : "\\x%02x", *s);
            if (n->type == SXP_STRING) fputc('\'', f);
        }
        if (n->next) fputc(' ', f);
    }
}

static char out[8192];

/* Parses text; returns the dump, or "error: " and the message. */
static const char *parse_len(const char *text, size_t len)
{
    struct sxp_node *root = NULL;
    char err[256];
    FILE *f;

    nwarn = 0;
    lastwarn[0] = '\0';
    if (sxp_parse_opts(text, len, "t.sxp", &quiet, &root, err, sizeof(err)) <
        0) {
        snprintf(out, sizeof(out), "error: %s", err);
        return out;
    }
    out[0] = '\0';
    f = fmemopen(out, sizeof(out), "w");
    dump(f, root->child);
    fclose(f);
    sxp_free(root);
    return out;
}

static const char *parse(const char *text)
{
    return parse_len(text, strlen(text));
}

/* xend's own tests/test_sxp.py testAllFromString */
static void test_basic(void)
{
    T_EQ_STR(parse("String"), "String");
    T_EQ_STR(parse("(String Thing)"), "(String Thing)");
    T_EQ_STR(parse("(String) (Thing)"), "(String) (Thing)");
    T_EQ_STR(parse(""), "");
    T_EQ_STR(parse("  \t\n\r\v\f "), "");
    T_EQ_STR(parse("()"), "()");
    T_EQ_STR(parse("(a (b (c d)) ())"), "(a (b (c d)) ())");
    T_EQ_STR(parse("(xend-relocation-port 8002)"),
             "(xend-relocation-port 8002)");
    T_EQ_INT(nwarn, 0);
}

static void test_comments(void)
{
    T_EQ_STR(parse("# only a comment"), "");
    T_EQ_STR(parse("#(a)\n(b) # c\n(d)"), "(b) (d)");
    /* state_atom(): '#' ends an atom and comments out the rest of the line,
     * the ')' with it */
    T_EQ_STR(parse("(a b#c)\n)"), "(a b)");
    T_EQ_STR(parse("(a\n# x)\nb)"), "(a b)");
    /* inside a string, '#' is just a character */
    T_EQ_STR(parse("('#x')"), "('#x')");
}

static void test_atoms(void)
{
    /* begin_atom() takes any first character; separators end atoms */
    T_EQ_STR(parse("a;b"), "a ;b");
    T_EQ_STR(parse("[a]"), "[a ]");
    T_EQ_STR(parse("{x}<y>"), "{x } <y >");
    T_EQ_STR(parse("(a(b)c)"), "(a (b) c)");
    /* quotes and backslashes inside an atom are plain characters */
    T_EQ_STR(parse("(a'b c')"), "(a'b c')");
    T_EQ_STR(parse("(a\\nb)"), "(a\\nb)");
    T_EQ_STR(parse("(/etc/xen/x.key 1.5 -3 @ ~:.-_)"),
             "(/etc/xen/x.key 1.5 -3 @ ~:.-_)");
    /* non-ASCII and control bytes are fine after the first character */
    T_EQ_STR(parse("(a\xc3\xa9)"), "(a\\xc3\\xa9)");
    T_EQ_STR(parse("(a\x01)"), "(a\\x01)");
    T_EQ_STR(parse("(a\x04)"), "(a\\x04)");
    /* a string right after an atom, an atom right after a string */
    T_EQ_STR(parse("('ab'cd)"), "('ab' cd)");
}

static void test_strings(void)
{
    T_EQ_STR(parse("('single' \"double\")"), "('single' 'double')");
    T_EQ_STR(parse("(\"it's\" 'say \"hi\"')"), "('it's' 'say \"hi\"')");
    T_EQ_STR(parse("('')"), "('')");
    T_EQ_STR(parse("('a b  c')"), "('a b  c')");
    T_EQ_STR(parse("('two\nlines')"), "('two\\x0alines')");
    T_EQ_STR(parse("('(not a list)')"), "('(not a list)')");
    T_EQ_INT(nwarn, 0);
}

/* sxp.py's escapes table: \a \b \t \n \v \f \r \\ \' \" */
static void test_escapes_known(void)
{
    T_EQ_STR(parse("('\\a\\b\\t\\n\\v\\f\\r')"),
             "('\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x0d')");
    T_EQ_STR(parse("('a\\\\b')"), "('a\\b')");
    T_EQ_STR(parse("('\\'' \"\\'\")"), "(''' ''')");
    T_EQ_STR(parse("('\\\"' \"\\\"\")"), "('\"' '\"')");
    /* the xend sample's hosts-allow */
    T_EQ_STR(parse("('^localhost$ ^localhost\\\\.localdomain$')"),
             "('^localhost$ ^localhost\\.localdomain$')");
    T_EQ_INT(nwarn, 0);
}

/* state_escape(): an unknown escape appends '\' and drops the character */
static void test_escapes_unknown(void)
{
    T_EQ_STR(parse("('a\\.b')"), "('a\\b')");
    T_EQ_INT(nwarn, 1);
    T_EQ_STR(lastwarn, "t.sxp:1: warning: unknown escape '\\.' reads as "
                       "'\\', without the '.', as in xend; write '\\\\.' "
                       "for '\\.'");
    T_EQ_STR(parse("('\\q')"), "('\\')");
    T_EQ_STR(parse("('\\8\\9')"), "('\\\\')");
    T_EQ_INT(nwarn, 2);
    T_EQ_STR(parse("('\\ x')"), "('\\x')");
    /* backslash-newline: the newline goes, the line still counts */
    T_EQ_STR(parse("('a\\\nb' c)"), "('a\\b' c)");
    T_EQ_STR(parse("('a\\\nb'\n'\\q')"), "('a\\b' '\\')");
    T_OK(strstr(lastwarn, "t.sxp:3: warning") != NULL, "%s", lastwarn);
    /* a NUL after the backslash is dropped too */
    T_EQ_STR(parse_len("('\\\0')", 6), "('\\')");
}

/* state_hex(): two digits; a-f count as 0-5; anything else is an error */
static void test_escapes_hex(void)
{
    T_EQ_STR(parse("('\\x41\\x39')"), "('A9')");
    T_EQ_INT(nwarn, 0);
    T_EQ_STR(parse("('\\x7e')"), "('t')"); /* 7, then 'e' as 4 */
    T_EQ_STR(parse("('\\xff')"), "('U')");
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "reads as code 85") != NULL, "%s", lastwarn);
    T_EQ_STR(parse("('\\xAB')"), "('\\x01')");
    T_EQ_STR(parse("('\\x4a')"), "('@')");
    T_EQ_STR(parse("('\\x4g')"),
             "error: t.sxp:1: invalid hex escape: \\x needs two hex digits");
    T_EQ_STR(parse("('\\xg')"),
             "error: t.sxp:1: invalid hex escape: \\x needs two hex digits");
    T_EQ_STR(parse("('\\x4')"),
             "error: t.sxp:1: invalid hex escape: \\x needs two hex digits");
    T_EQ_STR(parse("('\\x00')"), "error: t.sxp:1: escape yields a NUL byte, "
                                 "which is not supported");
    T_EQ_STR(parse("('\\xA0')"), "error: t.sxp:1: escape yields a NUL byte, "
                                 "which is not supported");
    T_EQ_STR(parse("('\\x4"),
             "error: t.sxp:1: unterminated string (end of file inside it)");
}

/* state_octal(): one to three digits, at most 0377 */
static void test_escapes_octal(void)
{
    T_EQ_STR(parse("('\\101\\176')"), "('A~')");
    T_EQ_STR(parse("('\\1x')"), "('\\x01x')");
    T_EQ_STR(parse("('\\12')"), "('\\x0a')");
    T_EQ_STR(parse("('\\1234')"), "('S4')");
    T_EQ_STR(parse("('\\377')"), "('\\xff')");
    T_EQ_STR(parse("('\\7\\78')"), "('\\x07\\x078')");
    T_EQ_STR(parse("('\\400')"),
             "error: t.sxp:1: invalid octal escape: out of range 400");
    T_EQ_STR(parse("('\\777')"),
             "error: t.sxp:1: invalid octal escape: out of range 777");
    T_EQ_STR(parse("('\\0')"), "error: t.sxp:1: escape yields a NUL byte, "
                               "which is not supported");
    T_EQ_STR(parse("('\\000')"), "error: t.sxp:1: escape yields a NUL byte, "
                                 "which is not supported");
    T_EQ_INT(nwarn, 0);
}

static void test_lines(void)
{
    struct sxp_node *root = NULL;
    const struct sxp_node *a, *b;
    char err[256];
    const char *text = "\n# c\n(a\n  b 'x\ny'\n  (c)) z\r\n(d\\\n)";

    T_EQ_INT(sxp_parse_opts(text, strlen(text), "t", &quiet, &root, err,
                            sizeof(err)),
             0);
    if (!root) return;
    T_EQ_INT(root->len, 3);
    a = root->child;
    T_EQ_INT(a->line, 3);
    T_EQ_INT(a->len, 4);
    T_EQ_INT(a->child->line, 3);             /* a */
    T_EQ_INT(a->child->next->line, 4);       /* b */
    T_EQ_INT(a->child->next->next->line, 4); /* 'x\ny' starts on 4 */
    T_EQ_INT(a->child->next->next->len, 3);  /* x, newline, y */
    b = a->child->next->next->next;          /* (c) */
    T_EQ_INT(b->line, 6);
    T_EQ_STR(a->next->text, "z");
    T_EQ_INT(a->next->line, 6);
    T_EQ_INT(a->next->next->line, 7);            /* (d\ */
    T_EQ_STR(a->next->next->child->text, "d\\"); /* atoms keep '\' */
    sxp_free(root);
}

/* CR is a space to sxp.py (in_space_class), so CRLF files read as LF. */
static void test_crlf(void)
{
    T_EQ_STR(parse("(a b)\r\n(c 'd')\r\n# x\r\n(e\r\n f)\r\n"),
             "(a b) (c 'd') (e f)");
    T_EQ_STR(parse("(a\r\n"),
             "error: t.sxp:1: unexpected end of file: list opened here is "
             "not closed");
    /* but inside quotes a CR is kept, as xend read the file in binary */
    T_EQ_STR(parse("('a\r\nb')"), "('a\\x0d\\x0ab')");
}

static void test_errors(void)
{
    T_EQ_STR(parse("(a 'b"),
             "error: t.sxp:1: unterminated string (end of file inside it)");
    T_EQ_STR(parse("(a\n\"b\nc"),
             "error: t.sxp:2: unterminated string (end of file inside it)");
    T_EQ_STR(parse("('\\"),
             "error: t.sxp:1: unterminated string (end of file inside it)");
    T_EQ_STR(parse("(a (b)\n"), "error: t.sxp:1: unexpected end of file: "
                                "list opened here is not closed");
    T_EQ_STR(parse("(a\n (b\n"), "error: t.sxp:2: unexpected end of file: "
                                 "list opened here is not closed");
    /* sxp.py dropped these silently (EOF inside an atom or a comment) */
    T_EQ_STR(parse("(a b"), "error: t.sxp:1: unexpected end of file: "
                            "list opened here is not closed");
    T_EQ_STR(parse("(a # b"), "error: t.sxp:1: unexpected end of file: "
                              "list opened here is not closed");
    T_EQ_STR(parse("(a)\n)"), "error: t.sxp:2: syntax error: unexpected ')'");
    T_EQ_STR(parse("x)"), "error: t.sxp:1: syntax error: unexpected ')'");
    T_EQ_STR(parse("(a)\n\x01"), "error: t.sxp:2: invalid character: code 1");
    T_EQ_STR(parse("(\x7f)"), "error: t.sxp:1: invalid character: code 127");
    T_EQ_STR(parse("(a \xc3\xa9)"),
             "error: t.sxp:1: invalid character: code 195");
}

static void test_nul(void)
{
    T_EQ_STR(parse_len("\0", 1), "error: t.sxp:1: invalid character: code 0");
    T_EQ_STR(parse_len("(a\n\0)", 5),
             "error: t.sxp:2: invalid character: code 0");
    T_EQ_STR(parse_len("(ab\0c)", 6), "error: t.sxp:1: NUL byte in atom");
    T_EQ_STR(parse_len("('ab\0c')", 8), "error: t.sxp:1: NUL byte in string");
}

/* state_start(): ^D ends the input; inside a list, "unexpected EOF" */
static void test_eot(void)
{
    T_EQ_STR(parse("(a) \x04 (b"), "(a)");
    T_EQ_INT(nwarn, 1);
    T_EQ_STR(parse("(a)\x04\n"), "(a)");
    T_EQ_INT(nwarn, 0);
    T_EQ_STR(parse("(a \x04)"), "error: t.sxp:1: end of input (^D) inside "
                                "the list opened at line 1");
}

static char *repeat(const char *s, size_t n)
{
    size_t len = strlen(s);
    char *buf = malloc(len * n + 1);
    size_t i;

    for (i = 0; buf && i < n; i++)
        memcpy(buf + i * len, s, len);
    if (buf) buf[len * n] = '\0';
    return buf;
}

static void test_limits(void)
{
    char *open = repeat("(", SXP_MAX_DEPTH), *close = repeat(")", 70);
    char *big = repeat("a ", SXP_MAX_SIZE / 2 + 1);
    char *many = repeat("a ", SXP_MAX_NODES + 1);
    struct sxp_node *root = NULL;
    char text[256], err[256];

    snprintf(text, sizeof(text), "%s%.*s", open, SXP_MAX_DEPTH, close);
    T_EQ_INT(strlen(parse(text)), 2 * SXP_MAX_DEPTH);
    snprintf(text, sizeof(text), "%s(%.*s", open, SXP_MAX_DEPTH + 1, close);
    T_EQ_STR(parse(text), "error: t.sxp:1: lists nested deeper than 64 levels");
    T_EQ_INT(sxp_parse(big, strlen(big), "big", &root, err, sizeof(err)), -1);
    T_EQ_INT(errno, EFBIG);
    T_EQ_STR(err, "big: larger than 1048576 bytes");
    T_OK(root == NULL, "root set on error");
    T_EQ_INT(sxp_parse(many, strlen(many), "m", &root, err, sizeof(err)), -1);
    T_EQ_STR(err, "m:1: more than 100000 elements");
    free(open);
    free(close);
    free(big);
    free(many);
}

static void test_api_edges(void)
{
    struct sxp_node *root = NULL;
    char err[8];

    /* a short buffer truncates, NULL buffer and filename are fine */
    T_EQ_INT(sxp_parse(")", 1, "file.sxp", &root, err, sizeof(err)), -1);
    T_EQ_STR(err, "file.sx");
    T_EQ_INT(errno, EINVAL);
    T_EQ_INT(sxp_parse(")", 1, NULL, &root, NULL, 0), -1);
    T_EQ_INT(sxp_parse(NULL, 0, NULL, &root, NULL, 0), 0);
    T_OK(root && root->type == SXP_LIST && !root->child, "empty root");
    sxp_free(root);
    sxp_free(NULL);
}

static void test_lookup(void)
{
    const char *text = "(xend-relocation-port 8002 9000)\n"
                       "(xend-relocation-port 1234)\n"
                       "('xend-relocation-address' 'eth0')\n"
                       "(empty) (nested (a 1) (a 2)) ((x) y) () atom\n"
                       "(attr (@ (id 5)) value)";
    struct sxp_node *root = NULL;
    const struct sxp_node *n, *v;
    char err[256];

    T_EQ_INT(sxp_parse(text, strlen(text), "t", &root, err, sizeof(err)), 0);
    if (!root) return;
    /* child_value(): the first occurrence and its first value win */
    v = sxp_children(sxp_find(root->child, "xend-relocation-port"));
    T_EQ_STR(v ? v->text : NULL, "8002");
    T_EQ_INT(v ? v->line : 0, 1);
    /* a quoted name is a name: both were Python strings */
    v = sxp_children(sxp_find(root->child, "xend-relocation-address"));
    T_EQ_STR(v ? v->text : NULL, "eth0");
    T_OK(v && v->type == SXP_STRING, "string value");
    /* (empty) is found but has no value: the caller's default */
    T_OK(sxp_find(root->child, "empty") != NULL, "found");
    T_OK(sxp_children(sxp_find(root->child, "empty")) == NULL, "no value");
    T_OK(sxp_find(root->child, "nope") == NULL, "missing");
    T_OK(sxp_find(root->child, "atom") == NULL, "an atom is no element");
    n = sxp_find(root->child, "nested");
    v = sxp_child_value(n, "a");
    T_EQ_STR(v ? v->text : NULL, "1");
    T_OK(sxp_child(n, "a") == n->child->next, "child");
    T_OK(sxp_child_at(n, 1) == n->child->next->next, "child_at");
    T_OK(sxp_child_at(n, 2) == NULL, "child_at past the end");
    /* children() skips an attribute list right after the name */
    n = sxp_find(root->child, "attr");
    T_EQ_STR(sxp_children(n)->text, "value");
    T_EQ_STR(sxp_name(n), "attr");
    T_EQ_STR(sxp_name(sxp_children(n)), "value");
    /* name() of a list headed by a list, of an empty list */
    n = sxp_find(root->child, "empty")->next->next;
    T_OK(sxp_name(n) == NULL, "list-headed list has no name");
    T_OK(sxp_name(n->next) == NULL, "empty list has no name");
    T_OK(sxp_children(n->next) == NULL && sxp_children(NULL) == NULL,
         "no children");
    sxp_free(root);
}

int main(void)
{
    test_basic();
    test_comments();
    test_atoms();
    test_strings();
    test_escapes_known();
    test_escapes_unknown();
    test_escapes_hex();
    test_escapes_octal();
    test_lines();
    test_crlf();
    test_errors();
    test_nul();
    test_eot();
    test_limits();
    test_api_edges();
    test_lookup();
    return t_done("test_sxp");
}
