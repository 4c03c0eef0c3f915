/* test_unconfirmed.c - which sent messages a restart of the IM server may have cut (notifier/channels/unconfirmed.h). */
#include "check.h"
#include "unconfirmed.h"

#include <stdio.h>
#include <string.h>

/* The ids the "archive" lists, comma-separated. */
static bool routed(void *arg, const char *id)
{
    const char *list = arg;
    size_t len = strlen(id);
    for (const char *p = list; (p = strstr(p, id)) != NULL; p += len)
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
            return true;
    return false;
}

/* The ids in doubt, comma-separated, newest first. */
static const char *doubt(const pp_unconfirmed_t *u, unsigned long conn, long long start,
                         const char *archive)
{
    static char out[256];
    const char *ids[8];
    size_t k = pp_unconfirmed_in_doubt(u, conn, start, routed, (void *)archive, ids, 8);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "," : "", ids[i]);
    return out;
}

int main(void)
{
    pp_unconfirmed_t *u = pp_unconfirmed_new(8);
    CHECK(u != NULL);
    /* Connection 1, server started at 1000: four messages, the first confirmed by its marker. */
    pp_unconfirmed_sent(u, "a:1", 1, 1, 1000);
    pp_unconfirmed_sent(u, "b:1", 2, 1, 1000);
    pp_unconfirmed_sent(u, "c:1", 3, 1, 1000);
    pp_unconfirmed_sent(u, "d:1", 4, 1, 1000);
    pp_unconfirmed_confirm(u, 1);
    CHECK_INT(pp_unconfirmed_count(u), 3);
    /* The server died having archived b and c: only the newest of them, c, may be cut. */
    CHECK_STR(doubt(u, 2, 5000, "a:1,b:1,c:1"), "c:1");
    /* It archived all: d. None: nothing. */
    CHECK_STR(doubt(u, 2, 5000, "a:1,b:1,c:1,d:1"), "d:1");
    CHECK_STR(doubt(u, 2, 5000, "a:1"), "");
    /* Same connection still up, no restart (start time within 2 s), or a start time unknown
     * on either side: the archive stands. */
    CHECK_STR(doubt(u, 1, 5000, "b:1,c:1"), "");
    CHECK_STR(doubt(u, 2, 1001, "b:1,c:1"), "");
    CHECK_STR(doubt(u, 2, 1002, "b:1,c:1"), "");
    CHECK_STR(doubt(u, 2, 1003, "b:1,c:1"), "c:1");
    CHECK_STR(doubt(u, 2, 0, "b:1,c:1"), "");
    /* c sent again on connection 2 (server started at 5000), then that one ended too: one
     * in doubt per connection, each against its own start time. */
    pp_unconfirmed_sent(u, "c:1", 5, 2, 5000);
    pp_unconfirmed_sent(u, "e:1", 6, 2, 5000);
    CHECK_INT(pp_unconfirmed_count(u), 4);
    CHECK_STR(doubt(u, 3, 5001, "b:1,c:1"), "b:1");
    CHECK_STR(doubt(u, 3, 9000, "b:1,c:1,e:1"), "e:1,b:1");
    CHECK_STR(doubt(u, 3, 9000, "b:1,c:1"), "c:1,b:1");
    /* A deliberate goodbye of connection 1 (a stream error) confirms its records only. */
    pp_unconfirmed_confirm_conn(u, 1);
    CHECK_INT(pp_unconfirmed_count(u), 2);
    CHECK_STR(doubt(u, 3, 9000, "b:1,c:1,e:1"), "e:1");
    /* A marker's answer confirms it and all before it. */
    pp_unconfirmed_confirm(u, 5);
    CHECK_STR(doubt(u, 3, 9000, "c:1,e:1"), "e:1");
    pp_unconfirmed_confirm(u, 6);
    CHECK_INT(pp_unconfirmed_count(u), 0);
    /* A message sent before the connection learnt the start time gets it when it comes;
     * a connection that ended before it came cannot rule a restart out: in doubt. */
    pp_unconfirmed_sent(u, "f:1", 7, 4, 0);
    CHECK_STR(doubt(u, 5, 9000, "f:1"), "f:1");
    CHECK_STR(doubt(u, 5, 0, "f:1"), "");
    pp_unconfirmed_server_start(u, 4, 8000);
    pp_unconfirmed_server_start(u, 4, 8500); /* only records without one */
    CHECK_STR(doubt(u, 5, 9000, "f:1"), "f:1");
    CHECK_STR(doubt(u, 5, 8002, "f:1"), "");
    /* Bounded: past the capacity the oldest go (their archive answer then stands); the ring
     * wraps and still confirms oldest first. */
    pp_unconfirmed_clear(u);
    char id[16];
    for (unsigned long m = 10; m < 22; m++) {
        snprintf(id, sizeof id, "g%lu:1", m);
        pp_unconfirmed_sent(u, id, m, 6, 100);
    }
    CHECK_INT(pp_unconfirmed_count(u), 8);
    CHECK_STR(doubt(u, 7, 200, "g10:1,g11:1,g12:1"), "");
    CHECK_STR(doubt(u, 7, 200, "g14:1,g15:1"), "g15:1");
    pp_unconfirmed_confirm(u, 17);
    CHECK_INT(pp_unconfirmed_count(u), 4);
    CHECK_STR(doubt(u, 7, 200, "g15:1,g16:1,g17:1"), "");
    CHECK_STR(doubt(u, 7, 200, "g18:1,g19:1"), "g19:1");
    /* Re-sending a record in the middle of a wrapped ring keeps the others in order. */
    pp_unconfirmed_sent(u, "g19:1", 30, 7, 200);
    CHECK_INT(pp_unconfirmed_count(u), 4);
    CHECK_STR(doubt(u, 8, 300, "g18:1,g19:1,g20:1"), "g19:1,g20:1");
    CHECK_STR(doubt(u, 8, 900, "g18:1,g19:1,g21:1"), "g19:1,g21:1");
    pp_unconfirmed_clear(u);
    CHECK_INT(pp_unconfirmed_count(u), 0);
    pp_unconfirmed_free(u);
    pp_unconfirmed_free(NULL);
    return CHECK_DONE();
}
