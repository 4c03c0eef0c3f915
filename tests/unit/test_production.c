/* test_production.c - production mode's refusals per kind, and a renamed key refused by its new name. */
#include "check.h"
#include "config.h"
#include "err.h"
#include "production.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One case: the keys set (NULL = left on the default), the kind's PP_USES_* bits, and the
 * key the refusal must name (NULL = none: it starts). */
typedef struct {
    const char *env, *db_url, *kafka, *password;
    bool tls;
    unsigned uses;
    const char *named;
} prod_case_t;

static void check_case(const prod_case_t *t)
{
    pp_config_t c;
    char err[1536] = "";
    CHECK_INT(pp_config_init(&c), 0);
    if (t->env)
        CHECK_INT(pp_config_set(&c, "env", t->env, err, sizeof err), 0);
    if (t->db_url)
        CHECK_INT(pp_config_set(&c, "db_url", t->db_url, err, sizeof err), 0);
    if (t->kafka)
        CHECK_INT(pp_config_set(&c, "kafka_brokers", t->kafka, err, sizeof err), 0);
    if (t->password)
        CHECK_INT(pp_config_set(&c, "xmpp_password", t->password, err, sizeof err), 0);
    c.xmpp_tls = t->tls;
    int rc = pp_production_check(&c, t->uses, err, sizeof err);
    CHECK_INT(rc, t->named ? PP_ECONFIG : PP_OK);
    if (t->named && (!strstr(err, t->named) || !strstr(err, "PP_ENV=dev")))
        fprintf(stderr, "refusal without '%s' or PP_ENV=dev: %s\n", t->named, err);
    if (t->named)
        CHECK(strstr(err, t->named) != NULL && strstr(err, "PP_ENV=dev") != NULL);
    pp_config_free(&c);
}

/* The environment of a production process: no PP_ variable of the build or the test runner. */
static void clear_pp_env(void)
{
    extern char **environ;
    char names[64][128];
    int n = 0;
    for (char **e = environ; *e && n < 64; e++)
        if (strncmp(*e, "PP_", 3) == 0) {
            const char *eq = strchr(*e, '=');
            snprintf(names[n++], sizeof names[0], "%.*s", (int)(eq ? eq - *e : 127), *e);
        }
    for (int i = 0; i < n; i++)
        unsetenv(names[i]);
}

int main(void)
{
    clear_pp_env();
    const char *db = "postgresql://pp@db.example.com/parcelpush", *kafka = "kafka.example.com:9092";
    const unsigned poller = PP_USES_KAFKA, notifier = PP_USES_KAFKA | PP_USES_XMPP, api = 0,
                   bot = PP_USES_XMPP;
    const prod_case_t cases[] = {
        /* everything production needs given: every kind starts */
        {NULL, db, kafka, "s3cret", true, poller, NULL},
        {NULL, db, kafka, "s3cret", true, notifier, NULL},
        {NULL, db, NULL, NULL, false, api, NULL},    /* pp-api: no Kafka, no XMPP */
        {NULL, db, NULL, "s3cret", true, bot, NULL}, /* pp-bot: no Kafka */
        /* one development default each */
        {NULL, NULL, kafka, "s3cret", true, poller, "db_url is not set"},
        {NULL, NULL, NULL, NULL, false, api, "db_url is not set"},
        {NULL, db, NULL, "s3cret", true, poller, "kafka_brokers is not set"},
        {NULL, db, NULL, "s3cret", true, notifier, "kafka_brokers is not set"},
        {NULL, db, kafka, NULL, true, notifier, "xmpp_password is the demo password"},
        {NULL, db, NULL, "botpass", true, bot, "xmpp_password is the demo password"},
        {NULL, db, kafka, "s3cret", false, notifier, "xmpp_tls is off"},
        {NULL, db, NULL, "s3cret", false, bot, "xmpp_tls is off"},
        /* the loopback default given explicitly is still the development default */
        {NULL, "postgresql://postgres@127.0.0.1:55432/parcelpush", kafka, "s3cret", true, poller,
         "db_url is not set"},
        /* anything but dev is production; dev allows every default */
        {"production", NULL, NULL, NULL, false, notifier, "db_url is not set"},
        {"staging", NULL, NULL, NULL, false, notifier, "xmpp_tls is off"},
        {"Dev", NULL, NULL, NULL, false, notifier, "kafka_brokers is not set"},
        {"dev", NULL, NULL, NULL, false, notifier, NULL},
        {"dev", NULL, NULL, NULL, false, api, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);

    /* A variable that names no key: refused in production (named, with the nearest key when
     * one is near), not in dev; the librdkafka pass-through is not a key and is let be. */
    const prod_case_t given =
        {NULL, db, kafka, "s3cret", true, poller, "PP_POLL_BATCHSIZE is not a configuration key"};
    setenv("PP_POLL_BATCHSIZE", "5", 1);
    setenv("PP_RDKAFKA_SOCKET_TIMEOUT_MS", "1000", 1);
    check_case(&given);
    const prod_case_t dev = {"dev", db, kafka, "s3cret", true, poller, NULL};
    check_case(&dev);
    unsetenv("PP_POLL_BATCHSIZE");
    setenv("PP_POLL_BATC", "5", 1);
    const prod_case_t near =
        {NULL, db, kafka, "s3cret", true, poller, "did you mean PP_POLL_BATCH?"};
    check_case(&near);
    unsetenv("PP_POLL_BATC");
    const prod_case_t clean = {NULL, db, kafka, "s3cret", true, poller, NULL};
    check_case(&clean);

    /* The renamed key: in a file (pp_config_set) and in the environment, named by its new name. */
    pp_config_t c;
    char err[512] = "";
    CHECK_INT(pp_config_init(&c), 0);
    CHECK_INT(pp_config_set(&c, "metrics_addr", "127.0.0.1:0", err, sizeof err), PP_ECONFIG);
    CHECK(strstr(err, "renamed to 'ops_addr'") != NULL);
    setenv("PP_METRICS_ADDR", "127.0.0.1:0", 1);
    CHECK(pp_config_load_env(&c, err, sizeof err) != 0);
    CHECK(strstr(err, "PP_METRICS_ADDR") != NULL && strstr(err, "set PP_OPS_ADDR instead") != NULL);
    unsetenv("PP_METRICS_ADDR");
    CHECK_INT(pp_config_set(&c, "ops_addr", "0.0.0.0", err, sizeof err), 0);
    pp_config_free(&c);
    return CHECK_DONE();
}
