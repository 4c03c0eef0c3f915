/*
 * xmpp_archive.c - what the XMPP server's record says about messages the notifier sent
 * before a crash (was_sent) and about a message a server crash may have cut (in_doubt).
 *
 * was_sent reads the bot's own XEP-0313 archive. The server (Prosody's mod_mam) archives a
 * local user's outgoing chat message in that user's archive while routing it, in stream
 * order, and a bounce (<message type='error'>) coming back to the bot's full JID as well. So
 * after a crash the bot's archive lists exactly the messages the server got. Each message
 * carries its stable id twice: the id attribute and an XEP-0359 <origin-id> (the server adds
 * its own <stanza-id>, which we ignore).
 *
 * in_doubt: the server archives the bot's copy before it stores the recipient's, so a server
 * killed in between leaves a message "routed" that nobody got. unconfirmed.h finds the one
 * message per broken connection that can be in that state; the server's delivery module
 * (deploy/prosody/mod_pp_delivery.lua) then says whether the recipient's archive has it.
 */
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "xmpp_internal.h"
#include "xmpp_stanza.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int lookup_cmp(const void *a, const void *b)
{
    return strcmp(((const pp_channel_lookup_t *)a)->id, ((const pp_channel_lookup_t *)b)->id);
}

/* One archived message of the query in progress: match it against the wanted ids. */
void pp_xmpp_archive_result(pp_channel_t *ch, xmpp_stanza_t *result)
{
    xmpp_stanza_t *fwd = xmpp_stanza_get_child_by_name_and_ns(result, "forwarded", NS_FORWARD);
    xmpp_stanza_t *m = fwd ? xmpp_stanza_get_child_by_name(fwd, "message") : NULL;
    if (!m)
        return;
    ch->mam.results++;
    const char *type = xmpp_stanza_get_type(m), *from = xmpp_stanza_get_from(m);
    bool bounce = type && strcmp(type, "error") == 0;
    xmpp_stanza_t *oid = xmpp_stanza_get_child_by_name_and_ns(m, "origin-id", NS_SID);
    const char *key = oid ? xmpp_stanza_get_attribute(oid, "id") : NULL;
    if (!key)
        key = xmpp_stanza_get_id(m); /* bounces carry only the id attribute */
    if (!key)
        return;
    pp_channel_lookup_t want = {.id = key};
    pp_channel_lookup_t *hit = bsearch(&want, ch->mam.q, ch->mam.n, sizeof want, lookup_cmp);
    if (!hit)
        return;
    /* Ours going out, or the buyer's server refusing ours; anything else (e.g. a buyer
     * writing to the bot with a forged id) proves nothing. */
    if (bounce ? !pp_xmpp_same_bare(from, ch->mam.to ? ch->mam.to : hit->to)
               : !pp_xmpp_same_bare(from, ch->jid))
        return;
    xmpp_stanza_t *delay = xmpp_stanza_get_child_by_name_and_ns(fwd, "delay", NS_DELAY);
    const char *stamp = delay ? xmpp_stanza_get_attribute(delay, "stamp") : NULL;
    time_t when = 0;
    if (!stamp || pp_time_parse_iso(stamp, &when, NULL) != 0)
        when = (time_t)(pp_now_ms() / 1000);
    if (hit->fate == PP_CHANNEL_UNSEEN)
        ch->mam.found++;
    if (bounce) {
        hit->fate = PP_CHANNEL_BOUNCED; /* a bounce outranks the routing before it */
        hit->when = (long long)when;
        pp_xmpp_error_reason(ch->ctx, m, hit->reason, sizeof hit->reason);
    } else if (hit->fate == PP_CHANNEL_UNSEEN) {
        hit->fate = PP_CHANNEL_ROUTED;
        hit->when = (long long)when;
    }
}

