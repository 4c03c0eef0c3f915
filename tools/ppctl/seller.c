/* seller.c - ppctl seller: create or rename a seller, issue a new WebAPI key (stored hashed). */
#include "ppctl.h"

#include "db.h"
#include "err.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int ppctl_seller(ppctl_t *ctl, int argc, char **argv)
{
    long long id = 0;
    const char *name = NULL;
    int new_key = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--id") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll("--id", v, 1, INT64_MAX, &id))
                return 2;
        } else if (strcmp(argv[i], "--name") == 0) {
            if (!(name = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (strcmp(argv[i], "--new-key") == 0) {
            new_key = 1;
        } else {
            fprintf(stderr, "ppctl seller: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!id) {
        fprintf(stderr, "usage: ppctl seller --id N [--name X] [--new-key]\n");
        return 2;
    }
    /* The key: "pps_" + 32 random bytes in hex; only its SHA-256 is stored. */
    unsigned char raw[32], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char key[4 + 64 + 1] = "", hash[65] = "";
    if (new_key) {
        memcpy(key, "pps_", 4);
        if (RAND_bytes(raw, sizeof raw) != 1) {
            fprintf(stderr, "ppctl seller: no randomness available\n");
            return 1;
        }
        to_hex(raw, sizeof raw, key + 4);
        if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
            fprintf(stderr, "ppctl seller: SHA-256 failed\n");
            return 1;
        }
        to_hex(md, 32, hash);
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[] = {ids, name, new_key ? hash : NULL};
    PGresult *r = NULL;
    int status = 1;
    if (pp_db_exec(c, "upsert seller",
                   "INSERT INTO sellers (id, name, api_key_hash) VALUES ($1::bigint, coalesce($2, 'seller ' || $1::text), $3) "
                   "ON CONFLICT (id) DO UPDATE SET name = coalesce($2, sellers.name), "
                   "api_key_hash = coalesce($3, sellers.api_key_hash) RETURNING name",
                   3, p, &r) == PP_OK) {
        if (new_key)
            printf("%s\n", key); /* shown once; not recoverable */
        else
            printf("seller %lld: %s\n", id, PQgetvalue(r, 0, 0));
        status = 0;
    }
    PQclear(r);
    PQfinish(c);
    return status;
}
