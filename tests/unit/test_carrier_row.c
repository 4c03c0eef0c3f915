/*
 * test_carrier_row.c - a carrier is one file and one registry row: the made-up "testpost"
 * (tests/tools/carrier_throwaway.c, linked into this test only) is seen, without a line
 * anywhere else, by detection, the config table (file, environment, dump, reference, budgets),
 * the bot's aliases and help, the notifier's templates and the API's list of carriers.
 */
#include "budget.h"
#include "carriers/carrier.h"
#include "carriers/numbers.h"
#include "check.h"
#include "command.h"
#include "config.h"
#include "err.h"
#include "template.h"
#include "texts.h"

#include <stdlib.h>
#include <unistd.h>

static char *captured(void (*fn)(const pp_config_t *, FILE *), const pp_config_t *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(c, f);
    fclose(f);
    return buf;
}

static void reference(const pp_config_t *c, FILE *f)
{
    (void)c;
    pp_config_print_reference(f);
}

static void test_registry_and_api(void)
{
    const pp_carrier_t *c = pp_carrier_find("testpost");
    CHECK(c != NULL);
    CHECK(pp_carrier_find("TestPost") == c);
    /* api/seller.c answers an unknown carrier with "unknown carrier; one of <this list>" */
    CHECK(strstr(pp_carrier_names(), "dhl, ups, inpost, gls, dpd, pocztapolska, orlen, testpost") !=
          NULL);
}

/* Every row (the real ones and testpost) is whole and agrees with itself and the others. */
static void test_rows_well_formed(void)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    CHECK(n >= 8 && n <= PP_CARRIERS_MAX);
    for (size_t i = 0; i < n; i++) {
        const pp_carrier_t *c = all[i];
        char num[PP_NUMBER_MAX];
        pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
        size_t nc = 0;
        int failed_before = check_failures;
        CHECK(strspn(c->name, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(c->name));
        CHECK(c->display && c->display[0] && c->help_names && c->help_names[0]);
        CHECK(c->max_batch >= 1 && c->build_request && c->parse_raw);
        CHECK((c->auth == PP_CARRIER_AUTH_OAUTH) == (c->build_auth_request != NULL));
        CHECK((c->build_auth_request != NULL) == (c->parse_auth != NULL));
        CHECK((c->locker[0] != NULL) == (c->locker[1] != NULL));
        CHECK(c->n_formats >= 1);
        for (size_t f = 0; f < c->n_formats; f++)
            CHECK_STR(c->formats[f].carrier, c->name);
        /* its example is valid and detected as this carrier alone */
        CHECK_INT(pp_number_example(c->name, 7, num, sizeof num), 0);
        CHECK_INT(pp_number_detect(num, cand, PP_NUMBER_MAX_CANDIDATES, &nc), 0);
        CHECK(nc == 1 && strcmp(cand[0].carrier, c->name) == 0);
        /* its keys: the budget first, each a single row of the config table */
        CHECK(c->n_keys >= PP_CARRIER_KEY_OWN && c->n_keys <= PP_CARRIER_KEYS_MAX);
        CHECK_STR(c->keys[PP_CARRIER_KEY_RPS].name, "rps");
        CHECK_STR(c->keys[PP_CARRIER_KEY_PER_DAY].name, "per_day");
        CHECK(c->keys[PP_CARRIER_KEY_RPS].type == PP_CFG_INT &&
              c->keys[PP_CARRIER_KEY_PER_DAY].type == PP_CFG_INT);
        /* no alias (nor name) of it is another carrier's */
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            CHECK(strcmp(c->name, all[j]->name) != 0);
            for (size_t a = 0; c->aliases && c->aliases[a]; a++) {
                CHECK(strcmp(c->aliases[a], all[j]->name) != 0);
                for (size_t b = 0; all[j]->aliases && all[j]->aliases[b]; b++)
                    CHECK(strcmp(c->aliases[a], all[j]->aliases[b]) != 0);
            }
        }
        if (check_failures > failed_before)
            fprintf(stderr, "  (the row of %s)\n", c->name);
    }
    /* a carrier's key never shadows (or is shadowed by) another row: each name is one row */
    pp_config_t c;
    CHECK_INT(pp_config_init(&c), 0);
    char *ref = captured(reference, &c);
    for (const char *line = ref; (line = strstr(line, "\n| `")); line++) {
        char name[96];
        if (sscanf(line, "\n| `%95[^`]`", name) != 1)
            continue;
        char row[128];
        snprintf(row, sizeof row, "\n| `%s` |", name);
        const char *first = strstr(ref, row);
        CHECK(first && !strstr(first + 1, row));
    }
    free(ref);
    pp_config_free(&c);
}

static void test_detection(void)
{
    char num[PP_NUMBER_MAX];
    pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
    size_t n = 0, nc = 0;
    CHECK_INT(pp_number_example("testpost", 42, num, sizeof num), 0);
    CHECK(strncmp(num, "TP", 2) == 0 && strlen(num) == 12);
    CHECK(pp_number_valid("testpost", num));
    CHECK_INT(pp_number_detect(num, cand, PP_NUMBER_MAX_CANDIDATES, &n), 0);
    CHECK_INT(n, 1);
    CHECK_STR(n ? cand[0].carrier : "", "testpost");
    CHECK_STR(n ? cand[0].format : "", "testpost_12");
    CHECK(!pp_number_valid("testpost", "TP12345678X"));
    const char *const *names = pp_number_carriers(&nc);
    CHECK(nc >= 8 && strcmp(names[nc - 1], "testpost") == 0);
    /* the real carriers' examples stay theirs alone */
    CHECK_INT(pp_number_example("inpost", 42, num, sizeof num), 0);
    CHECK_INT(pp_number_detect(num, cand, PP_NUMBER_MAX_CANDIDATES, &n), 0);
    CHECK(n == 1 && strcmp(cand[0].carrier, "inpost") == 0);
}

