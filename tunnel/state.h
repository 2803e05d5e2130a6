/*
 * state.h - the tunnel state file (state.c): its text, and its copy on
 * disk.  The manager (manager.h) holds the lock around every use.
 */
#ifndef RELOCD_TUNNEL_STATE_H
#define RELOCD_TUNNEL_STATE_H

#include <stddef.h>

#include "tunnel/tunnel.h"

/* Parses a state file's text into st (tunnel_state_clear() frees). */
int tunnel_state_parse(const char *text, size_t len, struct tunnel_state *st,
                       char *err, size_t errlen);
/* The text of st, malloc'd into *text_r (the caller frees). */
int tunnel_state_format(const struct tunnel_state *st, char **text_r,
                        size_t *len_r);
/* Frees st's tunnels and empties it. */
void tunnel_state_clear(struct tunnel_state *st);
/*
 * Reads the state file at path into st (tunnel_state_clear() frees); a
 * file that does not exist is an empty state.
 */
int tunnel_state_load(const char *path, struct tunnel_state *st, char *err,
                      size_t errlen);
/* Replaces the file at path by st's text: a new file, fsync, rename. */
int tunnel_state_save(const char *path, const struct tunnel_state *st,
                      char *err, size_t errlen);

#endif
