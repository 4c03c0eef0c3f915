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
    bool link_code; /* kind im_link_code */
    int state;
    char state_name[24];
    char address[256]; /* lower case */
    long long shipment, seq;
    char decided[40]; /* decided_at, ISO */
    bool on;          /* the toggle at decided_at */
    bool pair;        /* a (verified buyer, shipment event) pair */
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

typedef struct {
    const char *inbox;           /* the file's name, for messages */
    PGresult *rl, *rp, *rb, *rt; /* ledger, buyer x event pairs, buyers, toggles */
    row_t *rows;                 /* the ledger, sorted by cmp_row */
    size_t nr;
    got_t *got; /* shipment messages received, first copy each */
    size_t ngot;
    long long undecided, expected, sent_off, skipped_on, opted_out, other_skip;
    long long received, link_codes, unknown, to_optout, dups, bad_body, bad_lines;
    long long missing, disorder;
} check_t;

/* Runs the four queries: the ledger, the buyer x event pairs and the two summary counts. */
static int check_query(check_t *k, PGconn *c)
{
    if (pp_db_exec(c, "ledger",
                   "SELECT n.event_id::text, n.user_id, n.kind, n.state, lower(coalesce(n.address, '')), "
                   "n.shipment_id, n.sequence, to_char(n.decided_at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " TOGGLE_AT_DECISION " "
                   "FROM notifications n JOIN users u ON u.id = n.user_id",
                   0, NULL, &k->rl) ||
        pp_db_exec(c, "buyer x event pairs",
                   "SELECT t.buyer_id, e.event_id::text, s.tracking_number FROM shipment_events e "
                   "JOIN shipments s ON s.id = e.shipment_id JOIN transactions t ON t.id = s.transaction_id "
                   "JOIN users u ON u.id = t.buyer_id WHERE u.im_address IS NOT NULL AND u.im_verified",
                   0, NULL, &k->rp) ||
        pp_db_exec(c, "buyers",
                   "SELECT count(*) FROM users u WHERE u.im_address IS NOT NULL AND u.im_verified AND "
                   "EXISTS (SELECT 1 FROM transactions t WHERE t.buyer_id = u.id)",
                   0, NULL, &k->rb) ||
        pp_db_exec(c, "toggles",
                   "WITH offs AS (SELECT c.user_id, c.changed_at, lead(c.changed_at) OVER (PARTITION BY "
                   "c.user_id ORDER BY c.changed_at, c.id) AS until, c.shipment_status, row_number() OVER "
                   "(PARTITION BY c.user_id ORDER BY c.changed_at, c.id) AS k FROM notify_changes c) "
                   "SELECT count(DISTINCT o.user_id), count(*), coalesce(sum((SELECT count(*) FROM "
                   "notifications n WHERE n.user_id = o.user_id AND n.state = 'skipped_opted_out' AND "
                   "n.decided_at > o.changed_at AND (o.until IS NULL OR n.decided_at < o.until))), 0) "
                   "FROM offs o WHERE NOT o.shipment_status AND o.k > 1",
                   0, NULL, &k->rt))
        return -1;
    return 0;
}