/* <fin/> (or an error) for the page in progress. */
static int mam_fin_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st);
    if (type && strcmp(type, "error") == 0) {
        pp_xmpp_error_reason(ch->ctx, st, ch->mam.err, sizeof ch->mam.err);
        ch->mam.done = -1;
        return 0;
    }
    xmpp_stanza_t *fin = xmpp_stanza_get_child_by_name_and_ns(st, "fin", NS_MAM);
    const char *complete = fin ? xmpp_stanza_get_attribute(fin, "complete") : NULL;
    xmpp_stanza_t *set = fin ? xmpp_stanza_get_child_by_name_and_ns(fin, "set", NS_RSM) : NULL;
    xmpp_stanza_t *first = set ? xmpp_stanza_get_child_by_name(set, "first") : NULL;
    char *text = first ? xmpp_stanza_get_text(first) : NULL;
    ch->mam.complete = complete && strcmp(complete, "true") == 0;
    snprintf(ch->mam.first, sizeof ch->mam.first, "%s", text ? text : "");
    if (text)
        xmpp_free(ch->ctx, text);
    ch->mam.done = 1;
    return 0;
}

/*
 * Send one page query: with = to, start = start, newest first (RSM <before/>: the last page,
 * then <before>first-of-previous</before>), as what was in flight is the newest.
 */
static int mam_query(pp_channel_t *ch, const char *start, const char *before, size_t page)
{
    int rc = PP_ENOMEM;
    char max[24];
    snprintf(ch->mam.qid, sizeof ch->mam.qid, "mam-%lu", ++ch->mam_seq);
    snprintf(max, sizeof max, "%zu", page);
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "set", ch->mam.qid);
    if (!iq)
        return PP_ENOMEM;
    xmpp_stanza_t *q = pp_xmpp_add_elem(ch->ctx, iq, "query", NS_MAM);
    xmpp_stanza_t *x = q ? pp_xmpp_add_elem(ch->ctx, q, "x", NS_DATA) : NULL;
    xmpp_stanza_t *set = x ? pp_xmpp_add_elem(ch->ctx, q, "set", NS_RSM) : NULL;
    if (!set || xmpp_stanza_set_attribute(q, "queryid", ch->mam.qid) != XMPP_EOK ||
        xmpp_stanza_set_attribute(x, "type", "submit") != XMPP_EOK ||
        pp_xmpp_add_field(ch->ctx, x, "FORM_TYPE", NS_MAM, true) ||
        (ch->mam.to && pp_xmpp_add_field(ch->ctx, x, "with", ch->mam.to, false)) ||
        pp_xmpp_add_field(ch->ctx, x, "start", start, false) ||
        pp_xmpp_add_text_elem(ch->ctx, set, "max", max) ||
        (before[0] ? pp_xmpp_add_text_elem(ch->ctx, set, "before", before)
                   : !pp_xmpp_add_elem(ch->ctx, set, "before", NULL)))
        goto out;
    ch->mam.done = 0;
    ch->mam.complete = false;
    ch->mam.first[0] = ch->mam.err[0] = '\0';
    xmpp_id_handler_add(ch->conn, mam_fin_cb, ch->mam.qid, ch);
    xmpp_send(ch->conn, iq);
    rc = PP_OK;
out:
    xmpp_stanza_release(iq);
    return rc;
}

