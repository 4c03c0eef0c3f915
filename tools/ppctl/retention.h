/* retention.h - `ppctl archive`'s clean-up of the outbox and the notification ledger (retention.c says why each row may go). */
#ifndef PPCTL_RETENTION_H
#define PPCTL_RETENTION_H

#include "config.h"

#include <libpq-fe.h>
#include <stddef.h>

/* Delete outbox rows published more than `days` days ago, `batch` rows of the outbox read
 * per statement; unpublished rows stay. *deleted counts them. PP_OK or a negative error. */
int ppctl_prune_outbox(PGconn *c, long long days, long long batch, long long *deleted);

/* Delete settled ledger rows (not 'sending') created more than `days` days ago, `batch` per
 * statement. Call only with days longer than every event topic's retention
 * (ppctl_topics_retention). PP_OK or a negative error. */
int ppctl_prune_ledger(PGconn *c, long long days, long long batch, long long *deleted);

/* The longest retention.ms of the event, dead-letter and IM-link topics, asked of Kafka.
 * 0, or -1 with err set: no answer, a topic missing, or one kept forever. */
int ppctl_topics_retention(const pp_config_t *cfg, long long *max_ms, char *err, size_t errlen);

#endif
