/* db.c - connection pool + uv_queue_work bridge, and checked synchronous query helpers. */
#include "db.h"
#include "config.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp_db {
    uv_loop_t *loop;
    char *url;
    pthread_mutex_t lock;
    PGconn **free_conns;
    int n_free;
    int pool_size;
    int pending;  /* submitted, done callback not yet run */
    int running;  /* on the threadpool: never more than pool_size, so each finds a connection */
    int failures; /* jobs in a row that ended PP_EDB (the database did not answer as asked) */
    struct job *qhead, *qtail; /* waiting for a connection, in submission order */
};

typedef struct job {
    uv_work_t req;
    struct job *next;
    pp_db_t *db;
    pp_db_work_fn work;
    pp_db_done_fn done;
    void *arg;
    int rc;
} job_t;

static _Thread_local char last_sqlstate[6];

const char *pp_db_last_sqlstate(void) { return last_sqlstate; }

PGconn *pp_db_connect(const char *url, char *err, size_t errlen)
{
    /* Defaults the URL's own parameters override (they come after, expanded from dbname): a
     * host that does not answer fails in 10 s, not after TCP's minutes; a connection cut off
     * the network is found dead by keepalives (idle) or when what it sent is not acknowledged
     * for 30 s (tcp_user_timeout), so a statement does not hang on it until TCP gives up; the
     * server names the connections in pg_stat_activity without a SET round trip. No GSSAPI
     * encryption unless asked for (the URL's gssencmode, or PGGSSENCMODE): libpq's default,
     * "prefer", looks for Kerberos credentials at every connect, which initialises the
     * Kerberos libraries (0.5 MiB of a poller's RSS) for nothing where none are used. */
    const char *keys[] = {"connect_timeout",  "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "fallback_application_name",
                          "gssencmode",       "dbname",           NULL};
    const char *vals[] = {"10", "30", "10", "3", "30000", "parcelpush", "disable", url, NULL};
    if (getenv("PGGSSENCMODE")) { /* the environment's choice: drop our default */
        keys[6] = keys[7], vals[6] = vals[7];
        keys[7] = vals[7] = NULL;
    }
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    const char *shown = pp_config_db_url_shown(url); /* without its password */
    if (!c) {
        snprintf(err, errlen, "out of memory connecting to %s", shown);
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database (%s): %s", shown, PQerrorMessage(c));
        size_t n = strlen(err);
        while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* A statement's result: PP_OK with *out (or cleared), else logged as "<what> failed". */
static int result(PGconn *conn, const char *what, PGresult *r, PGresult **out)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return PP_OK;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state)
        snprintf(last_sqlstate, sizeof last_sqlstate, "%s", state);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    pp_warn("database: %s failed: %s%s%s%s", what, msg, state ? " (SQLSTATE " : "",
            state ? state : "", state ? ")" : "");
    PQclear(r);
    if (PQstatus(conn) != CONNECTION_OK)
        PQreset(conn);
    return PP_EDB;
}

int pp_db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
               const char *const *params, PGresult **out)
{
    if (out)
        *out = NULL;
    last_sqlstate[0] = '\0';
    if (PQstatus(conn) != CONNECTION_OK)
        PQreset(conn);
    return result(conn, what, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0), out);
}

/*
 * Which statements each connection has prepared. A connection is known by its address and
 * its backend's pid: a reset (PQreset after a lost connection) is a new backend, with
 * nothing prepared. Entries of closed connections are overwritten, oldest first.
 */
#define PREP_CONNS 64
#define PREP_STMTS 8

static struct {
    const PGconn *conn;
    int pid;
    const pp_db_stmt_t *stmt[PREP_STMTS];
    const pp_db_stmt_t *stale[PREP_STMTS]; /* to DEALLOCATE before preparing again */
} prep[PREP_CONNS];
static int prep_next;
static pthread_mutex_t prep_lock = PTHREAD_MUTEX_INITIALIZER;

static int prep_slot(const PGconn *conn, int pid, bool add)
{
    for (int i = 0; i < PREP_CONNS; i++)
        if (prep[i].conn == conn && prep[i].pid == pid)
            return i;
    if (!add)
        return -1;
    int i = prep_next;
    prep_next = (prep_next + 1) % PREP_CONNS;
    memset(&prep[i], 0, sizeof prep[i]);
    prep[i].conn = conn;
    prep[i].pid = pid;
    return i;
}

/* Whether the connection's list (prepared: stmt, or stale) holds st. */
static bool listed(PGconn *conn, const pp_db_stmt_t *st, bool stale)
{
    bool yes = false;
    pthread_mutex_lock(&prep_lock);
    int i = prep_slot(conn, PQbackendPID(conn), false);
    for (int k = 0; i >= 0 && k < PREP_STMTS && !yes; k++)
        yes = (stale ? prep[i].stale[k] : prep[i].stmt[k]) == st;
    pthread_mutex_unlock(&prep_lock);
    return yes;
}

