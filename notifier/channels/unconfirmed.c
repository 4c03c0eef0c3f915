/* unconfirmed.c - messages sent but not confirmed by the IM server, and which a server crash may have cut (see the header). */
#include "unconfirmed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The start times compared come from whole seconds of uptime read over the network. */
#define START_SLACK_S 2

typedef struct record {
    char id[128];
    unsigned long mark, conn;
    long long server_start;
} record_t;

struct pp_unconfirmed {
    record_t *r; /* ring: head is the oldest */
    size_t cap, head, n;
};

pp_unconfirmed_t *pp_unconfirmed_new(size_t cap)
{
    pp_unconfirmed_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->cap = cap ? cap : 1;
    u->r = calloc(u->cap, sizeof *u->r);
    if (!u->r) {
        free(u);
        return NULL;
    }
    return u;
}

void pp_unconfirmed_free(pp_unconfirmed_t *u)
{
    if (!u)
        return;
    free(u->r);
    free(u);
}

static record_t *at(const pp_unconfirmed_t *u, size_t i) { return &u->r[(u->head + i) % u->cap]; }

/* Remove record i, keeping the order of the others. */
static void remove_at(pp_unconfirmed_t *u, size_t i)
{
    for (size_t j = i; j + 1 < u->n; j++)
        *at(u, j) = *at(u, j + 1);
    u->n--;
}

void pp_unconfirmed_sent(pp_unconfirmed_t *u, const char *id, unsigned long mark,
                         unsigned long conn, long long server_start)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(at(u, i)->id, id) == 0) {
            remove_at(u, i);
            break;
        }
    if (u->n == u->cap) { /* drop the oldest */
        u->head = (u->head + 1) % u->cap;
        u->n--;
    }
    record_t *r = at(u, u->n++);
    snprintf(r->id, sizeof r->id, "%s", id);
    r->mark = mark;
    r->conn = conn;
    r->server_start = server_start;
}

void pp_unconfirmed_confirm(pp_unconfirmed_t *u, unsigned long mark)
{
    while (u->n > 0 && at(u, 0)->mark <= mark) {
        u->head = (u->head + 1) % u->cap;
        u->n--;
    }
}

void pp_unconfirmed_confirm_conn(pp_unconfirmed_t *u, unsigned long conn)
{
    for (size_t i = u->n; i-- > 0;)
        if (at(u, i)->conn == conn)
            remove_at(u, i);
}

void pp_unconfirmed_clear(pp_unconfirmed_t *u) { u->head = u->n = 0; }

void pp_unconfirmed_server_start(pp_unconfirmed_t *u, unsigned long conn, long long start)
{
    for (size_t i = 0; i < u->n; i++) {
        record_t *r = at(u, i);
        if (r->conn == conn && r->server_start == 0)
            r->server_start = start;
    }
}

size_t pp_unconfirmed_in_doubt(const pp_unconfirmed_t *u, unsigned long conn_now,
                               long long start_now, bool (*routed)(void *arg, const char *id),
                               void *arg, const char **out, size_t cap)
{
    unsigned long decided[64]; /* connections whose newest routed record was seen */
    size_t k = 0, nd = 0;
    if (start_now <= 0)
        return 0;
    for (size_t i = u->n; i-- > 0 && k < cap && nd < sizeof decided / sizeof decided[0];) {
        const record_t *r = at(u, i); /* newest first */
        bool done = false;
        for (size_t j = 0; j < nd && !done; j++)
            done = decided[j] == r->conn;
        /* A connection whose start time never came (it ended first) cannot rule a restart
         * out: in doubt too. */
        if (done || r->conn == conn_now ||
            (r->server_start > 0 && start_now <= r->server_start + START_SLACK_S) ||
            !routed(arg, r->id))
            continue;
        decided[nd++] = r->conn;
        out[k++] = r->id;
    }
    return k;
}

size_t pp_unconfirmed_count(const pp_unconfirmed_t *u) { return u->n; }
