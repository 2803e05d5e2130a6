/*
 * evacuate.h - xl-relocate evacuate: what its files share.
 *
 *   evac_guests.c  this host's guests, from xl list -l
 *   evac_plan.c    pre-flight against every candidate, placement
 *   evacuate.c     the command: plan, moves N at a time, the table
 */
#ifndef XL_EVACUATE_H
#define XL_EVACUATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config/conf.h"

struct opts;

#define EVAC_MAX_HOSTS 16
#define EVAC_MAX_GUESTS 256
#define EVAC_WHY 200
/* A target refusing for relocd-max-migrations: wait, then try it again. */
#define EVAC_BUSY_RETRIES 60

struct evac_host {
    char target[CONF_MAX_HOST + 1]; /* HOST[:PORT] */
    char down[EVAC_WHY];            /* why it could not be asked; "" */
    int mem_known;                  /* its pre-flight told free_kb */
    uint64_t free_kb, planned_kb;
    int running; /* our migrations to it in flight */
};

enum evac_state {
    EV_WAIT,    /* has a host, not started */
    EV_RUNNING, /* a child follows its migration */
    EV_DONE,    /* runs on its host */
    EV_FAILED,  /* tried every host that fits; still here */
    EV_NOWHERE, /* no host fits: never tried */
};

struct evac_guest {
    char name[128];
    char *config;    /* libxl JSON text, malloc'd */
    uint64_t mem_kb; /* its config's max_memkb: the order of placement */
    int fits[EVAC_MAX_HOSTS];           /* that host's pre-flight passed */
    uint64_t need_kb[EVAC_MAX_HOSTS];   /* of that host's free memory */
    char why[EVAC_MAX_HOSTS][EVAC_WHY]; /* that host's refusal */
    int tried[EVAC_MAX_HOSTS];
    int host;        /* planned or current host, -1 */
    int failed_host; /* EV_FAILED: the last host it failed on */
    enum evac_state state;
    char result[EVAC_WHY];
    double t_start, secs, not_before;
    int busy_retries;
    pid_t pid;
    int fd; /* the child's result message, or -1 */
};

struct evac {
    struct evac_host hosts[EVAC_MAX_HOSTS];
    unsigned nhosts;
    struct evac_guest *guests; /* calloc'd: evac_clear() */
    unsigned nguests;
    int limit_s;     /* --time-limit or relocd-evacuate-on-shutdown; 0 */
    double deadline; /* clock_s() when it runs out; 0: never */
};

/* evac_guests.c */

/*
 * Adds this host's guests to ev, as `xl list -l` shows them: not Domain-0,
 * not a copy still arriving (NAME--incoming) or one left behind by a move
 * (NAME--migratedaway).  Returns 0, or -1 after saying why.
 */
int evac_list_guests(struct evac *ev);
/* Frees what ev holds; ev itself is the caller's. */
void evac_clear(struct evac *ev);

/* evac_plan.c */

/* HOST[,HOST...] (commas or spaces) into ev's hosts; 0, or -1 after
 * saying why. */
int evac_add_hosts(struct evac *ev, const char *list);
/* Pre-flights every guest against every host; touches nothing. */
void evac_preflight(struct evac *ev, const struct opts *o,
                    const struct relocd_conf *conf);
/* Sorts the guests biggest first and gives each the host with the most
 * free memory left that fits it. */
void evac_place(struct evac *ev);
/*
 * After a failed move of g: the next host that fits and was not tried,
 * with the planned memory moved over.  Returns 1 when there is one.
 */
int evac_replace(struct evac *ev, struct evac_guest *g);
/* Prints the plan; returns how many guests have no host. */
unsigned evac_print_plan(const struct evac *ev, FILE *f);

#endif
