/* test_log.c - structured fields of a log line: JSON members in order, escaped, left out when
 * unset or reserved, a long value cut on a character boundary; text lines unchanged. */
#include "check.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The line the logger writes to stderr for one call, read back through a temporary file. */
static char out[16384];

static const char *captured(void (*emit)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    if (!tmp || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0)
        return "";
    emit();
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

/* What follows "pid":N in a JSON line, up to the end (the time and pid vary). */
static const char *after_pid(const char *line)
{
    const char *p = strstr(line, "\"pid\":");
    p = p ? strchr(p, ',') : NULL;
    return p ? p : line;
}

static void emit_fields(void)
{
    pp_infok(PP_LOG_FIELDS(PP_LF_SHIPMENT(42), PP_LF_CARRIER("dhl"), PP_LF_EVENT(""), PP_LF_USER(7),
                           PP_LF_PARTITION(0), PP_LF_OFFSET(1234567890123LL),
                           PP_LF_STR("msg", "not this"), PP_LF_STR("path", "/a\"b\\c\n")),
             "shipment %d: polled", 42);
}

static void emit_none(void) { pp_warnk(NULL, "plain %s", "line"); }

static char long_value[3000];
static void emit_long(void) { pp_infok(PP_LOG_FIELDS(PP_LF_STR("note", long_value)), "long"); }

int main(void)
{
    pp_log_init("test-log", PP_LOG_DEBUG);
    pp_log_set_json(true);
    pp_log_set_worker("w1");
    CHECK_STR(after_pid(captured(emit_fields)),
              ",\"worker\":\"w1\",\"shipment_id\":42,\"carrier\":\"dhl\",\"user_id\":7,"
              "\"partition\":0,\"offset\":1234567890123,\"path\":\"/a\\\"b\\\\c\\u000a\","
              "\"msg\":\"shipment 42: polled\"}\n");
    CHECK_STR(after_pid(captured(emit_none)), ",\"worker\":\"w1\",\"msg\":\"plain line\"}\n");

    /* "x" then "ż"s (two bytes each): cut at about 600 bytes, never inside a "ż" */
    long_value[0] = 'x';
    for (size_t i = 1; i + 2 < sizeof long_value; i += 2)
        memcpy(long_value + i, "\xc5\xbc", 2);
    const char *line = after_pid(captured(emit_long));
    const char *v = strstr(line, "\"note\":\"");
    const char *end = v ? strstr(v + 8, "\",\"msg\":\"long\"}") : NULL;
    CHECK(v && end);
    if (v && end) {
        size_t n = (size_t)(end - (v + 8));
        CHECK(n > 400 && n < 640);
        CHECK_INT(n % 2, 1);
    }

    pp_log_set_json(false);
    line = captured(emit_fields);
    CHECK(strstr(line, " test-log[") != NULL);
    CHECK(strstr(line, "] info: shipment 42: polled\n") != NULL);
    CHECK(strstr(line, "dhl") == NULL); /* text lines carry the message only */
    return CHECK_DONE();
}
