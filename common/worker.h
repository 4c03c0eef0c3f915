/* worker.h - the workers table: registration, heartbeats with counters, stopped mark. */
#ifndef PP_WORKER_H
#define PP_WORKER_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Synchronous; call inside pp_db work functions (or from tools). Each returns 0 or
 * PP_EDB (logged by pp_db_exec). kind is "poller", "notifier", "api" or "bot".
 */
/* Insert or take over the row `id` (restart with the same id): started now, not stopped. */
int pp_worker_register(PGconn *conn, const char *id, const char *kind, const char *ops_addr)
    __attribute__((warn_unused_result));
/* heartbeat_at = now(), counters = counters_json (JSON object; NULL keeps the old one).
 * PP_ENOTFOUND when the row is gone (e.g. deleted by ops): register again. */
int pp_worker_heartbeat(PGconn *conn, const char *id, const char *counters_json)
    __attribute__((warn_unused_result));
/* stopped_at = now(). */
int pp_worker_stop(PGconn *conn, const char *id) __attribute__((warn_unused_result));
/*
 * Live workers (not stopped, heartbeat within window_ms): *pollers of kind poller, *sharers
 * of kind poller or bot, the processes that split each carrier's per-second budget. Both >= 1.
 */
int pp_worker_live_counts(PGconn *conn, long window_ms, int *pollers, int *sharers)
    __attribute__((warn_unused_result));
/* Default worker id "<kind>-<host>-<pid>" into out. */
void pp_worker_default_id(const char *kind, char *out, size_t outlen);

#endif
