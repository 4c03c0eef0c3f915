/* check.c - `ppctl check`: verify the buyers' XMPP inboxes against the shipment history. */
#include "ppctl.h"

#include "db.h"
#include "err.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long long user;
    char event_id[40];
    long long shipment;
    long long seq;
    char number[64];
    int received; /* times received */
} expect_t;

typedef struct {
    long long user;
    int notify;
    char jid[256];
} buyer_t;

static int cmp_expect(const void *a, const void *b)
{
    const expect_t *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return strcmp(x->event_id, y->event_id);
}

static int cmp_buyer_jid(const void *a, const void *b)
{
    return strcmp(((const buyer_t *)a)->jid, ((const buyer_t *)b)->jid);
}

int ppctl_check(ppctl_t *ctl, int argc, char **argv)
{
    const char *inbox = NULL, *optout_at_s = NULL;
    long long optout = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--inbox")) {
            if (!(inbox = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (!strcmp(argv[i], "--optout")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll("--optout", v, 1, INT64_MAX, &optout))
                return 2;
        } else if (!strcmp(argv[i], "--optout-at")) {
            if (!(optout_at_s = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "usage: ppctl check --inbox FILE [--optout USER --optout-at TIME]\n");
            return 2;
        }
    }
    time_t optout_at = 0;
    if (!inbox || (optout && (!optout_at_s || pp_time_parse_iso(optout_at_s, &optout_at, NULL)))) {
        fprintf(stderr, "usage: ppctl check --inbox FILE [--optout USER --optout-at ISO-TIME]\n");
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
    PGresult *r = NULL, *rb = NULL;
    expect_t *ex = NULL;
    buyer_t *by = NULL;
    int status = 1;
    if (pp_db_exec(c, "buyers",
                   "SELECT u.id, u.notify_shipment_status, lower(u.im_address) FROM users u "
                   "WHERE u.im_address IS NOT NULL AND u.im_verified AND EXISTS (SELECT 1 FROM "
                   "transactions t WHERE t.buyer_id = u.id)",
                   0, NULL, &rb) ||
        pp_db_exec(c, "expected events",
                   "SELECT t.buyer_id, e.event_id, e.shipment_id, e.sequence, s.tracking_number "
                   "FROM shipment_events e JOIN shipments s ON s.id = e.shipment_id "
                   "JOIN transactions t ON t.id = s.transaction_id "
                   "ORDER BY t.buyer_id, e.shipment_id, e.sequence",
                   0, NULL, &r))
        goto out;
    size_t nb = (size_t)PQntuples(rb), ne = (size_t)PQntuples(r);
    by = calloc(nb + 1, sizeof *by);
    ex = calloc(ne + 1, sizeof *ex);
    if (!by || !ex)
        goto out;
    for (size_t i = 0; i < nb; i++) {
        by[i].user = strtoll(PQgetvalue(rb, (int)i, 0), NULL, 10);
        by[i].notify = PQgetvalue(rb, (int)i, 1)[0] == 't';
        snprintf(by[i].jid, sizeof by[i].jid, "%s", PQgetvalue(rb, (int)i, 2));
    }
    for (size_t i = 0; i < ne; i++) {
        ex[i].user = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        snprintf(ex[i].event_id, sizeof ex[i].event_id, "%s", PQgetvalue(r, (int)i, 1));
        ex[i].shipment = strtoll(PQgetvalue(r, (int)i, 2), NULL, 10);
        ex[i].seq = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
        snprintf(ex[i].number, sizeof ex[i].number, "%s", PQgetvalue(r, (int)i, 4));
    }
    qsort(by, nb, sizeof *by, cmp_buyer_jid);
    qsort(ex, ne, sizeof *ex, cmp_expect);

    long long received = 0, unknown = 0, dups = 0, disorder = 0, to_optout = 0, after_optout = 0,
              bad_body = 0, bad_lines = 0, lineno = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "jid");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
        const cJSON *stamp = cJSON_GetObjectItemCaseSensitive(o, "stamp");
        if (!cJSON_IsString(jid) || !cJSON_IsString(body)) {
            if (bad_lines++ < 5)
                fprintf(stderr, "ppctl check: %s:%lld: not an inbox line\n", inbox, lineno);
            cJSON_Delete(o);
            continue;
        }
        received++;
        buyer_t key = {0};
        snprintf(key.jid, sizeof key.jid, "%s", jid->valuestring);
        char *slash = strchr(key.jid, '/');
        if (slash)
            *slash = '\0';
        for (char *p = key.jid; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        buyer_t *b = bsearch(&key, by, nb, sizeof *by, cmp_buyer_jid);
        expect_t ek = {0}, *e = NULL;
        if (b && cJSON_IsString(id)) {
            ek.user = b->user;
            snprintf(ek.event_id, sizeof ek.event_id, "%.36s", id->valuestring);
            e = bsearch(&ek, ex, ne, sizeof *ex, cmp_expect);
        }
        if (!e) {
            if (unknown++ < 5)
                fprintf(stderr, "ppctl check: unexpected message to %s: id %s: %s\n", key.jid,
                        cJSON_IsString(id) ? id->valuestring : "(none)", body->valuestring);
            cJSON_Delete(o);
            continue;
        }
        if (e->received++ > 0 && dups++ < 5)
            fprintf(stderr, "ppctl check: DUPLICATE to %s: %s\n", key.jid, body->valuestring);
        if (!strstr(body->valuestring, e->number) && bad_body++ < 5)
            fprintf(stderr, "ppctl check: message to %s lacks its tracking number: %s\n", key.jid,
                    body->valuestring);
        /* Order: every earlier-sequence event of this shipment for this user must
         * already have been received if it is received at all; find later ones. */
        for (size_t k = 0; k < ne; k++) {
            if (ex[k].user == e->user && ex[k].shipment == e->shipment && ex[k].seq > e->seq &&
                ex[k].received > 0) {
                if (disorder++ < 5)
                    fprintf(stderr, "ppctl check: OUT OF ORDER to %s: seq %lld after seq %lld of %s\n",
                            key.jid, e->seq, ex[k].seq, e->number);
                break;
            }
        }
        if (!b->notify && b->user != optout && to_optout++ < 5)
            fprintf(stderr, "ppctl check: opted-out buyer %s got: %s\n", key.jid, body->valuestring);
        if (b->user == optout && cJSON_IsString(stamp)) {
            time_t st;
            if (pp_time_parse_iso(stamp->valuestring, &st, NULL) == 0 && st > optout_at &&
                after_optout++ < 5)
                fprintf(stderr, "ppctl check: buyer %s got a message at %s, after turning "
                                "notifications off at %s: %s\n",
                        key.jid, stamp->valuestring, optout_at_s, body->valuestring);
        }
        cJSON_Delete(o);
    }
    long long expected = 0, missing = 0, optin_buyers = 0, optout_buyers = 0;
    for (size_t i = 0; i < nb; i++) {
        if (by[i].user == optout)
            continue;
        by[i].notify ? optin_buyers++ : optout_buyers++;
    }
    for (size_t i = 0; i < ne; i++) {
        buyer_t *b = NULL;
        for (size_t k = 0; k < nb; k++) /* nb is small (hundreds) */
            if (by[k].user == ex[i].user) {
                b = &by[k];
                break;
            }
        if (!b || !b->notify || b->user == optout)
            continue;
        expected++;
        if (ex[i].received == 0 && missing++ < 5)
            fprintf(stderr, "ppctl check: MISSING: buyer %s never got event %s (seq %lld of %s)\n",
                    b->jid, ex[i].event_id, ex[i].seq, ex[i].number);
    }
    printf("inbox check (from the buyers' XMPP inboxes):\n");
    printf("  opted-in buyers            %lld\n", optin_buyers);
    printf("  opted-out buyers           %lld\n", optout_buyers);
    printf("  messages expected          %lld\n", expected);
    printf("  messages received          %lld\n", received);
    printf("  missing                    %lld\n", missing);
    printf("  duplicates                 %lld\n", dups);
    printf("  out of order               %lld\n", disorder);
    printf("  to opted-out buyers        %lld\n", to_optout);
    if (optout)
        printf("  after opt-out (buyer %lld)  %lld\n", optout, after_optout);
    printf("  unexpected / malformed     %lld / %lld\n", unknown, bad_body + bad_lines);
    status = (missing || dups || disorder || to_optout || after_optout || unknown || bad_body ||
              bad_lines || expected == 0)
                 ? 1
                 : 0;
    printf("  result                     %s\n", status ? "FAIL" : "PASS");
out:
    PQclear(r);
    PQclear(rb);
    free(ex);
    free(by);
    fclose(f);
    PQfinish(c);
    return status;
}
