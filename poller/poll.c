/* poll.c - one shipment's outcome (from dispatch.c): one fenced write-back transaction. */
#include "poller.h"
#include "apply.h"
#include "carriers/carrier.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "schedule.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct poll_job {
    pp_poller_t *p;
    pp_claimed_t c;
    const pp_carrier_t *carrier;
    char me[128];
    char topic[256];
    /* outcome of the carrier call */
    pp_poll_outcome_t outcome;
    char result[32];         /* metrics / log label */
    pp_track_result_t *mine; /* owned; NULL unless found */
    long retry_after_s;
    char error[512];
    double u;
    /* set by the write-back */
    bool lease_lost;
    size_t n_events;
    pp_status_t status_after;
    bool not_found_late_now; /* crossed not_found_grace_s with this poll */
} poll_job_t;

static void job_free(poll_job_t *j)
{
    pp_track_results_free(j->mine, j->mine ? 1 : 0);
    free(j);
}

/* ---- write-back (threadpool thread) ---------------------------------------------------- */

static const char lock_sql[] =
    "SELECT status, progress, sequence, "
    "       (extract(epoch FROM last_event_at))::bigint, "
    "       (extract(epoch FROM last_change_at) * 1000)::bigint, consecutive_errors, "
    "       (extract(epoch FROM now()) * 1000)::bigint, "
    "       (extract(epoch FROM entered_at) * 1000)::bigint, "
    "       (extract(epoch FROM last_polled_at) * 1000)::bigint "
    "FROM shipments WHERE id = $1 AND lease_owner = $2 FOR UPDATE";

static const char event_sql[] =
    "INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, "
    " carrier_status, description, location, occurred_at, detected_at, event_id) "
    "VALUES ($1, $2, 'status_changed', $3, $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''), "
    " to_timestamp($8::bigint), to_timestamp($9::bigint), $10::uuid)";

static const char outbox_sql[] =
    "INSERT INTO outbox (event_id, topic, msg_key, payload) VALUES ($1::uuid, $2, $3, $4)";

static const char update_sql[] =
    "UPDATE shipments SET status = $2, progress = $3::smallint, sequence = $4::bigint, "
    " last_event_at = COALESCE(to_timestamp($5::bigint), last_event_at), "
    " carrier_status = COALESCE(NULLIF($6, ''), carrier_status), "
    " last_text = COALESCE(NULLIF($7, ''), last_text), "
    " last_location = COALESCE(NULLIF($8, ''), last_location), "
    " pickup_point = COALESCE(NULLIF($9, ''), pickup_point), "
    " pickup_address = COALESCE(NULLIF($15, ''), pickup_address), "
    " pickup_deadline = CASE WHEN $16::bigint IS NULL THEN pickup_deadline "
    "                        ELSE to_timestamp($16::bigint) END, "
    " last_change_at = CASE WHEN $10::boolean THEN now() ELSE last_change_at END, "
    " delivered_at = CASE WHEN $2 = 'delivered' AND delivered_at IS NULL "
    "                     THEN COALESCE(to_timestamp($11::bigint), now()) ELSE delivered_at END, "
    " next_poll_at = now() + $12::bigint * interval '1 millisecond', "
    " polls = polls + 1, consecutive_errors = $13::int, last_error = $14, last_polled_at = now(), "
    " lease_owner = NULL, lease_until = NULL "
    "WHERE id = $1";

static int get_ll(PGresult *r, int col, long long *out)
{
    if (PQgetisnull(r, 0, col))
        return PP_ENOTFOUND;
    char *end;
    const char *s = PQgetvalue(r, 0, col);
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return PP_EPARSE;
    *out = v;
    return PP_OK;
}

/* Reads the locked shipment row into the state pp_apply_poll starts from; also the database's
 * clock (now_ms) and when it was last polled. */
static void read_state(PGresult *r, pp_apply_state_t *st, long long *now_ms, long long *last_polled_ms)
{
    long long v;
    if (pp_status_parse(PQgetvalue(r, 0, 0), &st->status) != 0)
        st->status = PP_ST_INFO_RECEIVED;
    if (get_ll(r, 1, &v) == 0)
        st->progress = (int)v;
    if (get_ll(r, 2, &v) == 0)
        st->sequence = v;
    if (get_ll(r, 3, &v) == 0) {
        st->has_last_event = true;
        st->last_event_at = (time_t)v;
    }
    if (get_ll(r, 4, &v) == 0)
        st->last_change_ms = v;
    if (get_ll(r, 5, &v) == 0)
        st->consecutive_errors = (int)v;
    get_ll(r, 6, now_ms);
    long long entered_ms = 0;
    get_ll(r, 7, &entered_ms);
    get_ll(r, 8, last_polled_ms);
    /* never seen by the carrier: the not-found grace period counts from the entry */
    if (!st->has_last_event)
        st->not_found_since_ms = entered_ms;
}