int pp_xmpp_was_sent(pp_channel_t *ch, const char *to, long long since, pp_channel_lookup_t *q,
                     size_t n, int timeout_ms)
{
    char start[PP_TIME_ISO_LEN], before[sizeof ch->mam.first] = "";
    int rc = PP_OK;
    if (!ch->archive || ch->archive_state < 0)
        return PP_EXMPP;
    if (ch->state != X_UP)
        return PP_EAGAIN;
    for (size_t i = 0; i < n; i++) {
        q[i].fate = PP_CHANNEL_UNSEEN;
        q[i].when = 0;
        q[i].reason[0] = '\0';
    }
    if (n == 0)
        return PP_OK;
    qsort(q, n, sizeof *q, lookup_cmp);
    pp_time_format((time_t)(since > 0 ? since : 0), start);
    ch->mam.to = to;
    ch->mam.q = q;
    ch->mam.n = n;
    ch->mam.results = ch->mam.found = 0;
    int64_t t0 = pp_mono_ms(), deadline = t0 + timeout_ms;
    size_t pages = 0;
    for (;;) {
        /* After a crash the wanted messages are the buyer's newest: a first page just big
         * enough for them (and a few bounces) usually settles it. */
        size_t page = pages == 0 && n + 16 < MAM_PAGE ? n + 16 : MAM_PAGE;
        if ((rc = mam_query(ch, start, before, page)))
            break;
        pages++;
        while (!ch->mam.done && ch->state == X_UP && pp_mono_ms() < deadline)
            xmpp_run_once(ch->ctx, 5);
        if (ch->mam.done < 0) {
            /* No archive on this server (or not for us): the caller falls back. */
            bool absent = strncmp(ch->mam.err, "service-unavailable", 19) == 0 ||
                          strncmp(ch->mam.err, "feature-not-implemented", 23) == 0 ||
                          strncmp(ch->mam.err, "forbidden", 9) == 0;
            if (!absent)
                pp_warn("xmpp: archive query about %s since %s refused: %s",
                        to ? to : "any address", start, ch->mam.err);
            rc = absent ? PP_EXMPP : PP_EAGAIN;
            break;
        }
        if (!ch->mam.done) {
            rc = PP_EAGAIN;
            if (ch->state == X_UP) {
                pp_warn("xmpp: no answer to archive query %s within %d ms; reconnecting",
                        ch->mam.qid, timeout_ms);
                xmpp_id_handler_delete(ch->conn, mam_fin_cb, ch->mam.qid);
                rc = PP_ETIMEOUT;
            }
            break;
        }
        if (ch->mam.complete || ch->mam.found == n)
            break; /* the whole range was read, or every id was found */
        if (!ch->mam.first[0] || strcmp(ch->mam.first, before) == 0) {
            pp_warn("xmpp: archive query %s about %s: incomplete page without a way on (RSM "
                    "first '%s')",
                    ch->mam.qid, to ? to : "any address", ch->mam.first);
            rc = PP_EAGAIN;
            break;
        }
        snprintf(before, sizeof before, "%s", ch->mam.first);
    }
    pp_info("xmpp: archive lookup of %zu id(s) sent to %s since %s: %zu page(s), %zu archived "
            "message(s) read, %lld ms (%s)",
            n, to ? to : "any address", start, pages, ch->mam.results,
            (long long)(pp_mono_ms() - t0), pp_strerror(rc));
    ch->mam.qid[0] = '\0';
    ch->mam.q = NULL;
    ch->mam.to = NULL;
    ch->mam.n = 0;
    return rc;
}

/* routed() for pp_unconfirmed_in_doubt: is id listed ROUTED in the lookups? */
typedef struct lookups {
    const pp_channel_lookup_t *q;
    size_t n;
} lookups_t;

static bool lookup_routed(void *arg, const char *id)
{
    const lookups_t *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (l->q[i].fate == PP_CHANNEL_ROUTED && strcmp(l->q[i].id, id) == 0)
            return true;
    return false;
}

/* The answer to a question about the recipient's store (mod_pp_delivery). */
static int stored_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
    if (from && strcasecmp(from, ch->stored.domain) != 0)
        return 1; /* not the answer of the domain asked: keep waiting */
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(st, "stored", NS_DELIVERY);
    const char *found = r ? xmpp_stanza_get_attribute(r, "found") : NULL;
    const char *why = r ? xmpp_stanza_get_attribute(r, "reason") : NULL;
    ch->stored.reason[0] = '\0';
    ch->stored.retry = false;
    if (type && strcmp(type, "error") == 0) {
        xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
        const char *etype = err ? xmpp_stanza_get_type(err) : NULL;
        pp_xmpp_error_reason(ch->ctx, st, ch->stored.reason, sizeof ch->stored.reason);
        /* type='wait' (the archive could not be read just now): ask again later */
        ch->stored.retry = etype && strcmp(etype, "wait") == 0;
        ch->stored.answer = PP_CHANNEL_DOUBT_UNKNOWN;
    } else if (found && strcmp(found, "true") == 0) {
        ch->stored.answer = PP_CHANNEL_DOUBT_STORED;
    } else if (found && strcmp(found, "false") == 0) {
        ch->stored.answer = PP_CHANNEL_DOUBT_MISSING;
    } else {
        ch->stored.answer = PP_CHANNEL_DOUBT_UNKNOWN;
        snprintf(ch->stored.reason, sizeof ch->stored.reason, "%s",
                 why ? why : "no found='true|false' in the answer");
    }
    return 0;
}

/*
 * Ask the recipient's server whether its store holds message l->id from us, archived at or
 * after l->when - 60 s (the bot's archive time; the same clock when the recipient is local):
 *   <iq type='get' to=recipient's domain><stored xmlns=NS_DELIVERY with=to id=id since=unix/></iq>
 * Prosody answers it with deploy/prosody/mod_pp_delivery.lua; a server without it answers
 * an error (service-unavailable), which leaves the message in doubt. PP_EAGAIN: no answer
 * yet (connection down, or the server said "wait").
 */
