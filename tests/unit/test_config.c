/* test_config.c - defaults, file, environment, range checks, and the reference in docs/config.md. */
#include "check.h"
#include "config.h"
#include "err.h"

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
    CHECK(strstr(err, "did you mean 'poll_batch'?") != NULL); /* the nearest key is named */

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

    unsetenv("PP_LEASE_S");
    unsetenv("PP_RDKAFKA_QUEUE_BUFFERING_MAX_MS");

    /* A variable one edit from a key's (missing, extra, wrong or swapped letter) is a typo
     * that would leave the default in force: refused, naming the variable meant. Tools' own
     * PP_ names, far from every key, are left alone. */
    const char *typos[][2] = {{"PP_POLL_BATCHH", "PP_POLL_BATCH?"},
                              {"PP_LAESE_S", "PP_LEASE_S?"},
                              {"PP_DB_UR", "PP_DB_URL?"},
                              {"PP_INPOST_RPZ", "PP_INPOST_RPS?"}};
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        setenv(typos[i][0], "3", 1);
        CHECK(pp_config_load_env(&c, err, sizeof err) != 0);
        CHECK(strstr(err, typos[i][0]) != NULL && strstr(err, typos[i][1]) != NULL);
        unsetenv(typos[i][0]);
    }
    setenv("PP_XMPP_BOT", "x", 1); /* the scripts' own; two edits from PP_XMPP_HOST */
    setenv("PP_TEST_TMP", "/tmp", 1);
    CHECK_INT(pp_config_load_env(&c, err, sizeof err), 0);
    unsetenv("PP_XMPP_BOT");
    unsetenv("PP_TEST_TMP");

    /* An unknown log level is refused when the configuration is loaded, naming the key. */
    setenv("PP_LOG_LEVEL", "loud", 1);
    CHECK(pp_config_load(&c, NULL, err, sizeof err) != 0);
    CHECK(strstr(err, "log_level") != NULL);
    pp_config_free(&c);
    setenv("PP_LOG_LEVEL", "warn", 1);
    CHECK_INT(pp_config_load(&c, NULL, err, sizeof err), 0);
    pp_config_free(&c);
    unsetenv("PP_LOG_LEVEL");

    /* --dump masks secrets and only secrets. */
    CHECK_INT(pp_config_init(&c), 0);
    CHECK_INT(pp_config_set(&c, "db_url",
                            "postgres://pp:hunter2@db.example:5432/pp?sslmode=require&password=hunter3",
                            err, sizeof err),
              0);
    CHECK_INT(pp_config_set(&c, "xmpp_password", "xmpp-secret-1", err, sizeof err), 0);
    /* A control character in a value is refused, naming the key and the byte (found by the
     * long fuzz run: a raw 0x03 after a masked db_url password did not dump back the same). */
    CHECK_INT(pp_config_set(&c, "db_url", "password  ='\003 ='\003", err, sizeof err), PP_ECONFIG);
    CHECK(strstr(err, "key 'db_url': control character 0x03") != NULL);
    CHECK_INT(pp_config_set(&c, "rdkafka.client.id", "a\x7f", err, sizeof err), PP_ECONFIG);
    CHECK_INT(pp_config_set(&c, "topic", "a\nb", err, sizeof err), PP_ECONFIG);
    CHECK_INT(pp_config_set(&c, "worker_id", "a\tb", err, sizeof err), 0);
    /* ... and from the environment, PP_RDKAFKA_* included. */
    setenv("PP_DB_URL", "postgresql://x\003@h/db", 1);
    CHECK(pp_config_load_env(&c, err, sizeof err) != 0);
    CHECK(strstr(err, "environment PP_DB_URL: key 'db_url': control character 0x03") != NULL);
    unsetenv("PP_DB_URL");
    setenv("PP_RDKAFKA_CLIENT_ID", "a\033b", 1);
    CHECK(pp_config_load_env(&c, err, sizeof err) != 0);
    CHECK(strstr(err, "environment PP_RDKAFKA_CLIENT_ID: key 'rdkafka.client.id': control character 0x1b") !=
          NULL);
    unsetenv("PP_RDKAFKA_CLIENT_ID");
    CHECK_INT(pp_config_set(&c, "api_service_key", "svc-secret-2", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "rdkafka.sasl.password", "kafka-secret-3", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "rdkafka.ssl.key.password", "kafka-secret-4", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "rdkafka.ssl.keystore.password", "kafka-secret-5", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "rdkafka.sasl.oauthbearer.client.secret", "kafka-secret-6", err,
                            sizeof err),
              0);
    CHECK_INT(pp_config_set(&c, "rdkafka.sasl.username", "kafka-user", err, sizeof err), 0);
    char *dump = NULL;
    size_t dlen = 0;
    FILE *dm = open_memstream(&dump, &dlen);
    pp_config_dump(&c, dm);
    fclose(dm);
    CHECK(strstr(dump, "hunter") == NULL);
    CHECK(strstr(dump, "secret-") == NULL);
    CHECK(strstr(dump, "db_url = postgres://pp:***@db.example:5432/pp?sslmode=require&password=***\n") !=
          NULL);
    CHECK(strstr(dump, "rdkafka.sasl.password = ***\n") != NULL);
    CHECK(strstr(dump, "rdkafka.sasl.username = kafka-user\n") != NULL);
    CHECK(strstr(dump, "xmpp_password = ***\n") != NULL);
    CHECK(strstr(dump, "gls_token_path = /oauth2/v1/token\n") != NULL); /* not a secret */
    CHECK(strstr(dump, "dhl_api_key = \n") != NULL);                    /* empty: nothing to hide */
    free(dump);
    pp_config_free(&c);

    /* A dump loads back as it was: values the file reader would trim or unquote are quoted
     * (tests/fuzz/regressions/config). */
    CHECK_INT(pp_config_init(&c), 0);
    CHECK_INT(pp_config_set(&c, "topic", " padded\t", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "dlq_topic", "\"quoted\"", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&c, "rdkafka.client.id", "x ", err, sizeof err), 0);
    char tmpl[] = "/tmp/pp-test-config-XXXXXX";
    int tfd = mkstemp(tmpl);
    FILE *tf = tfd >= 0 ? fdopen(tfd, "w") : NULL;
    CHECK(tf != NULL);
    if (tf) {
        pp_config_dump(&c, tf);
        fclose(tf);
        pp_config_t back;
        CHECK_INT(pp_config_init(&back), 0);
        CHECK_INT(pp_config_load_file(&back, tmpl, err, sizeof err), 0);
        CHECK_STR(back.topic, " padded\t");
        CHECK_STR(back.dlq_topic, "\"quoted\"");
        CHECK_INT(back.n_rdkafka_props, 1);
        CHECK_STR(back.n_rdkafka_props ? back.rdkafka_props[1] : "", "x ");
        pp_config_free(&back);
    }
    unlink(tmpl);
    pp_config_free(&c);
    static const struct {
        const char *in, *out;
    } urls[] = {
        {"postgresql://postgres@127.0.0.1:55432/parcelpush",
         "postgresql://postgres@127.0.0.1:55432/parcelpush"},
        {"postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"},
        {"postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"},
        {"host=db user=pp password=s3cret dbname=pp", "host=db user=pp password=*** dbname=pp"},
        {"host=db password = 's3 cr\\'et' port=5", "host=db password = *** port=5"},
        /* libpq ends the user info only at '@' or '/': '?' and '#' may be in a password */
        {"postgresql://pp:s3?cret@db/pp", "postgresql://pp:***@db/pp"},
        {"postgresql://pp:s3#cret@db/pp?sslmode=require", "postgresql://pp:***@db/pp?sslmode=require"},
        {"postgresql://pp@db/pp?sslpassword=k3y&sslmode=require",
         "postgresql://pp@db/pp?sslpassword=***&sslmode=require"},
        {"host=db sslpassword=k3y password=\ts3cret", "host=db sslpassword=*** password=\t***"},
        /* the value runs to a blank outside quotes: a quoted part with more after it, and a
         * backslash-escaped blank (libpq), are masked whole (long fuzz run, config target) */
        {"aseswpassword ='#'saue   rl =s", "aseswpassword =***   rl =s"},
        {"password=ab\\ cd host=x", "password=*** host=x"},
        {"password=a'b c'd host=x", "password=*** host=x"},
    };
    /* librdkafka 2.12's private-key settings are secrets too; plain settings are not */
    CHECK(pp_config_rdkafka_is_secret("sasl.oauthbearer.assertion.private.key.passphrase"));
    CHECK(pp_config_rdkafka_is_secret("sasl.oauthbearer.assertion.private.key.pem"));
    CHECK(pp_config_rdkafka_is_secret("ssl.key.pem"));
    CHECK(!pp_config_rdkafka_is_secret("ssl.certificate.pem"));
    CHECK(!pp_config_rdkafka_is_secret("compression.type"));
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char masked[256];
        pp_config_mask_db_url(urls[i].in, masked, sizeof masked);
        CHECK_STR(masked, urls[i].out);
        char again[256]; /* what a dump shows masks to itself */
        pp_config_mask_db_url(masked, again, sizeof again);
        CHECK_STR(again, masked);
    }

    /* Every key must be documented in docs/config.md (argv[1]). */
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
                    fprintf(stderr,
                            "docs/config.md lacks config key %s (run: ppctl config --reference)\n",
                            needle);
                CHECK(strstr(readme, needle) != NULL);
            }
            free(ref);
        }
    }
    return CHECK_DONE();
}
