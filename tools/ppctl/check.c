/* check.c - `ppctl check`: verify the buyers' XMPP inboxes against the ledger and the toggle history. */
#include "ppctl.h"

#include "db.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What is checked, for every buyer with a verified IM address and every event of a shipment
 * of theirs (a "pair"):
 *   - the ledger (notifications) has a row for it, decided (not missing, not 'sending');
 *   - 'sent': the message is in the inbox exactly once, and the decision (decided_at) fell
 *     in an interval when the buyer's toggle was on (notify_changes);
 *   - 'skipped_opted_out': not in the inbox, and decided while the toggle was off;
 *   - any other state (skipped_no_im, skipped_stale, failed): not in the inbox;
 *   - per (buyer, shipment) the messages arrived in sequence order.
 * Every inbox message must have a ledger row (by its stanza id <event_id>:<user_id>) that
 * says 'sent' to that address; IM-link code messages (kind im_link_code) are allowed on
 * those terms but are no shipment events, so they are expected nowhere.
 */

enum { ST_NONE, ST_SENDING, ST_SENT, ST_OPTED_OUT, ST_OTHER };

typedef struct {
    char event_id[40];
    long long user;
    bool link_code;    /* kind im_link_code */
    int state;
    char state_name[24];
    char address[256]; /* lower case */
    long long shipment, seq;
    char decided[40];  /* decided_at, ISO */
    bool on;           /* the toggle at decided_at */
    bool pair;         /* a (verified buyer, shipment event) pair */
    char number[64];
    int received;
    long long first_line;
} row_t;

typedef struct {
    const row_t *row;
    long long line;
} got_t;

static int cmp_row(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    int c = strcmp(x->event_id, y->event_id);
    if (c)
        return c;
    return x->user < y->user ? -1 : x->user > y->user;
}

static int cmp_got(const void *a, const void *b)
{
    const row_t *x = ((const got_t *)a)->row, *y = ((const got_t *)b)->row;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->shipment != y->shipment)
        return x->shipment < y->shipment ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    long long l = ((const got_t *)a)->line, m = ((const got_t *)b)->line;
    return l < m ? -1 : l > m;
}

static int state_of(const char *s)
{
    if (!strcmp(s, "sent"))
        return ST_SENT;
    if (!strcmp(s, "sending"))
        return ST_SENDING;
    if (!strcmp(s, "skipped_opted_out"))
        return ST_OPTED_OUT;
    return ST_OTHER;
}

