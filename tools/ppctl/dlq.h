/* dlq.h - reading the dead-letter topic, for `ppctl dlq` (dlq.c: list, show) and its replay (dlq_replay.c). */
#ifndef PPCTL_DLQ_H
#define PPCTL_DLQ_H

#include "ppctl.h"

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    ppctl_t *ctl;
    rd_kafka_t *consumer; /* commits nothing: no group offsets are ever stored */
    int np;               /* partitions of the dead-letter topic */
} ppctl_dlq_t;

/* 0 or PP_EKAFKA (printed); ppctl_dlq_close in either case. */
int ppctl_dlq_open(ppctl_dlq_t *d, ppctl_t *ctl);
void ppctl_dlq_close(ppctl_dlq_t *d);
/* The header's value as a string (cut at 1000 bytes), "" when absent. */
const char *ppctl_dlq_header(const rd_kafka_message_t *m, const char *name, char *buf, size_t cap);
/* The message's fields as JSON (id, partition, offset, time, key, reason, source, size); with
 * `whole` every header and the value too. The caller deletes it. */
cJSON *ppctl_dlq_message_json(const rd_kafka_message_t *m, bool whole);
typedef int (*ppctl_dlq_each_cb)(const rd_kafka_message_t *m, void *arg); /* non-zero stops */
/*
 * Every message of the dead-letter topic that was there when this started (up to each
 * partition's high watermark then: a replay's messages a notifier dead-letters again are not
 * read back, which would loop), oldest first per partition, to cb; 0 or PP_E*.
 */
int ppctl_dlq_each(ppctl_dlq_t *d, ppctl_dlq_each_cb cb, void *arg);
/* "P:O", or "O" when exactly one partition holds offset O; 0 or PP_EINVAL (printed). */
int ppctl_dlq_parse_id(ppctl_dlq_t *d, const char *s, int *part, int64_t *off);
/* The message at part:off (the caller destroys it), or NULL (printed why). */
rd_kafka_message_t *ppctl_dlq_fetch(ppctl_dlq_t *d, int part, int64_t off);

/* dlq_replay.c: `ppctl dlq replay` with its arguments after "replay"; the exit status. */
int ppctl_dlq_replay(ppctl_dlq_t *d, int argc, char **argv);

#endif
