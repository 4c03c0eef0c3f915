/* test_unconfirmed.c - which sent messages a restart of the IM server may have cut (notifier/channels/unconfirmed.h). */
#include "check.h"
#include "unconfirmed.h"

#include <stdio.h>

int main(void)
{
    pp_unconfirmed_t *u = pp_unconfirmed_new(4);
    CHECK(u != NULL);
    /* Connection 1, server started at 1000: three messages, the first confirmed. */
    pp_unconfirmed_sent(u, "a:1", 1, 1, 1000);
    pp_unconfirmed_sent(u, "b:1", 2, 1, 1000);
    pp_unconfirmed_sent(u, "c:1", 3, 1, 1000);
    pp_unconfirmed_confirm(u, 1);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    /* Same connection still up: nothing in doubt. */
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 1, 1000));
    /* Connection 2 to a server that did not restart (start time within 2 s): the archive stands. */
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 2, 1001));
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 2, 1002));
    /* Start time unknown on either side: the archive stands. */
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 2, 0));
    /* The server restarted: unconfirmed messages are in doubt, a confirmed one is not. */
    CHECK(pp_unconfirmed_in_doubt(u, "b:1", 2, 1003));
    CHECK(pp_unconfirmed_in_doubt(u, "c:1", 2, 5000));
    CHECK(!pp_unconfirmed_in_doubt(u, "a:1", 2, 5000));
    CHECK(!pp_unconfirmed_in_doubt(u, "zz:9", 2, 5000));
    /* Sent again on connection 2: a new record, in doubt only after another restart. */
    pp_unconfirmed_sent(u, "b:1", 4, 2, 5000);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 2, 5000));
    CHECK(!pp_unconfirmed_in_doubt(u, "b:1", 3, 5001));
    CHECK(pp_unconfirmed_in_doubt(u, "b:1", 3, 9000));
    /* Confirming mark 4 confirms c (mark 3) and b (mark 4). */
    pp_unconfirmed_confirm(u, 4);
    CHECK_INT(pp_unconfirmed_count(u), 0);
    CHECK(!pp_unconfirmed_in_doubt(u, "c:1", 3, 9000));
    /* A message sent before the connection learnt the start time gets it when it comes. */
    pp_unconfirmed_sent(u, "d:1", 5, 3, 0);
    CHECK(!pp_unconfirmed_in_doubt(u, "d:1", 4, 9000));
    pp_unconfirmed_server_start(u, 3, 8000);
    pp_unconfirmed_server_start(u, 3, 8500); /* only records without one */
    CHECK(pp_unconfirmed_in_doubt(u, "d:1", 4, 9000));
    CHECK(!pp_unconfirmed_in_doubt(u, "d:1", 4, 8002));
    /* Bounded: past the capacity the oldest goes (its archive answer then stands). */
    pp_unconfirmed_clear(u);
    char id[16];
    for (unsigned long m = 10; m < 16; m++) {
        snprintf(id, sizeof id, "e%lu:1", m);
        pp_unconfirmed_sent(u, id, m, 5, 100);
    }
    CHECK_INT(pp_unconfirmed_count(u), 4);
    CHECK(!pp_unconfirmed_in_doubt(u, "e10:1", 6, 200));
    CHECK(!pp_unconfirmed_in_doubt(u, "e11:1", 6, 200));
    CHECK(pp_unconfirmed_in_doubt(u, "e12:1", 6, 200));
    CHECK(pp_unconfirmed_in_doubt(u, "e15:1", 6, 200));
    /* The ring wrapped: confirming still goes oldest first. */
    pp_unconfirmed_confirm(u, 13);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    CHECK(!pp_unconfirmed_in_doubt(u, "e13:1", 6, 200));
    CHECK(pp_unconfirmed_in_doubt(u, "e14:1", 6, 200));
    /* Re-sending a record in the middle of a wrapped ring keeps the others. */
    pp_unconfirmed_sent(u, "e14:1", 20, 6, 200);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    CHECK(pp_unconfirmed_in_doubt(u, "e15:1", 6, 300));
    CHECK(!pp_unconfirmed_in_doubt(u, "e14:1", 6, 300));
    /* A deliberate goodbye on connection 5 confirms its records only (e15), not those of
     * connections 6 (e14) and 7 (f). */
    pp_unconfirmed_sent(u, "f:1", 21, 7, 300);
    pp_unconfirmed_confirm_conn(u, 5);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    CHECK(!pp_unconfirmed_in_doubt(u, "e15:1", 8, 900));
    CHECK(pp_unconfirmed_in_doubt(u, "e14:1", 8, 900));
    CHECK(pp_unconfirmed_in_doubt(u, "f:1", 8, 900));
    pp_unconfirmed_clear(u);
    CHECK_INT(pp_unconfirmed_count(u), 0);
    pp_unconfirmed_free(u);
    pp_unconfirmed_free(NULL);
    return CHECK_DONE();
}