/* Copies the ledger result into k->rows, sorted by (event id, user) for bsearch. */
static int check_load_ledger(check_t *k)
{
    size_t nr = (size_t)PQntuples(k->rl);
    k->rows = calloc(nr + 1, sizeof *k->rows);
    k->got = calloc(nr + 1, sizeof *k->got);
    if (!k->rows || !k->got) {
        fprintf(stderr, "ppctl check: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < nr; i++) {
        row_t *r = &k->rows[i];
        const PGresult *rl = k->rl;
        int n = (int)i;
        snprintf(r->event_id, sizeof r->event_id, "%s", PQgetvalue(rl, n, 0));
        r->user = strtoll(PQgetvalue(rl, n, 1), NULL, 10);
        r->link_code = strcmp(PQgetvalue(rl, n, 2), "im_link_code") == 0;
        snprintf(r->state_name, sizeof r->state_name, "%s", PQgetvalue(rl, n, 3));
        r->state = state_of(r->state_name);
        snprintf(r->address, sizeof r->address, "%s", PQgetvalue(rl, n, 4));
        r->shipment = strtoll(PQgetvalue(rl, n, 5), NULL, 10);
        r->seq = strtoll(PQgetvalue(rl, n, 6), NULL, 10);
        snprintf(r->decided, sizeof r->decided, "%s", PQgetvalue(rl, n, 7));
        r->on = PQgetvalue(rl, n, 8)[0] == 't';
    }
    k->nr = nr;
    qsort(k->rows, nr, sizeof *k->rows, cmp_row);
    return 0;
}

/* Step 1: every pair has a decided ledger row; the decision agrees with the toggle. */
static void check_pairs(check_t *k)
{
    const PGresult *rp = k->rp;
    size_t np = (size_t)PQntuples(rp);
    for (size_t i = 0; i < np; i++) {
        row_t key = {.user = strtoll(PQgetvalue(rp, (int)i, 0), NULL, 10)};
        snprintf(key.event_id, sizeof key.event_id, "%s", PQgetvalue(rp, (int)i, 1));
        row_t *r = bsearch(&key, k->rows, k->nr, sizeof *k->rows, cmp_row);
        if (!r || r->state == ST_SENDING) {
            if (k->undecided++ < 5)
                fprintf(stderr, "ppctl check: MISSING/undecided: event %s for buyer %lld (%s): %s\n",
                        key.event_id, key.user, PQgetvalue(rp, (int)i, 2),
                        r ? "ledger row still 'sending'" : "no ledger row");
            continue;
        }
        r->pair = true;
        snprintf(r->number, sizeof r->number, "%s", PQgetvalue(rp, (int)i, 2));
        if (r->state == ST_SENT) {
            k->expected++;
            if (!r->on && k->sent_off++ < 5)
                fprintf(stderr,
                        "ppctl check: SENT WHILE OFF: event %s to buyer %lld decided at %s, "
                        "when the toggle was off\n",
                        r->event_id, r->user, r->decided);
        } else if (r->state == ST_OPTED_OUT) {
            k->opted_out++;
            if (r->on && k->skipped_on++ < 5)
                fprintf(stderr,
                        "ppctl check: SKIPPED WHILE ON: event %s for buyer %lld decided at %s "
                        "as opted out, when the toggle was on\n",
                        r->event_id, r->user, r->decided);
        } else {
            k->other_skip++;
        }
    }
}

/* The ledger row an inbox message's stanza id <event_id>:<user_id> names, or NULL. */
static row_t *check_row_of(const check_t *k, const cJSON *id)
{
    row_t key = {0};
    const char *colon = cJSON_IsString(id) ? strchr(id->valuestring, ':') : NULL;
    char *end = NULL;
    if (!colon || colon - id->valuestring >= (long)sizeof key.event_id)
        return NULL;
    snprintf(key.event_id, sizeof key.event_id, "%.*s", (int)(colon - id->valuestring),
             id->valuestring);
    errno = 0;
    key.user = strtoll(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end)
        return NULL;
    return bsearch(&key, k->rows, k->nr, sizeof *k->rows, cmp_row);
}

/* Step 2, one inbox message: it has its 'sent' ledger row, to that address, once. */
static void check_inbox_line(check_t *k, const cJSON *o, long long lineno)
{
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "jid");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (!cJSON_IsString(jid) || !cJSON_IsString(body)) {
        if (k->bad_lines++ < 5)
            fprintf(stderr, "ppctl check: %s:%lld: not an inbox line\n", k->inbox, lineno);
        return;
    }
    k->received++;
    char to[256];
    snprintf(to, sizeof to, "%s", jid->valuestring);
    lower_bare(to);
    row_t *r = check_row_of(k, id);
    const char *why = !r                            ? "no ledger row for its id"
                      : strcmp(r->address, to) != 0 ? "the ledger sent it to another address"
                                                    : NULL;
    if (!why && r->state == ST_OPTED_OUT) {
        if (k->to_optout++ < 5)
            fprintf(stderr, "ppctl check: TO AN OPTED-OUT BUYER %s (decided at %s): %s\n", to,
                    r->decided, body->valuestring);
        return;
    }
    if (!why && r->state != ST_SENT) {
        why = r->state == ST_SENDING ? "its ledger row is still 'sending'" : r->state_name;
    }
    if (why) {
        if (k->unknown++ < 5)
            fprintf(stderr, "ppctl check: UNEXPECTED message to %s, id %s (%s): %s\n", to,
                    cJSON_IsString(id) ? id->valuestring : "(none)", why, body->valuestring);
        return;
    }
    if (r->received++ > 0) {
        if (k->dups++ < 5)
            fprintf(stderr, "ppctl check: DUPLICATE to %s: %s\n", to, body->valuestring);
    } else {
        r->first_line = lineno;
        if (!r->link_code)
            k->got[k->ngot++] = (got_t){r, lineno};
    }
    if (r->link_code)
        k->link_codes++;
    else if (r->number[0] && !strstr(body->valuestring, r->number) && k->bad_body++ < 5)
        fprintf(stderr, "ppctl check: message to %s lacks its tracking number %s: %s\n", to,
                r->number, body->valuestring);
}