/* Inserts one status change as a shipment_events row and its outbox row (the event's JSON). */
static int insert_change(PGconn *conn, const poll_job_t *j, const char *id,
                         const pp_apply_change_t *ch, time_t now_s)
{
    pp_event_t ev = {0};
    pp_event_new_id(&ev);
    ev.schema_version = PP_EVENT_SCHEMA_VERSION;
    ev.kind = PP_EV_STATUS_CHANGED;
    ev.shipment_id = j->c.id;
    ev.transaction_id = j->c.transaction_id;
    snprintf(ev.carrier, sizeof ev.carrier, "%s", j->c.carrier);
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "%s", j->c.tracking_number);
    ev.previous_status = ch->previous;
    ev.status = ch->status;
    if (ch->ev) {
        snprintf(ev.carrier_status, sizeof ev.carrier_status, "%s", ch->ev->carrier_code);
        snprintf(ev.carrier_status_text, sizeof ev.carrier_status_text, "%s", ch->ev->description);
        snprintf(ev.location, sizeof ev.location, "%s", ch->ev->location);
        ev.occurred_at = ch->ev->occurred_at;
    } else {
        ev.occurred_at = now_s;
    }
    ev.detected_at = now_s;
    ev.sequence = ch->sequence;
    char *payload = NULL;
    int rc = pp_event_encode(&ev, &payload);
    if (rc)
        goto out;
    char seq[32], occ[32], det[32];
    snprintf(seq, sizeof seq, "%lld", ev.sequence);
    snprintf(occ, sizeof occ, "%lld", (long long)ev.occurred_at);
    snprintf(det, sizeof det, "%lld", (long long)ev.detected_at);
    const char *ep[] = {id,
                        seq,
                        pp_status_name(ev.status),
                        pp_status_name(ev.previous_status),
                        ev.carrier_status,
                        ev.carrier_status_text,
                        ev.location,
                        occ,
                        det,
                        ev.event_id};
    rc = pp_db_exec(conn, "insert shipment event", event_sql, 10, ep, NULL);
    if (rc)
        goto out;
    const char *op[] = {ev.event_id, j->topic, id, payload};
    rc = pp_db_exec(conn, "insert outbox row", outbox_sql, 4, op, NULL);
out:
    free(payload);
    return rc;
}

/* Writes the poll's outcome to the shipment row (status, schedule, errors) and frees its lease. */
static int update_shipment(PGconn *conn, const poll_job_t *j, const char *id, const pp_apply_out_t *out)
{
    char prog[16], seq[32], last_ev[32], delivered[32], next[32], errs[16];
    snprintf(prog, sizeof prog, "%d", out->progress);
    snprintf(seq, sizeof seq, "%lld", out->sequence);
    snprintf(last_ev, sizeof last_ev, "%lld", (long long)out->last_event_at);
    snprintf(next, sizeof next, "%lld", (long long)out->sched.delay_ms);
    snprintf(errs, sizeof errs, "%d", out->consecutive_errors);
    delivered[0] = '\0';
    for (size_t i = 0; i < out->n_changes; i++)
        if (out->changes[i].status == PP_ST_DELIVERED && out->changes[i].ev)
            snprintf(delivered, sizeof delivered, "%lld", (long long)out->changes[i].ev->occurred_at);
    const pp_track_event_t *nw = out->newest;
    char deadline[32] = "";
    if (j->mine && j->mine->pickup_deadline)
        snprintf(deadline, sizeof deadline, "%lld", (long long)j->mine->pickup_deadline);
    const char *up[] = {
        id,
        pp_status_name(out->status),
        prog,
        seq,
        out->has_new_events ? last_ev : NULL,
        nw ? nw->carrier_code : NULL,
        nw ? nw->description : NULL,
        nw ? nw->location : NULL,
        j->mine ? j->mine->pickup_point : NULL,
        out->n_changes ? "true" : "false",
        delivered[0] ? delivered : NULL,
        out->sched.poll_again ? next : NULL,
        errs,
        j->outcome == PP_POLL_ERROR ? j->error : NULL,
        j->mine ? j->mine->pickup_address : NULL,
        deadline[0] ? deadline : NULL,
    };
    return pp_db_exec(conn, "update shipment", update_sql, 16, up, NULL);
}

