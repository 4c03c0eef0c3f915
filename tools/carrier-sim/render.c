/* render.c - what every carrier shape renders with: body buffers and escaping, the numbers of a call, randomness, access tokens (below the shapes and sim.c). */
#include "sim.h"
#include "err.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers ----------------------------------------------------------------------------- */

/* At least need more bytes of room (and 4096 in all); sets oom when out of memory. */
static void grow(pp_sim_buf_t *b, size_t need)
{
    size_t ncap = b->cap * 2 + need < 4096 ? 4096 : b->cap * 2 + need;
    char *np = realloc(b->p, ncap);
    if (!np) {
        b->oom = 1;
        return;
    }
    b->p = np;
    b->cap = ncap;
}

void pp_sim_put(pp_sim_buf_t *b, const char *fmt, ...)
{
    while (!b->oom) {
        if (b->cap - b->len < 2 || !b->p) {
            grow(b, 0);
            continue;
        }
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        grow(b, (size_t)n);
    }
}

int pp_sim_buf_finish(pp_sim_buf_t *b, char **body, size_t *len)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return PP_ENOMEM;
    }
    *body = b->p;
    *len = b->len;
    return PP_OK;
}

void pp_sim_put_escaped_json(pp_sim_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            pp_sim_put(b, "\\%c", c);
        else if (c < 0x20)
            pp_sim_put(b, "\\u%04x", c);
        else
            pp_sim_put(b, "%c", c);
    }
}

void pp_sim_put_escaped_xml(pp_sim_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': pp_sim_put(b, "&lt;"); break;
        case '>': pp_sim_put(b, "&gt;"); break;
        case '&': pp_sim_put(b, "&amp;"); break;
        case '"': pp_sim_put(b, "&quot;"); break;
        default: pp_sim_put(b, "%c", *s);
        }
    }
}

int pp_sim_call_add(pp_sim_call_t *call, const char *number, size_t len)
{
    if (call->n >= PP_SIM_MAX_BATCH)
        return PP_EINVAL;
    if (call->n == call->cap) {
        size_t ncap = call->cap ? call->cap * 2 : 16;
        char(*nn)[64] = realloc(call->numbers, ncap * sizeof *nn);
        if (!nn)
            return PP_ENOMEM;
        call->numbers = nn;
        call->cap = ncap;
    }
    if (len >= 64)
        len = 63;
    memcpy(call->numbers[call->n], number, len);
    call->numbers[call->n][len] = '\0';
    call->n++;
    return PP_OK;
}

/* ---- randomness and tokens ------------------------------------------------------------------ */

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

double pp_sim_uniform(pp_sim_t *s)
{
    return (double)(xorshift(&s->rng) >> 11) / 9007199254740992.0;
}

static uint64_t token_mac(pp_sim_t *s, int64_t expires_ms, uint64_t serial)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%" PRId64 ".%" PRIu64 ".%s.%" PRId64, expires_ms, serial,
             s->client_secret ? s->client_secret : "", s->started_ms);
    return pp_sim_hash(buf);
}

void pp_sim_issue_token(pp_sim_t *s, char *out, size_t cap)
{
    int64_t expires = pp_now_ms() + s->token_ttl_s * 1000;
    uint64_t serial = ++s->issued_tokens;
    snprintf(out, cap, "sim.%" PRId64 ".%" PRIu64 ".%016" PRIx64, expires, serial,
             token_mac(s, expires, serial));
}

bool pp_sim_token_valid(pp_sim_t *s, const char *token, size_t len)
{
    char buf[128];
    int64_t expires;
    uint64_t serial, mac;
    if (len >= sizeof buf)
        return false;
    memcpy(buf, token, len);
    buf[len] = '\0';
    if (sscanf(buf, "sim.%" SCNd64 ".%" SCNu64 ".%" SCNx64, &expires, &serial, &mac) != 3)
        return false;
    return mac == token_mac(s, expires, serial) && pp_now_ms() < expires;
}
