/*
 * pgarray.h - Postgres array literals ("{1,NULL,\"a \\\"b\\\"\"}") built in one growing
 * buffer, for statements that take a whole batch as arrays and unnest them (one statement
 * for many rows instead of one statement per row). Text elements are always quoted, so any
 * content (quotes, backslashes, commas, braces, UTF-8) round-trips; NULL is SQL NULL.
 */
#ifndef PP_PGARRAY_H
#define PP_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_pgarray {
    char *buf;
    size_t len, cap;
    size_t n;    /* elements added */
    bool failed; /* out of memory at some point: pp_pgarray_str returns NULL */
} pp_pgarray_t;

void pp_pgarray_text(pp_pgarray_t *a, const char *s); /* s NULL: SQL NULL */
void pp_pgarray_ll(pp_pgarray_t *a, long long v);
void pp_pgarray_null(pp_pgarray_t *a);
/* The literal ("{}" when empty), owned by a; NULL if memory ran out. */
const char *pp_pgarray_str(pp_pgarray_t *a);
/* The literal as a malloc'd string the caller frees, a emptied; NULL if memory ran out. */
char *pp_pgarray_take(pp_pgarray_t *a);
/* Empties a for reuse, keeping its buffer. */
void pp_pgarray_reset(pp_pgarray_t *a);
void pp_pgarray_free(pp_pgarray_t *a);

#endif