/* Put st in (add) or take it out of one of a slot's lists (stmt or stale). */
static void list_set(const pp_db_stmt_t **list, const pp_db_stmt_t *st, bool add)
{
    for (int k = 0; k < PREP_STMTS; k++) {
        if (add && !list[k]) {
            list[k] = st;
            return;
        }
        if (!add && list[k] == st)
            list[k] = NULL;
    }
}

/* Recorded as prepared (true), or forgotten (false: the server said it has no such name, or
 * stale: it has one whose result no longer fits, to be deallocated before the next prepare). */
static void record(PGconn *conn, const pp_db_stmt_t *st, bool have, bool stale)
{
    pthread_mutex_lock(&prep_lock);
    int i = prep_slot(conn, PQbackendPID(conn), have || stale);
    if (i >= 0) {
        list_set(prep[i].stmt, st, have);
        list_set(prep[i].stale, st, false);
        if (stale)
            list_set(prep[i].stale, st, true);
    }
    pthread_mutex_unlock(&prep_lock);
}

static bool run_simple(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* DEALLOCATE a stale statement: true once the server has none by that name (26000: it had
 * none already, e.g. after DISCARD ALL). Inside an open transaction it runs under a savepoint,
 * so a failure leaves the caller's transaction usable; in an aborted one nothing can run. */
static bool deallocate(PGconn *conn, const pp_db_stmt_t *st)
{
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    char sql[192];
    int len = snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", st->name);
    if ((ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS) || len < 0 || (size_t)len >= sizeof sql)
        return false;
    bool in_tx = ts == PQTRANS_INTRANS;
    if (in_tx && !run_simple(conn, "SAVEPOINT pp_deallocate"))
        return false;
    PGresult *d = PQexec(conn, sql);
    const char *state = d ? PQresultErrorField(d, PG_DIAG_SQLSTATE) : NULL;
    bool done = d && PQresultStatus(d) == PGRES_COMMAND_OK;
    bool gone = done || (state && strcmp(state, "26000") == 0); /* undefined_pstatement */
    PQclear(d);
    if (in_tx && !done && !run_simple(conn, "ROLLBACK TO SAVEPOINT pp_deallocate"))
        return false;
    if (in_tx && !run_simple(conn, "RELEASE SAVEPOINT pp_deallocate"))
        return false;
    return gone;
}

/* PQprepare: true when the connection has the statement now (or had it already). A stale
 * one is deallocated first (false if that cannot run now: run unprepared, and the next call
 * tries again). */
static bool prepare(PGconn *conn, const pp_db_stmt_t *st)
{
    if (listed(conn, st, true)) {
        if (!deallocate(conn, st))
            return false;
        record(conn, st, false, false);
    }
    PGresult *r = PQprepare(conn, st->name, st->sql, st->nparams, NULL);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    bool ok = (r && PQresultStatus(r) == PGRES_COMMAND_OK) ||
              (state && strcmp(state, "42P05") == 0); /* duplicate_prepared_statement */
    PQclear(r);
    if (ok)
        record(conn, st, true, false);
    return ok;
}

int pp_db_exec_stmt(PGconn *conn, const char *what, const pp_db_stmt_t *st,
                    const char *const *params, PGresult **out)
{
    if (out)
        *out = NULL;
    last_sqlstate[0] = '\0';
    if (PQstatus(conn) != CONNECTION_OK)
        PQreset(conn);
    for (int attempt = 0;; attempt++) {
        if (!listed(conn, st, false) && !prepare(conn, st)) /* e.g. in an aborted transaction */
            return pp_db_exec(conn, what, st->sql, st->nparams, params, out);
        PGresult *r = PQexecPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0);
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (attempt == 0 && state && strcmp(state, "26000") == 0) { /* gone (DISCARD ALL) */
            PQclear(r);
            record(conn, st, false, false);
            continue;
        }
        /* "cached plan must not change result type" (0A000 from RevalidateCachedQuery; the
         * function's name is not translated, the message is): a migration changed a column
         * the statement returns. Prepared again (after DEALLOCATE) and run once more here when
         * no transaction is open; inside one (now aborted) the error goes to the caller, whose
         * retry after its rollback prepares it again. Each connection of a pool meets this
         * once: one failed attempt (a warning and the caller's error) per connection. */
        const char *fn = r ? PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION) : NULL;
        if (state && strcmp(state, "0A000") == 0 && fn && strcmp(fn, "RevalidateCachedQuery") == 0) {
            pp_warn("%s: prepared statement %s no longer fits the schema (%s); preparing it "
                    "again",
                    what, st->name, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
            record(conn, st, false, true);
            if (attempt == 0 && PQtransactionStatus(conn) == PQTRANS_IDLE) {
                PQclear(r);
                continue;
            }
        }
        return result(conn, what, r, out);
    }
}