static void lower_bare(char *jid)
{
    char *slash = strchr(jid, '/');
    if (slash)
        *slash = '\0';
    for (char *p = jid; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
}

/* The toggle at the decision: the last change before decided_at; before the first change,
 * the opposite of it; no change recorded at all: the current value. */
#define TOGGLE_AT_DECISION                                                                         \
    "coalesce((SELECT c.shipment_status FROM notify_changes c WHERE c.user_id = n.user_id AND "    \
    "c.changed_at < n.decided_at ORDER BY c.changed_at DESC, c.id DESC LIMIT 1), (SELECT NOT "     \
    "c.shipment_status FROM notify_changes c WHERE c.user_id = n.user_id ORDER BY c.changed_at, "  \
    "c.id LIMIT 1), u.notify_shipment_status)"

int ppctl_check(ppctl_t *ctl, int argc, char **argv)
{
    const char *inbox = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--inbox")) {
            if (!(inbox = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            inbox = NULL;
            break;
        }
    }
    if (!inbox) {
        fprintf(stderr, "usage: ppctl check --inbox FILE   (FILE: pp-inbox's JSON lines)\n");
        return 2;
    }
    FILE *f = fopen(inbox, "r");
    if (!f) {
        fprintf(stderr, "ppctl check: %s: %s\n", inbox, strerror(errno));
        return 1;
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c) {
        fclose(f);
        return 1;
    }
    PGresult *rl = NULL, *rp = NULL, *rb = NULL, *rt = NULL;
    row_t *rows = NULL;
    got_t *got = NULL;
    size_t ngot = 0;
    int status = 1;
    if (pp_db_exec(c, "ledger",
                   "SELECT n.event_id::text, n.user_id, n.kind, n.state, lower(coalesce(n.address, '')), "
                   "n.shipment_id, n.sequence, to_char(n.decided_at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " TOGGLE_AT_DECISION " "
                   "FROM notifications n JOIN users u ON u.id = n.user_id",
                   0, NULL, &rl) ||
        pp_db_exec(c, "buyer x event pairs",
                   "SELECT t.buyer_id, e.event_id::text, s.tracking_number FROM shipment_events e "
                   "JOIN shipments s ON s.id = e.shipment_id JOIN transactions t ON t.id = s.transaction_id "
                   "JOIN users u ON u.id = t.buyer_id WHERE u.im_address IS NOT NULL AND u.im_verified",
                   0, NULL, &rp) ||
        pp_db_exec(c, "buyers",
                   "SELECT count(*) FROM users u WHERE u.im_address IS NOT NULL AND u.im_verified AND "
                   "EXISTS (SELECT 1 FROM transactions t WHERE t.buyer_id = u.id)",
                   0, NULL, &rb) ||
        pp_db_exec(c, "toggles",
                   "WITH offs AS (SELECT c.user_id, c.changed_at, lead(c.changed_at) OVER (PARTITION BY "
                   "c.user_id ORDER BY c.changed_at, c.id) AS until, c.shipment_status, row_number() OVER "
                   "(PARTITION BY c.user_id ORDER BY c.changed_at, c.id) AS k FROM notify_changes c) "
                   "SELECT count(DISTINCT o.user_id), count(*), coalesce(sum((SELECT count(*) FROM "
                   "notifications n WHERE n.user_id = o.user_id AND n.state = 'skipped_opted_out' AND "
                   "n.decided_at > o.changed_at AND (o.until IS NULL OR n.decided_at < o.until))), 0) "
                   "FROM offs o WHERE NOT o.shipment_status AND o.k > 1",
                   0, NULL, &rt))
        goto out;
    size_t nr = (size_t)PQntuples(rl), np = (size_t)PQntuples(rp);
    rows = calloc(nr + 1, sizeof *rows);
    got = calloc(nr + 1, sizeof *got);
    if (!rows || !got) {
        fprintf(stderr, "ppctl check: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        row_t *r = &rows[i];
        int k = (int)i;
        snprintf(r->event_id, sizeof r->event_id, "%s", PQgetvalue(rl, k, 0));
        r->user = strtoll(PQgetvalue(rl, k, 1), NULL, 10);
        r->link_code = strcmp(PQgetvalue(rl, k, 2), "im_link_code") == 0;
        snprintf(r->state_name, sizeof r->state_name, "%s", PQgetvalue(rl, k, 3));
        r->state = state_of(r->state_name);
        snprintf(r->address, sizeof r->address, "%s", PQgetvalue(rl, k, 4));
        r->shipment = strtoll(PQgetvalue(rl, k, 5), NULL, 10);
        r->seq = strtoll(PQgetvalue(rl, k, 6), NULL, 10);
        snprintf(r->decided, sizeof r->decided, "%s", PQgetvalue(rl, k, 7));
        r->on = PQgetvalue(rl, k, 8)[0] == 't';
    }
    qsort(rows, nr, sizeof *rows, cmp_row);

    /* 1. every pair has a decided ledger row; the decision agrees with the toggle. */
    long long undecided = 0, expected = 0, sent_off = 0, skipped_on = 0, opted_out = 0, other_skip = 0;
    for (size_t i = 0; i < np; i++) {
        row_t key = {.user = strtoll(PQgetvalue(rp, (int)i, 0), NULL, 10)};
        snprintf(key.event_id, sizeof key.event_id, "%s", PQgetvalue(rp, (int)i, 1));
        row_t *r = bsearch(&key, rows, nr, sizeof *rows, cmp_row);
        if (!r || r->state == ST_SENDING) {
            if (undecided++ < 5)
                fprintf(stderr, "ppctl check: MISSING/undecided: event %s for buyer %lld (%s): %s\n",
                        key.event_id, key.user, PQgetvalue(rp, (int)i, 2),
                        r ? "ledger row still 'sending'" : "no ledger row");
            continue;
        }
        r->pair = true;
        snprintf(r->number, sizeof r->number, "%s", PQgetvalue(rp, (int)i, 2));
        if (r->state == ST_SENT) {
            expected++;
            if (!r->on && sent_off++ < 5)
                fprintf(stderr, "ppctl check: SENT WHILE OFF: event %s to buyer %lld decided at %s, "
                                "when the toggle was off\n", r->event_id, r->user, r->decided);
        } else if (r->state == ST_OPTED_OUT) {
            opted_out++;
            if (r->on && skipped_on++ < 5)
                fprintf(stderr, "ppctl check: SKIPPED WHILE ON: event %s for buyer %lld decided at %s "
                                "as opted out, when the toggle was on\n", r->event_id, r->user, r->decided);
        } else {
            other_skip++;
        }
    }

    /* 2. the inbox: every message has its 'sent' ledger row, to that address. */
    long long received = 0, link_codes = 0, unknown = 0, to_optout = 0, dups = 0, bad_body = 0,
              bad_lines = 0, lineno = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "jid");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
        if (!cJSON_IsString(jid) || !cJSON_IsString(body)) {
            if (bad_lines++ < 5)
                fprintf(stderr, "ppctl check: %s:%lld: not an inbox line\n", inbox, lineno);
            cJSON_Delete(o);
            continue;
        }
        received++;
        char to[256];
        snprintf(to, sizeof to, "%s", jid->valuestring);
        lower_bare(to);
        row_t key = {0}, *r = NULL;
        const char *colon = cJSON_IsString(id) ? strchr(id->valuestring, ':') : NULL;
        char *end = NULL;
        if (colon && colon - id->valuestring < (long)sizeof key.event_id) {
            snprintf(key.event_id, sizeof key.event_id, "%.*s", (int)(colon - id->valuestring), id->valuestring);
            errno = 0;
            key.user = strtoll(colon + 1, &end, 10);
            if (!errno && end != colon + 1 && !*end)
                r = bsearch(&key, rows, nr, sizeof *rows, cmp_row);
        }
        const char *why = !r ? "no ledger row for its id"
                          : strcmp(r->address, to) != 0 ? "the ledger sent it to another address"
                          : NULL;
        if (!why && r->state == ST_OPTED_OUT) {
            if (to_optout++ < 5)
                fprintf(stderr, "ppctl check: TO AN OPTED-OUT BUYER %s (decided at %s): %s\n", to,
                        r->decided, body->valuestring);
            cJSON_Delete(o);
            continue;
        }
        if (!why && r->state != ST_SENT) {
            why = r->state == ST_SENDING ? "its ledger row is still 'sending'" : r->state_name;
        }
        if (why) {
            if (unknown++ < 5)
                fprintf(stderr, "ppctl check: UNEXPECTED message to %s, id %s (%s): %s\n", to,
                        cJSON_IsString(id) ? id->valuestring : "(none)", why, body->valuestring);
            cJSON_Delete(o);
            continue;
        }
        if (r->received++ > 0) {
            if (dups++ < 5)
                fprintf(stderr, "ppctl check: DUPLICATE to %s: %s\n", to, body->valuestring);
        } else {
            r->first_line = lineno;
            if (!r->link_code)
                got[ngot++] = (got_t){r, lineno};
        }
        if (r->link_code)
            link_codes++;
        else if (r->number[0] && !strstr(body->valuestring, r->number) && bad_body++ < 5)
            fprintf(stderr, "ppctl check: message to %s lacks its tracking number %s: %s\n", to,
                    r->number, body->valuestring);
        cJSON_Delete(o);
    }

    /* 3. sent but never received; order per (buyer, shipment) */
    long long missing = 0, disorder = 0;
    for (size_t i = 0; i < nr; i++) {
        const row_t *r = &rows[i];
        if (r->pair && r->state == ST_SENT && r->received == 0 && missing++ < 5)
            fprintf(stderr, "ppctl check: MISSING: buyer %lld (%s) never got event %s (seq %lld of %s), "
                            "ledger says sent\n", r->user, r->address, r->event_id, r->seq, r->number);
    }
    qsort(got, ngot, sizeof *got, cmp_got);
    for (size_t i = 1; i < ngot; i++) {
        const row_t *a = got[i - 1].row, *b = got[i].row;
        if (a->user == b->user && a->shipment == b->shipment && got[i].line < got[i - 1].line &&
            disorder++ < 5)
            fprintf(stderr, "ppctl check: OUT OF ORDER to %s: seq %lld of %s arrived before seq %lld\n",
                    b->address, b->seq, b->number, a->seq);
    }

    printf("inbox check (buyers' XMPP inboxes against the ledger and the toggle history):\n");
    printf("  buyers with a verified address  %s\n", PQgetvalue(rb, 0, 0));
    printf("  buyers who turned off mid-run   %s (%s time%s; %s event%s skipped meanwhile)\n",
           PQgetvalue(rt, 0, 0), PQgetvalue(rt, 0, 1), strcmp(PQgetvalue(rt, 0, 1), "1") ? "s" : "",
           PQgetvalue(rt, 0, 2), strcmp(PQgetvalue(rt, 0, 2), "1") ? "s" : "");
    printf("  decisions: sent / opted out / other skipped  %lld / %lld / %lld\n", expected, opted_out,
           other_skip);
    printf("  messages expected               %lld\n", expected);
    printf("  messages received               %lld", received);
    if (link_codes)
        printf(" (%lld IM-link code%s)", link_codes, link_codes == 1 ? "" : "s");
    printf("\n");
    printf("  missing / undecided             %lld / %lld\n", missing, undecided);
    printf("  duplicates                      %lld\n", dups);
    printf("  out of order                    %lld\n", disorder);
    printf("  sent while off                  %lld\n", sent_off);
    printf("  skipped while on                %lld\n", skipped_on);
    printf("  to opted-out buyers             %lld\n", to_optout);
    printf("  unexpected / malformed          %lld / %lld\n", unknown, bad_body + bad_lines);
    status = (missing || undecided || dups || disorder || sent_off || skipped_on || to_optout || unknown ||
              bad_body || bad_lines || expected == 0)
                 ? 1
                 : 0;
    printf("  result                          %s\n", status ? "FAIL" : "PASS");
out:
    PQclear(rl);
    PQclear(rp);
    PQclear(rb);
    PQclear(rt);
    free(rows);
    free(got);
    fclose(f);
    PQfinish(c);
    return status;
}
