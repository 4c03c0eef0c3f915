/* seed.c - `ppctl ship`, `ppctl seed` (demo data, or the demo's plan) and `ppctl user` (notification toggle). */
#include "ppctl.h"

#include "carriers/carrier.h"
#include "carriers/numbers.h"
#include "db.h"
#include "err.h"
#include "shipment.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int ppctl_ship(ppctl_t *ctl, int argc, char **argv)
{
    long long txn = 0;
    const char *carrier = NULL, *number = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--transaction") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--transaction", v, 1, INT64_MAX, &txn))
                return 2;
        } else if (strcmp(argv[i], "--carrier") == 0) {
            if (!(carrier = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (strcmp(argv[i], "--number") == 0) {
            if (!(number = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "ppctl ship: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!txn || !carrier || !number) {
        fprintf(stderr, "usage: ppctl ship --transaction ID --carrier NAME --number N\n");
        return 2;
    }
    /* Sellers paste numbers with spaces, dashes, lower case; store the normalized form. */
    char clean[PP_NUMBER_MAX];
    if (pp_number_normalize(number, clean, sizeof clean)) {
        fprintf(stderr, "ppctl ship: '%s' is not a tracking number\n", number);
        return 1;
    }

    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    pp_shipment_entry_t e = {txn, carrier, clean, ctl->cfg.topic};
    long long id;
    bool created;
    char err[512];
    int rc = pp_shipment_enter(c, &e, &id, &created, err, sizeof err);
    PQfinish(c);
    if (rc) {
        fprintf(stderr, "ppctl ship: %s\n", err);
        return 1;
    }
    printf("{\"shipment_id\":%lld,\"created\":%s}\n", id, created ? "true" : "false");
    return 0;
}

/* Deterministic spread so the same seed gives the same demo. */
static unsigned long long mix(unsigned long long x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/*
 * --carrier: "mix" spreads the shipments over every carrier that has both an adapter in
 * the registry and a number format (so it grows as adapters land); a name picks one.
 * Fills names[] and returns how many, or 0 (after saying why) when none is usable.
 */
static size_t seed_carriers(const char *want, const char **names, size_t cap)
{
    size_t n_all, n = 0;
    const char *const *all = pp_number_carriers(&n_all);
    for (size_t i = 0; i < n_all && n < cap; i++)
        if (pp_carrier_find(all[i]) && (!strcmp(want, "mix") || !strcasecmp(want, all[i])))
            names[n++] = all[i];
    if (n == 0 && strcmp(want, "mix") != 0)
        fprintf(stderr,
                "ppctl seed: --carrier %s: not a registered carrier with a number "
                "format (use mix or one of the registered adapters)\n",
                want);
    else if (n == 0)
        fprintf(stderr, "ppctl seed: no registered carrier has a number format\n");
    return n;
}

/*
 * What a seeded buyer and transaction look like, written once and used both by the inserts
 * and by --plan (which only reads them back): users first..first+B-1 with opt-in and
 * locale spread by a hash, buyer<id>@domain; transaction g bought by a spread-out buyer from
 * one of S sellers (first..first+S-1).
 * Parameters: $1 first id, $2 buyers, $3 opt-in %, $4 XMPP domain, $5 English %.
 */
#define SEED_USERS_SQL                                                                             \
    "SELECT g, CASE WHEN abs(hashint4(g::int # 7)) % 100 < $5::int THEN 'en' ELSE 'pl' END, "      \
    "abs(hashint4(g::int)) % 100 < $3::int, 'xmpp', 'buyer' || g || '@' || $4, true "              \
    "FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) g"
/* $1 first id, $2 buyers, $3 transactions, $4 sellers. */
#define SEED_TRANSACTIONS_SQL                                                                       \
    "SELECT g, $1::bigint + (g - $1::bigint) * 7919 % $2::bigint, $1::bigint + (g - $1::bigint) % " \
    "$4::bigint FROM generate_series($1::bigint, $1::bigint + $3::bigint - 1) g"

/*
 * The carrier and tracking number of transaction t: the carrier by a hash of the id, the
 * number from the run and the id. pp_number_example is one-to-one on seeds below 10^10 for
 * every carrier, so the numbers of one run are distinct (ids are fewer than 10^7 apart).
 */
static int seed_number(long long t, long long run, const char *const *names, size_t n_names,
                       size_t *ci, char *number, size_t cap)
{
    *ci = (size_t)(mix((unsigned long long)t) % n_names);
    uint64_t nseed = (uint64_t)run * 10000000ULL + (uint64_t)t % 10000000ULL;
    if (pp_number_example(names[*ci], nseed, number, cap)) {
        fprintf(stderr, "ppctl seed: no example number for %s\n", names[*ci]);
        return PP_EINVAL;
    }
    return PP_OK;
}

/* One JSON line of the plan; 0 or -1 (after saying why). */
static int plan_line(FILE *out, const char *path, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    int rc = s && fprintf(out, "%s\n", s) > 0 ? 0 : -1;
    if (rc)
        fprintf(stderr, "ppctl seed: cannot write the plan to %s\n", path);
    free(s);
    cJSON_Delete(o);
    return rc;
}

/*
 * --plan FILE: what the seed would insert, as JSON lines, inserting nothing (the demo enters
 * it through the API): {"kind":"meta",...}, then one {"kind":"user",...} per buyer and one
 * {"kind":"transaction",...} per transaction with its carrier, number and "detected" (the
 * carrier detection names for the number alone, null when it would ask).
 */
static int seed_plan(PGconn *c, const char *path, const char *const *pu, const char *const *pt,
                     long long first, long long transactions, long long run,
                     const char *const *names, size_t n_names, long long *per_carrier)
{
    PGresult *ru = NULL, *rt = NULL;
    FILE *out = NULL;
    int status = 1;
    if (pp_db_exec(c, "plan buyers", SEED_USERS_SQL " ORDER BY g", 5, pu, &ru) ||
        pp_db_exec(c, "plan transactions", SEED_TRANSACTIONS_SQL " ORDER BY g", 4, pt, &rt))
        goto out;
    if (!(out = fopen(path, "w"))) {
        perror(path);
        goto out;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "kind", "meta");
    cJSON_AddNumberToObject(m, "run", (double)run);
    cJSON_AddNumberToObject(m, "first_id", (double)first);
    cJSON_AddNumberToObject(m, "buyers", PQntuples(ru));
    cJSON_AddNumberToObject(m, "transactions", (double)transactions);
    if (plan_line(out, path, m))
        goto out;
    for (int i = 0; i < PQntuples(ru); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "user");
        cJSON_AddNumberToObject(o, "id", (double)strtoll(PQgetvalue(ru, i, 0), NULL, 10));
        cJSON_AddStringToObject(o, "locale", PQgetvalue(ru, i, 1));
        cJSON_AddBoolToObject(o, "notify", PQgetvalue(ru, i, 2)[0] == 't');
        cJSON_AddStringToObject(o, "im_channel", PQgetvalue(ru, i, 3));
        cJSON_AddStringToObject(o, "im_address", PQgetvalue(ru, i, 4));
        if (plan_line(out, path, o))
            goto out;
    }
    for (int i = 0; i < PQntuples(rt); i++) {
        long long t = strtoll(PQgetvalue(rt, i, 0), NULL, 10);
        char number[PP_NUMBER_MAX];
        size_t ci, nc = 0;
        pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
        if (seed_number(t, run, names, n_names, &ci, number, sizeof number))
            goto out;
        per_carrier[ci]++;
        bool alone = pp_number_detect(number, cand, PP_NUMBER_MAX_CANDIDATES, &nc) == 0 && nc == 1;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "transaction");
        cJSON_AddNumberToObject(o, "id", (double)t);
        cJSON_AddNumberToObject(o, "buyer_id", (double)strtoll(PQgetvalue(rt, i, 1), NULL, 10));
        cJSON_AddNumberToObject(o, "seller_id", (double)strtoll(PQgetvalue(rt, i, 2), NULL, 10));
        cJSON_AddStringToObject(o, "carrier", names[ci]);
        cJSON_AddStringToObject(o, "tracking_number", number);
        if (alone)
            cJSON_AddStringToObject(o, "detected", cand[0].carrier);
        else
            cJSON_AddNullToObject(o, "detected");
        if (plan_line(out, path, o))
            goto out;
    }
    status = 0;
out:
    if (out && fclose(out)) {
        perror(path);
        status = 1;
    }
    PQclear(ru);
    PQclear(rt);
    return status;
}

/* ppctl seed's options. */
typedef struct seed_opts {
    long long transactions, buyers, optin, first, run, en_pct, sellers;
    const char *carrier, *accounts, *domain, *plan;
} seed_opts_t;

/* Reads ppctl seed's options into so (defaults filled in); 0, or 2 after a usage line. */
static int seed_args(int argc, char **argv, seed_opts_t *so)
{
    *so = (seed_opts_t){.transactions = 1000,
                        .optin = 70,
                        .first = 1,
                        .en_pct = 10,
                        .sellers = 1,
                        .carrier = "mix",
                        .domain = "parcelpush.test"};
    for (int i = 1; i < argc; i++) {
        const char *v;
        const char *o = argv[i];
        if (strcmp(o, "--transactions") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll(o, v, 1, 10000000, &so->transactions))
                return 2;
        } else if (strcmp(o, "--buyers") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll(o, v, 1, 10000000, &so->buyers))
                return 2;
        } else if (strcmp(o, "--sellers") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll(o, v, 1, 100000, &so->sellers))
                return 2;
        } else if (strcmp(o, "--optin") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll(o, v, 0, 100, &so->optin))
                return 2;
        } else if (strcmp(o, "--english") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll(o, v, 0, 100, &so->en_pct))
                return 2;
        } else if (strcmp(o, "--first-id") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll(o, v, 1, INT64_MAX / 2, &so->first))
                return 2;
        } else if (strcmp(o, "--run") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll(o, v, 0, 99999, &so->run))
                return 2;
        } else if (strcmp(o, "--carrier") == 0) {
            if (!(so->carrier = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (strcmp(o, "--accounts") == 0) {
            if (!(so->accounts = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (strcmp(o, "--xmpp-domain") == 0) {
            if (!(so->domain = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (strcmp(o, "--plan") == 0) {
            if (!(so->plan = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr,
                    "usage: ppctl seed --transactions N [--buyers B] [--sellers S] [--optin PCT] "
                    "[--english PCT] [--first-id ID] [--run R] [--carrier mix|NAME] "
                    "[--accounts FILE] [--xmpp-domain D] [--plan FILE]\n"
                    "  --plan FILE: write what would be inserted as JSON lines, insert nothing\n");
            return 2;
        }
    }
    return 0;
}

/* Inserts the buyers, sellers and transactions, then enters one shipment per transaction;
 * counts the new shipments in *made and each carrier's in per_carrier. */
static int seed_insert(ppctl_t *ctl, PGconn *c, const seed_opts_t *so, const char *const *pu,
                       const char *const *pt, const char *const *names, size_t n_names,
                       long long *per_carrier, long long *made)
{
    if (pp_db_exec(c, "insert demo buyers",
                   "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, "
                   "im_verified) " SEED_USERS_SQL " ON CONFLICT (id) DO NOTHING",
                   5, pu, NULL))
        return 1;
    const char *ps[] = {pt[0], pt[3]};
    if (pp_db_exec(c, "insert demo sellers",
                   "INSERT INTO sellers (id, name) SELECT g, 'Demo seller ' || g FROM "
                   "generate_series($1::bigint, $1::bigint + $2::bigint - 1) g ON CONFLICT (id) DO NOTHING",
                   2, ps, NULL))
        return 1;
    if (pp_db_exec(c, "insert demo transactions",
                   "INSERT INTO transactions (id, buyer_id, seller_id) " SEED_TRANSACTIONS_SQL
                   " ON CONFLICT (id) DO NOTHING",
                   4, pt, NULL))
        return 1;
    for (long long t = so->first; t < so->first + so->transactions; t++) {
        char number[PP_NUMBER_MAX], err[512];
        size_t ci;
        if (seed_number(t, so->run, names, n_names, &ci, number, sizeof number))
            return 1;
        pp_shipment_entry_t se = {t, names[ci], number, ctl->cfg.topic};
        long long sid;
        bool created;
        if (pp_shipment_enter(c, &se, &sid, &created, err, sizeof err)) {
            fprintf(stderr, "ppctl seed: %s\n", err);
            return 1;
        }
        *made += created;
        per_carrier[ci]++;
        if ((t - so->first + 1) % 200 == 0)
            fprintf(stderr, "\rppctl seed: %lld/%lld shipments", t - so->first + 1, so->transactions);
    }
    return 0;
}

/* Writes the buyers' XMPP accounts ("buyerN buyerpassN" lines) for the demo's server. */
static int seed_accounts(const seed_opts_t *so)
{
    FILE *acc = fopen(so->accounts, "w");
    if (!acc) {
        perror(so->accounts);
        return 1;
    }
    for (long long u = so->first; u < so->first + so->buyers; u++)
        fprintf(acc, "buyer%lld buyerpass%lld\n", u, u);
    if (fclose(acc)) {
        perror(so->accounts);
        return 1;
    }
    return 0;
}

int ppctl_seed(ppctl_t *ctl, int argc, char **argv)
{
    seed_opts_t so;
    if (seed_args(argc, argv, &so))
        return 2;
    if (!so.buyers)
        so.buyers = so.transactions / 3 > 0 ? so.transactions / 3 : 1;
    if (so.sellers > so.transactions)
        so.sellers = so.transactions;
    if (!so.run)
        so.run = (long long)(time(NULL) % 100000);
    const char *names[PP_NUMBER_MAX_CANDIDATES];
    long long per_carrier[PP_NUMBER_MAX_CANDIDATES] = {0};
    size_t n_names = seed_carriers(so.carrier, names, PP_NUMBER_MAX_CANDIDATES);
    if (!n_names)
        return 2;

    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    int status = 1;
    char a[32], b[32], d[32], e[32], f[32], s[32];
    snprintf(a, sizeof a, "%lld", so.first);
    snprintf(b, sizeof b, "%lld", so.buyers);
    snprintf(d, sizeof d, "%lld", so.optin);
    snprintf(e, sizeof e, "%lld", so.en_pct);
    snprintf(f, sizeof f, "%lld", so.transactions);
    snprintf(s, sizeof s, "%lld", so.sellers);
    const char *pu[] = {a, b, d, so.domain, e};
    const char *pt[] = {a, b, f, s};
    long long made = 0;
    if (so.plan) {
        if (seed_plan(c, so.plan, pu, pt, so.first, so.transactions, so.run, names, n_names, per_carrier))
            goto out;
        fprintf(stderr, "ppctl seed: plan of %lld buyers, %lld sellers, %lld transactions (",
                so.buyers, so.sellers, so.transactions);
    } else {
        if (seed_insert(ctl, c, &so, pu, pt, names, n_names, per_carrier, &made))
            goto out;
        fprintf(stderr, "\rppctl seed: %lld buyers, %lld transactions, %lld new shipments (",
                so.buyers, so.transactions, made);
    }
    for (size_t i = 0; i < n_names; i++)
        fprintf(stderr, "%s%s %lld", i ? ", " : "", names[i], per_carrier[i]);
    fprintf(stderr, ")\n");
    if (so.accounts && seed_accounts(&so))
        goto out;
    status = 0;
out:
    PQfinish(c);
    return status;
}

int ppctl_user(ppctl_t *ctl, int argc, char **argv)
{
    long long id = 0;
    const char *notify = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--id") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll("--id", v, 1, INT64_MAX, &id))
                return 2;
        } else if (strcmp(argv[i], "--notify") == 0) {
            if (!(notify = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "ppctl user: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!id || !notify || (strcmp(notify, "on") && strcmp(notify, "off"))) {
        fprintf(stderr, "usage: ppctl user --id ID --notify on|off\n");
        return 2;
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[] = {ids, strcmp(notify, "on") == 0 ? "true" : "false"};
    PGresult *r;
    int status = 1;
    if (pp_db_exec(c, "toggle notifications",
                   "UPDATE users SET notify_shipment_status = $2::boolean " /* changed_at: the 0007 trigger */
                   "WHERE id = $1 RETURNING to_char(notify_changed_at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                   2, p, &r) == 0) {
        if (PQntuples(r) == 1) {
            printf("{\"user\":%lld,\"notify\":%s,\"changed_at\":\"%s\"}\n", id,
                   strcmp(notify, "on") == 0 ? "true" : "false", PQgetvalue(r, 0, 0));
            status = 0;
        } else {
            fprintf(stderr, "ppctl user: user %lld does not exist\n", id);
        }
        PQclear(r);
    }
    PQfinish(c);
    return status;
}