int pp_db_begin(PGconn *conn) { return pp_db_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL); }
int pp_db_commit(PGconn *conn) { return pp_db_exec(conn, "COMMIT", "COMMIT", 0, NULL, NULL); }

void pp_db_rollback(PGconn *conn)
{
    PGresult *r = PQexec(conn, "ROLLBACK");
    PQclear(r);
}

int pp_db_open(pp_db_t **out, uv_loop_t *loop, const char *url, int pool_size)
{
    char err[512];
    pp_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return PP_ENOMEM;
    db->loop = loop;
    db->url = strdup(url);
    db->free_conns = calloc((size_t)pool_size, sizeof *db->free_conns);
    pthread_mutex_init(&db->lock, NULL);
    if (!db->url || !db->free_conns)
        goto fail;
    for (int i = 0; i < pool_size; i++) {
        PGconn *c = pp_db_connect(url, err, sizeof err);
        if (!c) {
            pp_error("%s", err);
            goto fail;
        }
        db->free_conns[db->n_free++] = c;
    }
    db->pool_size = pool_size;
    *out = db;
    return PP_OK;
fail:
    pp_db_close(db);
    return PP_EDB;
}

static PGconn *acquire(pp_db_t *db)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&db->lock);
    if (db->n_free > 0)
        c = db->free_conns[--db->n_free];
    pthread_mutex_unlock(&db->lock);
    return c;
}

static void release(pp_db_t *db, PGconn *c)
{
    pthread_mutex_lock(&db->lock);
    db->free_conns[db->n_free++] = c;
    pthread_mutex_unlock(&db->lock);
}

static void work_cb(uv_work_t *req)
{
    job_t *j = req->data;
    PGconn *c = acquire(j->db);
    if (!c) {
        /* Not expected (pp_db_submit runs at most pool_size jobs); a connection of its own. */
        char err[512];
        c = pp_db_connect(j->db->url, err, sizeof err);
        if (!c) {
            pp_warn("%s", err);
            j->rc = PP_EDB;
            return;
        }
        j->rc = j->work(c, j->arg);
        PQfinish(c);
        return;
    }
    if (PQstatus(c) != CONNECTION_OK)
        PQreset(c);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        pp_db_rollback(c);
    j->rc = j->work(c, j->arg);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        pp_db_rollback(c); /* a work function that forgot: never leak a transaction */
    release(j->db, c);
}

static void after_cb(uv_work_t *req, int status);

static int start(pp_db_t *db, job_t *j)
{
    int rc = uv_queue_work(db->loop, &j->req, work_cb, after_cb);
    if (rc) {
        pp_error("database: cannot queue work: %s", uv_strerror(rc));
        return PP_EIO;
    }
    db->running++;
    return PP_OK;
}

/* Start waiting jobs while connections are free (on the loop). */
static void start_waiting(pp_db_t *db)
{
    while (db->qhead && db->running < db->pool_size) {
        job_t *j = db->qhead;
        db->qhead = j->next;
        if (!db->qhead)
            db->qtail = NULL;
        if (start(db, j) != PP_OK) {
            db->pending--;
            if (j->done)
                j->done(PP_EIO, j->arg);
            free(j);
        }
    }
}

static void after_cb(uv_work_t *req, int status)
{
    job_t *j = req->data;
    pp_db_t *db = j->db;
    db->running--;
    db->pending--;
    int rc = status == UV_ECANCELED ? PP_EAGAIN : j->rc;
    if (rc == PP_EDB)
        db->failures++;
    else if (rc != PP_EAGAIN)
        db->failures = 0; /* the database answered (a conflict or not-found is an answer) */
    start_waiting(db);
    if (j->done)
        j->done(rc, j->arg);
    free(j);
}

/*
 * At most pool_size jobs run at once (each with a pooled connection); the rest wait here in
 * order. (Handing the threadpool more jobs than connections made each extra job open and
 * close a connection of its own: thousands a second under load, half the throughput.)
 */
int pp_db_submit(pp_db_t *db, pp_db_work_fn work, pp_db_done_fn done, void *arg)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->db = db;
    j->work = work;
    j->done = done;
    j->arg = arg;
    j->req.data = j;
    if (db->running < db->pool_size && !db->qhead) {
        int rc = start(db, j);
        if (rc) {
            free(j);
            return rc;
        }
    } else if (db->qtail) {
        db->qtail->next = j;
        db->qtail = j;
    } else {
        db->qhead = db->qtail = j;
    }
    db->pending++;
    return PP_OK;
}

int pp_db_failures(const pp_db_t *db) { return db->failures; }

int pp_db_pending(const pp_db_t *db) { return db->pending; }

void pp_db_close(pp_db_t *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->n_free; i++)
        PQfinish(db->free_conns[i]);
    free(db->free_conns);
    free(db->url);
    pthread_mutex_destroy(&db->lock);
    free(db);
}