static void test_config(void)
{
    pp_config_t c;
    char err[512];
    char path[] = "/tmp/pp-carrier-row-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "testpost_api_key = tp-secret-1\ntestpost_per_day = 77\n");
    fclose(f);
    setenv("PP_TESTPOST_BASE_URL", "http://127.0.0.1:9/", 1);
    CHECK_INT(pp_config_load(&c, path, err, sizeof err), 0);
    unsetenv("PP_TESTPOST_BASE_URL");
    unlink(path);
    CHECK_STR(pp_carrier_cfg_str(&c, "testpost", PP_CARRIER_KEY_OWN), "http://127.0.0.1:9/");
    CHECK_STR(pp_carrier_cfg_str(&c, "testpost", PP_CARRIER_KEY_OWN + 1), "tp-secret-1");
    long rps = 0, day = 0;
    pp_budget_limits(&c, "testpost", &rps, &day);
    CHECK_INT(rps, 3);
    CHECK_INT(day, 77);
    CHECK_INT(pp_config_set(&c, "testpost_rps", "5000", err, sizeof err), PP_ECONFIG); /* its range */
    CHECK(pp_config_key_reloadable("testpost_base_url"));
    CHECK(pp_config_key_is_secret("testpost_api_key"));
    /* the adapter reads its key */
    pp_http_request_t req;
    const char *nums[] = {"TP123456789X"};
    const pp_carrier_t *tp = pp_carrier_find("testpost");
    if (tp) {
        CHECK_INT(tp->build_request(&c, NULL, nums, 1, &req), 0);
        CHECK_STR(req.url, "http://127.0.0.1:9/track/TP123456789X");
        pp_http_request_free(&req);
    }
    char *dump = captured(pp_config_dump, &c);
    CHECK(strstr(dump, "testpost_base_url = http://127.0.0.1:9/\n") != NULL);
    CHECK(strstr(dump, "testpost_api_key = ***\n") != NULL);
    CHECK(strstr(dump, "tp-secret-1") == NULL);
    free(dump);
    char *ref = captured(reference, &c);
    CHECK(strstr(ref, "| `testpost_rps` | `PP_TESTPOST_RPS` | integer (0–1000) | `3` | SIGHUP |") !=
          NULL);
    CHECK(strstr(ref, "| `testpost_base_url` | `PP_TESTPOST_BASE_URL` | string | `https://api.testpost.invalid` |") !=
          NULL);
    free(ref);
    pp_config_free(&c);
}

static void test_bot(void)
{
    pp_bot_cmd_t cmd;
    pp_bot_cmd_parse("paczka Testowa TP123456789X", &cmd);
    CHECK_INT(cmd.kind, PP_BOT_CMD_TRACK);
    CHECK_STR(cmd.carrier ? cmd.carrier : "", "testpost");
    pp_bot_cmd_parse("paczka poczta testowa TP123456789X", &cmd);
    CHECK_STR(cmd.carrier ? cmd.carrier : "", "testpost");
    pp_bot_cmd_parse("paczka testpost tp 123456789 x", &cmd);
    CHECK_INT(cmd.kind, PP_BOT_CMD_TRACK);
    pp_bot_cmd_parse("paczka TP123456789X", &cmd); /* detected */
    CHECK_INT(cmd.kind, PP_BOT_CMD_TRACK);
    CHECK_STR(cmd.carrier ? cmd.carrier : "", "testpost");
    char out[1024];
    pp_bot_cmd_parse("pomoc", &cmd);
    pp_bot_text_simple(PP_BOT_PL, &cmd, false, out, sizeof out);
    CHECK(strstr(out, "ORLEN / RUCH, TestPost / Testowa)") != NULL);
    pp_bot_text_status(PP_BOT_EN, "testpost", "TP123456789X", true, PP_ST_IN_TRANSIT, "", 0, out,
                       sizeof out);
    CHECK(strstr(out, "Test Post TP123456789X") != NULL);
}

static void test_templates(void)
{
    pp_event_t ev;
    char out[512];
    memset(&ev, 0, sizeof ev);
    snprintf(ev.carrier, sizeof ev.carrier, "testpost");
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "TP123456789X");
    snprintf(ev.location, sizeof ev.location, "WAW01");
    ev.kind = PP_EV_STATUS_CHANGED;
    ev.status = PP_ST_AVAILABLE_FOR_PICKUP;
    CHECK_STR(pp_template_carrier_name("testpost"), "Test Post");
    CHECK_INT(pp_template_render(&ev, "pl", out, sizeof out), 0);
    CHECK_STR(out, "Paczka Test Post TP123456789X: czeka w automacie TestPost WAW01");
    CHECK_INT(pp_template_render(&ev, "en", out, sizeof out), 0);
    CHECK_STR(out, "Parcel Test Post TP123456789X: is waiting in the TestPost locker WAW01");
}

int main(void)
{
    test_registry_and_api();
    test_rows_well_formed();
    test_detection();
    test_config();
    test_bot();
    test_templates();
    return CHECK_DONE();
}
