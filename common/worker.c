/* worker.c - workers-table rows: register, heartbeat (counters jsonb), stop. */
#include "worker.h"
#include "db.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void host_name(char *out, size_t len)
{
    if (gethostname(out, len) != 0 || !out[0])
        snprintf(out, len, "localhost");
    out[len - 1] = '\0';
}

void pp_worker_default_id(const char *kind, char *out, size_t outlen)
{
    char host[256];
    host_name(host, sizeof host);
    snprintf(out, outlen, "%s-%s-%ld", kind, host, (long)getpid());
}

int pp_worker_register(PGconn *conn, const char *id, const char *kind, const char *ops_addr)
{
    char host[256], pid[32];
    host_name(host, sizeof host);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *p[] = {id, kind, host, pid, ops_addr};
    return pp_db_exec(conn, "register worker",
                      "INSERT INTO workers (id, kind, host, pid, metrics_addr) "
                      "VALUES ($1, $2, $3, $4::int, $5) "
                      "ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, host = EXCLUDED.host, "
                      "pid = EXCLUDED.pid, metrics_addr = EXCLUDED.metrics_addr, "
                      "started_at = now(), heartbeat_at = now(), stopped_at = NULL, counters = '{}'",
                      5, p, NULL);
}

int pp_worker_heartbeat(PGconn *conn, const char *id, const char *counters_json)
{
    const char *p[] = {id, counters_json};
    PGresult *r = NULL;
    int rc = pp_db_exec(conn, "worker heartbeat",
                        "UPDATE workers SET heartbeat_at = now(), "
                        "counters = COALESCE($2::jsonb, counters) WHERE id = $1",
                        2, p, &r);
    if (rc == PP_OK && PQcmdTuples(r)[0] == '0')
        rc = PP_ENOTFOUND;
    PQclear(r);
    return rc;
}

int pp_worker_live_counts(PGconn *conn, long window_ms, int *pollers, int *sharers)
{
    char window[32];
    PGresult *r = NULL;
    snprintf(window, sizeof window, "%ld", window_ms);
    const char *p[] = {window};
    int rc = pp_db_exec(conn, "count live pollers and bots",
                        "SELECT count(*) FILTER (WHERE kind = 'poller'), count(*) FROM workers "
                        "WHERE kind IN ('poller', 'bot') AND stopped_at IS NULL "
                        "AND heartbeat_at > now() - $1::bigint * interval '1 millisecond'",
                        1, p, &r);
    if (rc == PP_OK) {
        long long a = strtoll(PQgetvalue(r, 0, 0), NULL, 10),
                  b = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        *pollers = a < 1 ? 1 : a > 100000 ? 100000 : (int)a;
        *sharers = b < 1 ? 1 : b > 100000 ? 100000 : (int)b;
    }
    PQclear(r);
    return rc;
}

int pp_worker_stop(PGconn *conn, const char *id)
{
    const char *p[] = {id};
    return pp_db_exec(conn, "worker stopped", "UPDATE workers SET stopped_at = now() WHERE id = $1",
                      1, p, NULL);
}
