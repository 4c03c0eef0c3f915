/* test_config.c - defaults, file, environment, range checks, and the README reference. */
#include "check.h"
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    pp_config_t c;
    char err[512];
    CHECK_INT(pp_config_init(&c), 0);
    CHECK_INT(c.poll_batch, 200);
    CHECK_STR(c.topic, "shipment-status.v1");

    char path[] = "/tmp/pp-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\npoll_batch = 50\nxmpp_jid = \"bot@example.test\"\nrdkafka.socket.timeout.ms = 1234\n");
    fclose(f);
    CHECK_INT(pp_config_load_file(&c, path, err, sizeof err), 0);
    CHECK_INT(c.poll_batch, 50);
    CHECK_STR(c.xmpp_jid, "bot@example.test");
    CHECK_INT(c.n_rdkafka_props, 1);

    f = fopen(path, "w");
    fprintf(f, "poll_batchh = 5\n");
    fclose(f);
    CHECK(pp_config_load_file(&c, path, err, sizeof err) != 0);
    CHECK(strstr(err, "poll_batchh") != NULL && strstr(err, ":1:") != NULL);

    f = fopen(path, "w");
    fprintf(f, "poll_batch = 0\n");
    fclose(f);
    CHECK(pp_config_load_file(&c, path, err, sizeof err) != 0);
    CHECK(strstr(err, "out of range") != NULL);
    unlink(path);

    setenv("PP_LEASE_S", "17", 1);
    setenv("PP_RDKAFKA_QUEUE_BUFFERING_MAX_MS", "5", 1);
    CHECK_INT(pp_config_load_env(&c, err, sizeof err), 0);
    CHECK_INT(c.lease_s, 17);
    CHECK_INT(c.n_rdkafka_props, 2);
    CHECK_STR(c.rdkafka_props[2], "queue.buffering.max.ms");
    setenv("PP_LEASE_S", "abc", 1);
    CHECK(pp_config_load_env(&c, err, sizeof err) != 0);
    CHECK(strstr(err, "PP_LEASE_S") != NULL);
    pp_config_free(&c);

    /* Every key must be documented in the README's reference (argv[1] = README.md). */
    if (argc > 1) {
        FILE *r = fopen(argv[1], "r");
        CHECK(r != NULL);
        if (r) {
            static char readme[1 << 20];
            size_t n = fread(readme, 1, sizeof readme - 1, r);
            readme[n] = '\0';
            fclose(r);
            char *ref = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&ref, &len);
            pp_config_print_reference(m);
            fclose(m);
            for (char *line = strtok(ref, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "| `", 3) != 0)
                    continue;
                char *end = strchr(line + 3, '`');
                if (!end)
                    continue;
                *end = '\0';
                char needle[160];
                snprintf(needle, sizeof needle, "`%s`", line + 3);
                if (!strstr(readme, needle))
                    fprintf(stderr, "README.md lacks config key %s (run: ppctl config --reference)\n", needle);
                CHECK(strstr(readme, needle) != NULL);
            }
            free(ref);
        }
    }
    return CHECK_DONE();
}
