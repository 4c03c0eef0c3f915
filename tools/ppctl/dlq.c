/* dlq.c - `ppctl dlq list|show|replay`: the dead-letter topic listed, one message shown whole, replay handed to dlq_replay.c. */
#include "dlq.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                      \
    "usage: ppctl dlq list [--json]\n"                                                             \
    "       ppctl dlq show [--json] ID\n"                                                          \
    "       ppctl dlq replay ID... | --all\n"                                                      \
    "       ppctl dlq replay ID --value FILE   (the event fixed by hand; same event_id)\n"         \
    "  ID is PARTITION:OFFSET as `list` prints it, or OFFSET alone when only one partition\n"      \
    "  holds it\n"

static void print_json_line(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
}

static int list_one(const rd_kafka_message_t *m, void *arg)
{
    cJSON *o = ppctl_dlq_message_json(m, false);
    if (*(int *)arg) {
        print_json_line(o);
        return 0;
    }
    const char *src = cJSON_GetObjectItem(o, "source")->valuestring;
    printf("%-12s %-20s %-22s %8.0f  %s%s%s%s\n", cJSON_GetObjectItem(o, "id")->valuestring,
           cJSON_GetObjectItem(o, "time")->valuestring, cJSON_GetObjectItem(o, "key")->valuestring,
           cJSON_GetObjectItem(o, "size")->valuedouble, cJSON_GetObjectItem(o, "reason")->valuestring,
           *src ? " (from " : "", src, *src ? ")" : "");
    cJSON_Delete(o);
    return 0;
}

static int dlq_list(ppctl_dlq_t *d, int json)
{
    if (!json)
        printf("%-12s %-20s %-22s %8s  %s\n", "ID", "TIME", "KEY", "SIZE",
               "REASON (FROM topic:partition:offset)");
    return ppctl_dlq_each(d, list_one, &json) ? 1 : 0;
}

static int dlq_show(ppctl_dlq_t *d, const char *id, int json)
{
    int part;
    int64_t off;
    if (ppctl_dlq_parse_id(d, id, &part, &off))
        return 2;
    rd_kafka_message_t *m = ppctl_dlq_fetch(d, part, off);
    if (!m)
        return 1;
    cJSON *o = ppctl_dlq_message_json(m, true);
    rd_kafka_message_destroy(m);
    if (json) {
        print_json_line(o);
        return 0;
    }
    const char *fields[] = {"id", "time", "key", "reason", "source"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        printf("%-8s %s\n", fields[i], cJSON_GetObjectItem(o, fields[i])->valuestring);
    printf("%-8s %.0f bytes\n", "size", cJSON_GetObjectItem(o, "size")->valuedouble);
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(o, "headers"))
        printf("header   %s: %s\n", cJSON_GetObjectItem(h, "name")->valuestring,
               cJSON_GetObjectItem(h, "value")->valuestring);
    printf("\n%s\n", cJSON_GetObjectItem(o, "value")->valuestring);
    cJSON_Delete(o);
    return 0;
}

int ppctl_dlq(ppctl_t *ctl, int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    const char *sub = argv[1];
    int json = argc > 2 && !strcmp(argv[2], "--json");
    if (!strcmp(sub, "list")   ? argc != 2 + json
        : !strcmp(sub, "show") ? argc != 3 + json
                               : strcmp(sub, "replay") != 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    ppctl_dlq_t d = {0};
    int rc = 1;
    if (ppctl_dlq_open(&d, ctl) == PP_OK) {
        if (!strcmp(sub, "list"))
            rc = dlq_list(&d, json);
        else if (!strcmp(sub, "show"))
            rc = dlq_show(&d, argv[2 + json], json);
        else
            rc = ppctl_dlq_replay(&d, argc - 2, argv + 2);
    }
    ppctl_dlq_close(&d);
    return rc;
}
