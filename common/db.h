/*
 * db.h - libpq for processes on a libuv loop: a small pool of connections, each used by
 * one libuv threadpool worker at a time, so a database round trip never blocks the loop.
 * Work functions run on a worker thread with a connection; done callbacks run on the loop.
 */
#ifndef PP_DB_H
#define PP_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <uv.h>

typedef struct pp_db pp_db_t;

/* Runs on a threadpool thread with an exclusive connection. Return 0 or PP_E*. */
typedef int (*pp_db_work_fn)(PGconn *conn, void *arg);
/* Runs on the loop thread with the work function's result. */
typedef void (*pp_db_done_fn)(int rc, void *arg);

int pp_db_open(pp_db_t **out, uv_loop_t *loop, const char *url, int pool_size)
    __attribute__((warn_unused_result));
int pp_db_submit(pp_db_t *db, pp_db_work_fn work, pp_db_done_fn done, void *arg)
    __attribute__((warn_unused_result));
/* Jobs in a row that ended PP_EDB, whoever submitted them (0 once one succeeds): the
 * daemon frame's /readyz says the database is failing from 3. */
int pp_db_failures(const pp_db_t *db);
/* Number of submitted jobs not yet done. */
int pp_db_pending(const pp_db_t *db);
/* Frees connections; call only when pp_db_pending() == 0. */
void pp_db_close(pp_db_t *db);

/* Synchronous helpers (ppctl, and inside work functions). */
PGconn *pp_db_connect(const char *url, char *err, size_t errlen);
/*
 * Parameterized query; NULL params entries are SQL NULL. On success returns 0 and, if
 * out != NULL, the result (caller PQclear()s). On failure logs "<what>: <server message>"
 * and returns PP_EDB. A lost connection is reset so the next use reconnects.
 */
int pp_db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
               const char *const *params, PGresult **out) __attribute__((warn_unused_result));
/*
 * A statement run often: prepared once per connection (PQprepare, the first time it runs
 * there) and then run by name, so the server parses and plans it once, not on every call.
 * name must be unique in the process. Same results and errors as pp_db_exec.
 */
typedef struct pp_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
} pp_db_stmt_t;
int pp_db_exec_stmt(PGconn *conn, const char *what, const pp_db_stmt_t *st,
                    const char *const *params, PGresult **out) __attribute__((warn_unused_result));
int pp_db_begin(PGconn *conn) __attribute__((warn_unused_result));
int pp_db_commit(PGconn *conn) __attribute__((warn_unused_result));
void pp_db_rollback(PGconn *conn);
/* SQLSTATE of the last failed pp_db_exec on this thread ("" if none). */
const char *pp_db_last_sqlstate(void);

#endif