static int write_work(PGconn *conn, void *arg)
{
    poll_job_t *j = arg;
    PGresult *r = NULL;
    char id[32];
    snprintf(id, sizeof id, "%lld", j->c.id);
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    const char *lp[] = {id, j->me};
    rc = pp_db_exec(conn, "lock shipment", lock_sql, 2, lp, &r);
    if (rc)
        goto fail;
    if (PQntuples(r) != 1) {
        j->lease_lost = true; /* fencing: someone else owns it now; write nothing */
        rc = PP_ECONFLICT;
        goto fail;
    }
    pp_apply_state_t st = {0};
    long long now_ms = pp_now_ms(), last_polled_ms = 0;
    read_state(r, &st, &now_ms, &last_polled_ms);
    PQclear(r);
    r = NULL;

    pp_apply_out_t *out = malloc(sizeof *out);
    if (!out) {
        rc = PP_ENOMEM;
        goto fail;
    }
    pp_apply_poll(j->p->cfg, &st, j->mine, j->outcome, j->retry_after_s, now_ms, j->u, out);
    time_t now_s = (time_t)(now_ms / 1000);
    for (size_t i = 0; i < out->n_changes; i++) {
        rc = insert_change(conn, j, id, &out->changes[i], now_s);
        if (rc)
            goto fail_out;
    }
    rc = update_shipment(conn, j, id, out);
    if (rc)
        goto fail_out;
    rc = pp_db_commit(conn);
    if (rc)
        goto fail_out;
    j->n_events = out->n_changes;
    j->status_after = out->status;
    j->not_found_late_now =
        out->sched.not_found_late &&
        !pp_schedule_not_found_late(j->p->cfg, st.not_found_since_ms, last_polled_ms);
    free(out);
    return PP_OK;
fail_out:
    free(out);
fail:
    PQclear(r);
    pp_db_rollback(conn);
    return rc;
}

static void write_done(int rc, void *arg)
{
    poll_job_t *j = arg;
    pp_poller_t *p = j->p;
    if (rc == PP_ECONFLICT) {
        p->n_lease_lost++;
        pp_metrics_add(p->metrics, "pp_poller_lease_lost_total", 1);
        pp_warn("worker %s: shipment %lld (%s %s): lease lost before write-back; nothing written",
                p->worker_id, j->c.id, j->c.carrier, j->c.tracking_number);
        rc = PP_OK;
    } else if (rc) {
        pp_warn("worker %s: shipment %lld (%s %s): write-back failed: %s (re-polled after the lease)",
                p->worker_id, j->c.id, j->c.carrier, j->c.tracking_number, pp_strerror(rc));
    } else {
        p->n_written++;
        p->n_events += (long long)j->n_events;
        if (j->n_events)
            pp_metrics_add(p->metrics, "pp_poller_events_written_total", (double)j->n_events);
        pp_debug("worker %s: shipment %lld (%s %s): %s, %zu new events, status %s", p->worker_id,
                 j->c.id, j->c.carrier, j->c.tracking_number, j->result, j->n_events,
                 pp_status_name(j->status_after));
        if (j->not_found_late_now)
            pp_info("worker %s: shipment %lld (%s %s): still unknown to the carrier after %ld s; "
                    "polled every %ld s from now on (expires after %ld s without a change)",
                    p->worker_id, j->c.id, j->c.carrier, j->c.tracking_number,
                    p->cfg->not_found_grace_s, p->cfg->interval_not_found_late_s,
                    p->cfg->expire_after_s);
    }
    job_free(j);
    pp_leases_done(p, 1);
}

static void write_back(poll_job_t *j)
{
    pp_poller_t *p = j->p;
    char series[160];
    snprintf(series, sizeof series, "pp_poller_polls_total{carrier=\"%s\",result=\"%s\"}",
             j->c.carrier, j->result);
    pp_metrics_add(p->metrics, series, 1);
    if (j->outcome == PP_POLL_ERROR) {
        pp_info("worker %s: shipment %lld (%s %s): %s: %s", p->worker_id, j->c.id, j->c.carrier,
                j->c.tracking_number, j->result, j->error);
    }
    j->u = pp_schedule_random();
    if (pp_db_submit(p->db, write_work, write_done, j) != PP_OK)
        write_done(PP_EIO, j);
}

/* ---- entry (loop thread) ---------------------------------------------------------------- */

void pp_poll_finish(pp_poller_t *p, const pp_claimed_t *c, pp_poll_outcome_t outcome,
                    pp_track_result_t *res, long retry_after_s, const char *result, const char *error)
{
    poll_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        pp_error("worker %s: shipment %lld: out of memory; left to lease expiry", p->worker_id, c->id);
        pp_track_results_free(res, res ? 1 : 0);
        pp_leases_done(p, 1);
        return;
    }
    j->p = p;
    j->c = *c;
    j->outcome = outcome;
    j->retry_after_s = retry_after_s;
    if (outcome == PP_POLL_OK && res && res->found)
        j->mine = res;
    else
        pp_track_results_free(res, res ? 1 : 0);
    if (outcome == PP_POLL_OK && !j->mine)
        j->outcome = PP_POLL_NOT_FOUND;
    snprintf(j->result, sizeof j->result, "%s", result ? result : "ok");
    snprintf(j->error, sizeof j->error, "%s", error ? error : "");
    snprintf(j->me, sizeof j->me, "%s", p->worker_id);
    snprintf(j->topic, sizeof j->topic, "%s", p->cfg->topic);
    write_back(j);
}
