/*
 * test_floor.c - the downtime floor (relocd/floor.c): what one move's
 * anatomy says of it, the file a target keeps it in, and how moves teach
 * it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relocd/floor.h"
#include "t.h"

static char dir[] = "/tmp/test_floor.XXXXXX";

/* A whole anatomy: suspend 300, final copy 80, END 1, restore 400,
 * rename 60, go 2, start 40: floor 802 ms. */
static void whole(struct anatomy *a)
{
    static const double ms[ANAT_NPHASES] = {300, 80, 1, 400, 60, 2, 40};
    unsigned i;

    anat_init(a);
    for (i = 0; i < ANAT_NPHASES; i++)
        a->ms[i] = ms[i];
}

static void test_of_move(void)
{
    struct anatomy a;

    whole(&a);
    T_OK(floor_of_move(&a) == 802, "floor %.1f", floor_of_move(&a));
    /* a move that failed before the target's report teaches nothing */
    a.ms[ANAT_START] = -1;
    T_OK(floor_of_move(&a) == -1, "partial anatomy gave %.1f",
         floor_of_move(&a));
    whole(&a);
    a.ms[ANAT_RESTORE] = FLOOR_MAX_MS + 1;
    T_OK(floor_of_move(&a) == -1, "a stuck restore is not a floor");
}

static void test_path(void)
{
    char p[64];

    T_EQ_INT(floor_path("/d", "host-b.example:8003", p, sizeof(p)), 0);
    T_EQ_STR(p, "/d/host-b.example:8003");
    /* a path, a space, a newline: never a way out of the directory */
    T_EQ_INT(floor_path("/d", "../etc/x y\n", p, sizeof(p)), 0);
    T_EQ_STR(p, "/d/.._etc_x_y_");
    T_EQ_INT(floor_path("/d", "..", p, sizeof(p)), -1);
    T_EQ_INT(floor_path("/d", "", p, sizeof(p)), -1);
    T_EQ_INT(floor_path("/d",
                        "a-name-too-long-for-the-buffer-of-this-test-"
                        "by-far-really-by-far",
                        p, sizeof(p)),
             -1);
}

static void test_parse(void)
{
    struct floor f = {812.25, 3}, g;
    char text[64];

    T_OK(floor_format(&f, text, sizeof(text)) > 0, "format");
    T_EQ_STR(text, "812.2 3\n");
    T_EQ_INT(floor_parse(text, &g), 0);
    T_OK(g.ms == 812.2 && g.moves == 3, "%.1f %u", g.ms, g.moves);
    T_EQ_INT(floor_parse("700 1", &g), 0);
    T_EQ_INT(floor_parse("", &g), -1);
    T_EQ_INT(floor_parse("700", &g), -1);
    T_EQ_INT(floor_parse("700 0\n", &g), -1);
    T_EQ_INT(floor_parse("-5 1\n", &g), -1);
    T_EQ_INT(floor_parse("nan 1\n", &g), -1);
    T_EQ_INT(floor_parse("1e9 1\n", &g), -1);
    T_EQ_INT(floor_parse("700 -1\n", &g), -1);
    T_EQ_INT(floor_parse("700 2x\n", &g), -1);
    T_EQ_INT(floor_parse("700 2\n9 9\n", &g), -1);
    T_EQ_INT(floor_format(&f, text, 4), -1);
}

static void test_learn(void)
{
    char sub[sizeof(dir) + 8], p[128];
    struct floor f;

    snprintf(sub, sizeof(sub), "%s/floor", dir);
    T_EQ_INT(floor_load(sub, "b", &f), -1);
    T_OK(f.ms == 0 && f.moves == 0, "nothing known is zero");
    T_EQ_INT(floor_learn(sub, "b", 800, &f), 0);
    T_OK(f.ms == 800 && f.moves == 1, "%.1f %u", f.ms, f.moves);
    T_EQ_INT(floor_learn(sub, "b", 400, &f), 0);
    T_OK(f.ms == 600 && f.moves == 2, "%.1f %u", f.ms, f.moves);
    T_EQ_INT(floor_load(sub, "b", &f), 0);
    T_OK(f.ms == 600 && f.moves == 2, "%.1f %u", f.ms, f.moves);
    /* targets are apart */
    T_EQ_INT(floor_load(sub, "c", &f), -1);
    T_EQ_INT(floor_learn(sub, "b", -1, &f), -1);
    T_EQ_INT(errno, EINVAL);
    /* a damaged file is nothing known, and the next move rewrites it */
    snprintf(p, sizeof(p), "%s/b", sub);
    T_OK(truncate(p, 3) == 0, "truncate");
    T_EQ_INT(floor_load(sub, "b", &f), -1);
    T_EQ_INT(floor_learn(sub, "b", 500, &f), 0);
    T_OK(f.ms == 500 && f.moves == 1, "%.1f %u", f.ms, f.moves);
    /* a symbolic link planted there is not followed */
    snprintf(p, sizeof(p), "%s/c", sub);
    T_OK(symlink("/etc/passwd", p) == 0, "symlink");
    T_EQ_INT(floor_load(sub, "c", &f), -1);
    T_EQ_INT(floor_learn(sub, "c", 500, &f), 0);
    T_OK(system("grep -q root /etc/passwd") == 0, "/etc/passwd untouched");
    /* no temporary file left behind */
    snprintf(p, sizeof(p), "ls %s | grep -c . | grep -qx 2", sub);
    T_OK(system(p) == 0, "only b and c in %s", sub);
}

int main(void)
{
    char cmd[64];

    if (!mkdtemp(dir)) return 1;
    test_of_move();
    test_path();
    test_parse();
    test_learn();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return t_done("test_floor");
}
