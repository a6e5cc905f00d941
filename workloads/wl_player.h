/* wl_player: plays a source back in migration time.
 *
 * Applies the trace offset (trace time T maps to playback time T - offset),
 * spreads the events of a coarse trace evenly over their epoch (a run of
 * events sharing one timestamp is spread up to the next distinct timestamp,
 * or the end of the trace period for the last run), and loops the trace
 * when asked (each pass shifted by the trace period, wl_meta_period()).
 * The simulator and kvmreplay's guest both play traces through this, so
 * both see the same access times. Memory: one batch plus the longest run of
 * equal timestamps. */
#ifndef WL_PLAYER_H
#define WL_PLAYER_H

#include "wl_trace.h"

typedef struct wl_player wl_player;

/* `src` is borrowed (the caller closes it after wl_player_free). */
int wl_player_new(wl_source *src, uint64_t offset_ns, int loop, wl_player **out);

/* Fills up to max events (time in ns since playback start, non-decreasing).
 * Returns the count, 0 at the end (only without looping, or for an empty
 * trace), or a negative code from the source. */
long wl_player_read(wl_player *p, wl_event *buf, size_t max);

/* The trace period used for looping (valid after the first pass has been
 * read; before that, the metadata's duration or 0). */
uint64_t wl_player_period(const wl_player *p);

void wl_player_free(wl_player *p);

#endif