static int ask_stored(pp_channel_t *ch, pp_channel_lookup_t *l, int timeout_ms)
{
    char since[24];
    const char *at = strchr(l->to, '@');
    snprintf(ch->stored.domain, sizeof ch->stored.domain, "%.*s",
             (int)strcspn(at ? at + 1 : l->to, "/"), at ? at + 1 : l->to);
    snprintf(ch->stored.qid, sizeof ch->stored.qid, "pp-stored-%lu", ++ch->mam_seq);
    snprintf(since, sizeof since, "%lld", l->when > 60 ? l->when - 60 : 0);
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "get", ch->stored.qid);
    xmpp_stanza_t *q = iq ? pp_xmpp_add_elem(ch->ctx, iq, "stored", NS_DELIVERY) : NULL;
    if (!q || xmpp_stanza_set_to(iq, ch->stored.domain) != XMPP_EOK ||
        xmpp_stanza_set_attribute(q, "with", l->to) != XMPP_EOK ||
        xmpp_stanza_set_attribute(q, "id", l->id) != XMPP_EOK ||
        xmpp_stanza_set_attribute(q, "since", since) != XMPP_EOK) {
        if (iq)
            xmpp_stanza_release(iq);
        return PP_ENOMEM;
    }
    ch->stored.answer = PP_CHANNEL_DOUBT_NONE;
    xmpp_id_handler_add(ch->conn, stored_cb, ch->stored.qid, ch);
    xmpp_send(ch->conn, iq);
    xmpp_stanza_release(iq);
    int64_t deadline = pp_mono_ms() + timeout_ms;
    while (ch->stored.answer == PP_CHANNEL_DOUBT_NONE && ch->state == X_UP && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 5);
    if (ch->stored.answer != PP_CHANNEL_DOUBT_NONE) {
        if (!ch->stored.retry)
            return PP_OK;
        pp_warn("xmpp: %s cannot tell now whether message %s is stored for %s (%s); asking "
                "again later",
                ch->stored.domain, l->id, l->to, ch->stored.reason);
        return PP_EAGAIN;
    }
    if (ch->state != X_UP)
        return PP_EAGAIN;
    pp_warn("xmpp: no answer within %d ms to %s (is message %s stored for %s?); reconnecting",
            timeout_ms, ch->stored.qid, l->id, l->to);
    xmpp_id_handler_delete(ch->conn, stored_cb, ch->stored.qid);
    return PP_ETIMEOUT;
}

int pp_xmpp_in_doubt(pp_channel_t *ch, pp_channel_lookup_t *q, size_t n, int timeout_ms)
{
    const char *ids[64];
    lookups_t l = {q, n};
    if (ch->state != X_UP)
        return PP_EAGAIN;
    /* The start time of this connection's server is what everything is compared with: wait
     * for its answer (sent at login; the archive query was answered after it, so usually
     * it is here already). */
    int64_t deadline = pp_mono_ms() + 5000;
    while (ch->uptime_state == 0 && ch->state == X_UP && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 5);
    if (ch->state != X_UP || ch->uptime_state == 0)
        return PP_EAGAIN;
    size_t k = pp_unconfirmed_in_doubt(ch->unconf, ch->conn_seq, ch->server_start, lookup_routed,
                                       &l, ids, sizeof ids / sizeof ids[0]);
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < n; i++) {
            if (q[i].fate != PP_CHANNEL_ROUTED || strcmp(q[i].id, ids[j]) != 0)
                continue;
            if (q[i].doubt != PP_CHANNEL_DOUBT_NONE)
                continue; /* decided by an earlier call (the caller kept the answer) */
            int rc = ask_stored(ch, &q[i], timeout_ms);
            if (rc)
                return rc;
            q[i].doubt = ch->stored.answer;
            if (q[i].doubt == PP_CHANNEL_DOUBT_MISSING) {
                q[i].fate = PP_CHANNEL_UNSEEN;
            } else if (q[i].doubt == PP_CHANNEL_DOUBT_UNKNOWN) {
                q[i].fate = PP_CHANNEL_IN_DOUBT;
                snprintf(q[i].reason, sizeof q[i].reason, "%s", ch->stored.reason);
            }
        }
    }
    return (int)k;
}
