/*
 * build.h - the event builder behind `daqmux server --build`.
 *
 * Every trigger makes one fragment in each of the N sources; fragment k of
 * every source belongs to event k (its DATA sequence number). The builder
 * keeps a fixed ring of W events in flight (--build-window), knows per
 * event which sources have delivered, and emits events strictly in order:
 * complete when all N fragments are in, partial when a missing source can
 * no longer deliver (it ended, or it has moved past the event) or when the
 * event is older than --build-timeout. Building latency is the arrival of
 * an event's last fragment minus its trigger time (the earliest send time
 * stamped in its fragments).
 *
 * Backpressure: a source whose next fragment would fall beyond the ring
 * (W events ahead of the oldest incomplete event) is paused - the backend
 * stops reading it (backend.h: pause/resume) - and resumed as soon as the
 * ring has moved on. Bytes of a paused connection that were already read
 * (the rest of the read that carried the pausing fragment) are kept on the
 * side and fed again on resume; they count as held bytes too.
 *
 * Memory is allocated once: the ring, its bitmaps and, with --write, one
 * fragment buffer per (slot, source) that grows only up to the largest
 * fragment seen (bounded by --max-frame, which the frame assembler
 * enforces before any byte is copied). Fragment buffers are swapped
 * between a connection and the ring, never copied, so steady state has no
 * allocation per event (the summary counts every growth).
 *
 * Threading: one lock guards the ring; it is taken only by backends that
 * read from several threads (and it counts how often it had to wait).
 * A connection's fragment in progress and its kept bytes belong to the
 * thread that reads it. With --write a writer thread of its own does the
 * write()s, so that writing never stalls reading.
 */
#ifndef DAQMUX_BUILD_H
#define DAQMUX_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "proto.h"
#include "server.h"

struct jw;

/* The --write stream: each event is this header, then its fragments as
 * received (32-byte frame header and payload), in ascending source id. */
#define BUILD_EV_MAGIC      0xDA7Eu
#define BUILD_EV_VERSION    1u
#define BUILD_EV_HEADER     24u
#define BUILD_EV_PARTIAL    0x01u

#define BUILD_DEFAULT_WINDOW 64u

/* Set up the builder for s->opt (--build); 0, or -1 after saying why. */
int  build_open(struct server *s);
/* The run is over: emit what is still in flight (as partial events),
 * flush --write. Returns -1 if writing the events failed (said why). */
int  build_finish(struct server *s);
void build_free(struct server *s);

/* conn.c: frame_parse took used bytes of buf, having had have0 header
 * bytes before; f is the frame when it completed (FRAME_DONE), else NULL.
 * --write keeps the fragment as it streams. Cheap and lock-free: the
 * connection's own buffer. */
void build_stream(struct conn *c, uint32_t have0, const uint8_t *buf, size_t used,
		  const struct frame *f);
/* conn.c: a DATA frame was accepted. May pause c (c->paused). -1 when
 * the connection must end (a source beyond --sources; said why). */
int  build_fragment(struct conn *c, const struct proto_header *h, uint64_t now);
/* conn.c: bytes that arrived for a paused connection, or the rest of the
 * read that paused it, are kept and fed again on resume (in order: while
 * kept bytes wait, new ones queue behind them). build_hold keeps buf and
 * returns 1 if c is paused or has bytes waiting, else returns 0. */
void build_keep(struct conn *c, const uint8_t *buf, size_t len);
int  build_hold(struct conn *c, const uint8_t *buf, size_t len);
/* c is paused, or has kept bytes still to be fed. */
int  build_held(const struct conn *c);
/* server.c: c is being closed; its source may have ended. */
void build_conn_closed(struct conn *c);

/*
 * The timer, on loop l's thread: events past --build-timeout; then the
 * connections of l that the ring has room for again: their kept bytes are
 * fed (server_close when that ends them), then conn_resume(). Called by
 * server_sweep; backends that do not call that call this.
 */
void build_sweep(struct loop *l);
/* How long a wait may sleep so that the sweep is on time (<= ms). */
int  build_wait_ms(struct server *s, int ms);

/* Feed c's kept bytes (a reader thread, when it wakes from a pause).
 * CONN_END when they ended the connection. */
enum conn_state build_replay(struct conn *c);

/* The summary: a few lines for the table, an object for the JSON. */
void build_report(FILE *f, struct server *s);
void build_json(struct jw *w, struct server *s);

#endif
