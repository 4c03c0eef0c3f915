/*
 * sink.c - a benchmark channel: every message is taken as delivered at once and sent nowhere,
 * so tools/bench/fleet-bench can show what the notifier itself costs (Kafka, decoding, the
 * ledger's transactions, rendering) without an IM server's time in it.
 *
 * It stands in for XMPP (im_channel "xmpp": the same buyers, the same decisions), so every
 * row it marks 'sent' is a notification no buyer got. That is why the notifier refuses
 * notifier_channel = sink unless notifier_sink_benchmark = true (notifier.c), and why this
 * file refuses to open without it too. No record of what was sent (was_sent NULL): a
 * restarted notifier sends what was in flight again, into the sink.
 */
#include "channel.h"
#include "err.h"

#include <stdlib.h>

struct pp_channel {
    unsigned long long queued; /* messages taken (never read; kept for a debugger) */
};

static int s_open(pp_channel_t **out, const pp_config_t *cfg, pp_channel_bounce_cb bounce, void *arg)
{
    (void)bounce;
    (void)arg;
    if (!cfg->notifier_sink_benchmark)
        return PP_ECONFIG;
    pp_channel_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return PP_ENOMEM;
    *out = ch;
    return PP_OK;
}

/* Nothing to drive: the caller's waits (the Kafka poll) do the idling. */
static void s_poll(pp_channel_t *ch, int timeout_ms)
{
    (void)ch;
    (void)timeout_ms;
}

static bool s_is_up(pp_channel_t *ch)
{
    (void)ch;
    return true;
}

static int s_send(pp_channel_t *ch, const char *id, const char *to, const char *body)
{
    (void)id;
    (void)to;
    (void)body;
    ch->queued++;
    return PP_OK;
}

/* Every message queued is "acknowledged" already. */
static int s_flush(pp_channel_t *ch, int timeout_ms)
{
    (void)ch;
    (void)timeout_ms;
    return PP_OK;
}

static void s_close(pp_channel_t *ch, int timeout_ms)
{
    (void)timeout_ms;
    free(ch);
}

const pp_channel_ops_t pp_channel_sink = {
    .name = "sink",
    .im_channel = "xmpp",
    .benchmark_only = true,
    .open = s_open,
    .poll = s_poll,
    .is_up = s_is_up,
    .send = s_send,
    .flush = s_flush,
    .push = NULL,
    .was_sent = NULL,
    .in_doubt = NULL,
    .close = s_close,
};
