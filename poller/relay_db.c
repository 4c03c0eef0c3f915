/* relay_db.c - the outbox relay's statements on its lock connection: lock + LISTEN, fetch, unlock. */
#include "relay_internal.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_LOCK_KEY "7426510973312011" /* pg_try_advisory_lock(bigint): "pp-outbox-relay" */
#define RELAY_CHANNEL "pp_outbox"         /* schema/sql/0008_outbox_notify.sql */

int pp_relay_db_lock(PGconn **conn, const char *db_url, bool *got, int *lock_pid)
{
    PGresult *res = NULL;
    *got = false;
    if (!*conn) {
        char err[512];
        if (!(*conn = pp_db_connect(db_url, err, sizeof err))) {
            pp_warn("relay: %s", err);
            return PP_EDB;
        }
    }
    const char *p[] = {RELAY_LOCK_KEY};
    int rc =
        pp_db_exec(*conn, "take relay lock", "SELECT pg_try_advisory_lock($1::bigint)", 1, p, &res);
    if (rc == PP_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        *got = true;
        *lock_pid = PQbackendPID(*conn);
        /* Without it the relay still looks every relay_interval_ms. */
        (void)!pp_db_exec(*conn, "listen for outbox rows", "LISTEN " RELAY_CHANNEL, 0, NULL, NULL);
    }
    PQclear(res);
    return rc;
}

/* Prepared once per connection (common/db.h). The fetch is not: with the ids in flight as a
 * parameter a generic plan compares each row with the whole list (up to 8 x relay_batch ids),
 * where a plan for the values hashes it. */
static const pp_db_stmt_t advance_stmt =
    {"relay_advance",
     "INSERT INTO relay_offsets (topic, kafka_partition, last_offset) "
     "SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) "
     "ON CONFLICT (topic, kafka_partition) DO UPDATE "
     "SET last_offset = GREATEST(relay_offsets.last_offset, EXCLUDED.last_offset), updated_at = now()",
     3};

int pp_relay_db_fetch(PGconn *conn, long batch, const char *exclude, PGresult **rows, long long *lag)
{
    PGresult *res = NULL;
    char b[32];
    snprintf(b, sizeof b, "%ld", batch);
    const char *p[] = {b, exclude};
    /* In id order, so that a shipment's events reach its partition in outbox (= sequence)
     * order; a row that commits late with a lower id is taken by the next fetch. */
    int rc = pp_db_exec(conn, "fetch outbox",
                        "SELECT id, event_id, topic, msg_key, payload FROM outbox "
                        "WHERE published_at IS NULL AND id <> ALL ($2::bigint[]) "
                        "ORDER BY id LIMIT $1::int",
                        2, p, rows);
    if (rc == PP_OK && lag &&
        pp_db_exec(conn, "outbox lag", "SELECT count(*) FROM outbox WHERE published_at IS NULL", 0,
                   NULL, &res) == PP_OK)
        *lag = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

bool pp_relay_db_lost(PGconn *conn, int lock_pid)
{
    return !conn || PQstatus(conn) != CONNECTION_OK || PQbackendPID(conn) != lock_pid;
}

void pp_relay_db_unlock(PGconn **conn, int lock_pid)
{
    if (!*conn)
        return;
    const char *p[] = {RELAY_LOCK_KEY};
    if (lock_pid && !pp_relay_db_lost(*conn, lock_pid))
        (void)!pp_db_exec(*conn, "release relay lock", "SELECT pg_advisory_unlock($1::bigint)", 1,
                          p, NULL);
    PQfinish(*conn);
    *conn = NULL;
}

bool pp_relay_db_notified(PGconn *conn)
{
    bool any = false;
    PGnotify *n;
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return false;
    /* Reads what came after the last result; PQnotifies parses it. */
    (void)PQconsumeInput(conn);
    while ((n = PQnotifies(conn))) {
        PQfreemem(n);
        any = true;
    }
    return any;
}

int pp_relay_db_advance(PGconn *conn, const relay_advance_t *a)
{
    if (a->n == 0)
        return PP_OK;
    pp_pgarray_t b[3] = {{0}};
    for (size_t i = 0; i < a->n; i++) {
        pp_pgarray_text(&b[0], a->topics[i]);
        pp_pgarray_ll(&b[1], a->partitions[i]);
        pp_pgarray_ll(&b[2], a->offsets[i]);
    }
    int rc = PP_ENOMEM;
    const char *p[] = {pp_pgarray_str(&b[0]), pp_pgarray_str(&b[1]), pp_pgarray_str(&b[2])};
    if (!p[0] || !p[1] || !p[2])
        goto done;
    rc = pp_db_exec_stmt(conn, "advance relay offsets", &advance_stmt, p, NULL);
done:
    for (int k = 0; k < 3; k++)
        pp_pgarray_free(&b[k]);
    return rc;
}
