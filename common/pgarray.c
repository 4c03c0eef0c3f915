/* pgarray.c - Postgres array literals for batched statements (see pgarray.h). */
#include "pgarray.h"
#include "growbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(pp_pgarray_t *a, size_t more)
{
    if (a->failed)
        return false;
    /* room for ',' '}' '\0' */
    if (!pp_grow(&a->buf, &a->cap, a->len + more + 3, 256))
        a->failed = true;
    return !a->failed;
}

/* The separator before an element ('{' before the first). */
static bool open_element(pp_pgarray_t *a, size_t more)
{
    if (!reserve(a, more + 1))
        return false;
    a->buf[a->len++] = a->n++ ? ',' : '{';
    return true;
}

void pp_pgarray_null(pp_pgarray_t *a)
{
    if (open_element(a, 4)) {
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
    }
}

void pp_pgarray_text(pp_pgarray_t *a, const char *s)
{
    if (!s) {
        pp_pgarray_null(a);
        return;
    }
    size_t n = strlen(s);
    if (!open_element(a, 2 * n + 2)) /* worst case: every byte escaped, plus the quotes */
        return;
    char *o = a->buf + a->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            *o++ = '\\';
        *o++ = s[i];
    }
    *o++ = '"';
    a->len = (size_t)(o - a->buf);
}

void pp_pgarray_ll(pp_pgarray_t *a, long long v)
{
    if (!open_element(a, 24))
        return;
    /* digits backwards, then in place (snprintf's formatting cost more than the rest of a
     * write-back's array building) */
    char d[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        d[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        a->buf[a->len++] = '-';
    while (n)
        a->buf[a->len++] = d[--n];
}

const char *pp_pgarray_str(pp_pgarray_t *a)
{
    if (!reserve(a, 2))
        return NULL;
    size_t end = a->len;
    if (a->n == 0)
        a->buf[end++] = '{'; /* not kept in len: the first element writes its own */
    a->buf[end] = '}';
    a->buf[end + 1] = '\0';
    return a->buf;
}

char *pp_pgarray_take(pp_pgarray_t *a)
{
    char *s = pp_pgarray_str(a) ? a->buf : NULL;
    if (!s)
        free(a->buf);
    *a = (pp_pgarray_t){0};
    return s;
}

void pp_pgarray_reset(pp_pgarray_t *a)
{
    a->len = 0;
    a->n = 0;
}

void pp_pgarray_free(pp_pgarray_t *a)
{
    free(a->buf);
    *a = (pp_pgarray_t){0};
}
