/* test_pgarray.c - Postgres array literals: quoting, escaping, NULL, numbers, empty, reuse. */
#include "check.h"
#include "pgarray.h"

#include <stdlib.h>

int main(void)
{
    pp_pgarray_t a = {0};
    CHECK_STR(pp_pgarray_str(&a), "{}");

    pp_pgarray_text(&a, "plain");
    pp_pgarray_text(&a, NULL);
    pp_pgarray_text(&a, "");
    pp_pgarray_text(&a, "K\"R'A\\{x},NULL");
    pp_pgarray_text(&a, "Łódź");
    CHECK_STR(pp_pgarray_str(&a), "{\"plain\",NULL,\"\",\"K\\\"R'A\\\\{x},NULL\",\"Łódź\"}");
    CHECK_INT(a.n, 5);

    pp_pgarray_reset(&a);
    pp_pgarray_ll(&a, -9223372036854775807LL - 1);
    pp_pgarray_null(&a);
    pp_pgarray_ll(&a, 42);
    CHECK_STR(pp_pgarray_str(&a), "{-9223372036854775808,NULL,42}");
    CHECK_STR(pp_pgarray_str(&a), "{-9223372036854775808,NULL,42}"); /* idempotent */

    /* growth past the first buffer: every byte escaped */
    pp_pgarray_reset(&a);
    char big[3001];
    for (int i = 0; i < 3000; i++)
        big[i] = i % 2 ? '"' : '\\';
    big[3000] = '\0';
    for (int i = 0; i < 20; i++)
        pp_pgarray_text(&a, big);
    const char *s = pp_pgarray_str(&a);
    CHECK(s != NULL);
    CHECK_INT(strlen(s), 2 + 20 * (6000 + 2) + 19);
    pp_pgarray_free(&a);
    CHECK(a.buf == NULL);

    pp_pgarray_ll(&a, 7);
    pp_pgarray_text(&a, "x");
    char *taken = pp_pgarray_take(&a);
    CHECK_STR(taken, "{7,\"x\"}");
    CHECK(a.buf == NULL && a.n == 0);
    free(taken);
    return CHECK_DONE();
}