/* Step 2: reads the inbox file line by line. */
static void check_inbox(check_t *k, FILE *f)
{
    long long lineno = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        check_inbox_line(k, o, lineno);
        cJSON_Delete(o);
    }
}

/* Step 3: sent but never received; order per (buyer, shipment). */
static void check_missing_and_order(check_t *k)
{
    for (size_t i = 0; i < k->nr; i++) {
        const row_t *r = &k->rows[i];
        if (r->pair && r->state == ST_SENT && r->received == 0 && k->missing++ < 5)
            fprintf(stderr,
                    "ppctl check: MISSING: buyer %lld (%s) never got event %s (seq %lld of %s), "
                    "ledger says sent\n",
                    r->user, r->address, r->event_id, r->seq, r->number);
    }
    qsort(k->got, k->ngot, sizeof *k->got, cmp_got);
    for (size_t i = 1; i < k->ngot; i++) {
        const row_t *a = k->got[i - 1].row, *b = k->got[i].row;
        if (a->user == b->user && a->shipment == b->shipment &&
            k->got[i].line < k->got[i - 1].line && k->disorder++ < 5)
            fprintf(stderr, "ppctl check: OUT OF ORDER to %s: seq %lld of %s arrived before seq %lld\n",
                    b->address, b->seq, b->number, a->seq);
    }
}

/* Prints the summary table; returns 1 when anything is off (or nothing was expected), else 0. */
static int check_report(const check_t *k)
{
    const PGresult *rb = k->rb, *rt = k->rt;
    printf("inbox check (buyers' XMPP inboxes against the ledger and the toggle history):\n");
    printf("  buyers with a verified address  %s\n", PQgetvalue(rb, 0, 0));
    printf("  buyers who turned off mid-run   %s (%s time%s; %s event%s skipped meanwhile)\n",
           PQgetvalue(rt, 0, 0), PQgetvalue(rt, 0, 1), strcmp(PQgetvalue(rt, 0, 1), "1") ? "s" : "",
           PQgetvalue(rt, 0, 2), strcmp(PQgetvalue(rt, 0, 2), "1") ? "s" : "");
    printf("  decisions: sent / opted out / other skipped  %lld / %lld / %lld\n", k->expected,
           k->opted_out, k->other_skip);
    printf("  messages expected               %lld\n", k->expected);
    printf("  messages received               %lld", k->received);
    if (k->link_codes)
        printf(" (%lld IM-link code%s)", k->link_codes, k->link_codes == 1 ? "" : "s");
    printf("\n");
    printf("  missing / undecided             %lld / %lld\n", k->missing, k->undecided);
    printf("  duplicates                      %lld\n", k->dups);
    printf("  out of order                    %lld\n", k->disorder);
    printf("  sent while off                  %lld\n", k->sent_off);
    printf("  skipped while on                %lld\n", k->skipped_on);
    printf("  to opted-out buyers             %lld\n", k->to_optout);
    printf("  unexpected / malformed          %lld / %lld\n", k->unknown, k->bad_body + k->bad_lines);
    int status = (k->missing || k->undecided || k->dups || k->disorder || k->sent_off || k->skipped_on ||
                  k->to_optout || k->unknown || k->bad_body || k->bad_lines || k->expected == 0)
                     ? 1
                     : 0;
    printf("  result                          %s\n", status ? "FAIL" : "PASS");
    return status;
}

int ppctl_check(ppctl_t *ctl, int argc, char **argv)
{
    check_t k = {.inbox = NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--inbox")) {
            if (!(k.inbox = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            k.inbox = NULL;
            break;
        }
    }
    if (!k.inbox) {
        fprintf(stderr, "usage: ppctl check --inbox FILE   (FILE: pp-inbox's JSON lines)\n");
        return 2;
    }
    FILE *f = fopen(k.inbox, "r");
    if (!f) {
        fprintf(stderr, "ppctl check: %s: %s\n", k.inbox, strerror(errno));
        return 1;
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c) {
        fclose(f);
        return 1;
    }
    int rc = 1;
    if (check_query(&k, c) == 0 && check_load_ledger(&k) == 0) {
        check_pairs(&k);
        check_inbox(&k, f);
        check_missing_and_order(&k);
        rc = check_report(&k);
    }
    PQclear(k.rl);
    PQclear(k.rp);
    PQclear(k.rb);
    PQclear(k.rt);
    free(k.rows);
    free(k.got);
    fclose(f);
    PQfinish(c);
    return rc;
}
