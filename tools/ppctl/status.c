/* status.c - `ppctl status`, `ppctl wait` (live progress) and `ppctl topics` (Kafka admin). */
#include "ppctl.h"

#include "db.h"
#include "err.h"
#include "timeutil.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    long long total, terminal, due, by_status[16];
    char status_names[16][32];
    int n_status;
    long long events, unpublished, sent, skipped, sending, failed, workers_poller, workers_notifier;
    long long lag; /* -1 = unknown */
    /* live pp-bot workers and the sums of their heartbeat counters */
    long long workers_bot, bot_asks, bot_db, bot_live_calls, bot_coalesced, bot_refused_quota,
        bot_refused_breaker, bot_refused_paused;
} snapshot_t;

static rd_kafka_t *lag_client(ppctl_t *ctl)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", ctl->cfg.kafka_brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", ctl->cfg.group_id, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err)) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "ppctl: Kafka config: %s\n", err);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "ppctl: Kafka client: %s\n", err);
    return rk;
}

/* Sum over partitions of (high watermark - committed offset of the notifier group). */
static long long consumer_lag(rd_kafka_t *rk, const char *topic)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        if (!e)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    long long lag = -1;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        lag = 0;
        for (int p = 0; p < np; p++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000)) {
                lag = -1;
                break;
            }
            int64_t off = l->elems[p].offset;
            lag += hi - (off >= 0 ? off : lo);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

static long long ll(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int take(PGconn *c, rd_kafka_t *rk, ppctl_t *ctl, snapshot_t *s)
{
    PGresult *r;
    memset(s, 0, sizeof *s);
    if (pp_db_exec(c, "shipments by status",
                   "SELECT status, count(*), count(*) FILTER (WHERE next_poll_at <= now()) "
                   "FROM shipments GROUP BY 1 ORDER BY min(progress), 1",
                   0, NULL, &r))
        return PP_EDB;
    for (int i = 0; i < PQntuples(r) && i < 16; i++) {
        snprintf(s->status_names[i], sizeof s->status_names[i], "%s", PQgetvalue(r, i, 0));
        s->by_status[i] = ll(r, i, 1);
        s->total += s->by_status[i];
        s->due += ll(r, i, 2);
        if (!strcmp(s->status_names[i], "delivered") || !strcmp(s->status_names[i], "returned") ||
            !strcmp(s->status_names[i], "expired"))
            s->terminal += s->by_status[i];
        s->n_status++;
    }
    PQclear(r);
    if (pp_db_exec(c, "outbox and ledger counts",
                   "SELECT (SELECT count(*) FROM outbox), "
                   "(SELECT count(*) FROM outbox WHERE published_at IS NULL), "
                   "(SELECT count(*) FROM notifications WHERE state = 'sent'), "
                   "(SELECT count(*) FROM notifications WHERE state LIKE 'skipped%'), "
                   "(SELECT count(*) FROM notifications WHERE state = 'sending'), "
                   "(SELECT count(*) FROM notifications WHERE state = 'failed'), "
                   "(SELECT count(*) FROM workers WHERE kind = 'poller' AND stopped_at IS NULL "
                   "  AND heartbeat_at > now() - interval '15 seconds'), "
                   "(SELECT count(*) FROM workers WHERE kind = 'notifier' AND stopped_at IS NULL "
                   "  AND heartbeat_at > now() - interval '15 seconds')",
                   0, NULL, &r))
        return PP_EDB;
    s->events = ll(r, 0, 0);
    s->unpublished = ll(r, 0, 1);
    s->sent = ll(r, 0, 2);
    s->skipped = ll(r, 0, 3);
    s->sending = ll(r, 0, 4);
    s->failed = ll(r, 0, 5);
    s->workers_poller = ll(r, 0, 6);
    s->workers_notifier = ll(r, 0, 7);
    PQclear(r);
    if (pp_db_exec(c, "bot workers",
                   "SELECT count(*), sum((counters->>'asks')::bigint), "
                   "sum((counters->>'answered_db')::bigint), sum((counters->>'live_calls')::bigint), "
                   "sum((counters->>'coalesced')::bigint), sum((counters->>'refused_quota')::bigint), "
                   "sum((counters->>'refused_breaker')::bigint), "
                   "sum((counters->>'refused_paused')::bigint) "
                   "FROM workers WHERE kind = 'bot' AND stopped_at IS NULL "
                   "  AND heartbeat_at > now() - interval '15 seconds'",
                   0, NULL, &r))
        return PP_EDB;
    s->workers_bot = ll(r, 0, 0);
    s->bot_asks = ll(r, 0, 1);
    s->bot_db = ll(r, 0, 2);
    s->bot_live_calls = ll(r, 0, 3);
    s->bot_coalesced = ll(r, 0, 4);
    s->bot_refused_quota = ll(r, 0, 5);
    s->bot_refused_breaker = ll(r, 0, 6);
    s->bot_refused_paused = ll(r, 0, 7);
    PQclear(r);
    s->lag = rk ? consumer_lag(rk, ctl->cfg.topic) : -1;
    return PP_OK;
}

static void print_line(FILE *out, const snapshot_t *s)
{
    fprintf(out, "shipments %lld:", s->total);
    for (int i = 0; i < s->n_status; i++)
        fprintf(out, " %s %lld", s->status_names[i], s->by_status[i]);
    fprintf(out, " | events %lld published %lld | IMs sent %lld skipped %lld failed %lld | lag ",
            s->events, s->events - s->unpublished, s->sent, s->skipped, s->failed);
    if (s->lag < 0)
        fprintf(out, "?");
    else
        fprintf(out, "%lld", s->lag);
}

static void print_json(FILE *out, const snapshot_t *s)
{
    fprintf(out, "{\"shipments\":%lld,\"terminal\":%lld,\"due\":%lld,\"by_status\":{", s->total,
            s->terminal, s->due);
    for (int i = 0; i < s->n_status; i++)
        fprintf(out, "%s\"%s\":%lld", i ? "," : "", s->status_names[i], s->by_status[i]);
    fprintf(out,
            "},\"events\":%lld,\"unpublished\":%lld,\"notifications\":{\"sent\":%lld,"
            "\"skipped\":%lld,\"sending\":%lld,\"failed\":%lld},\"workers\":{\"poller\":%lld,"
            "\"notifier\":%lld,\"bot\":%lld},\"bot\":{\"asks\":%lld,\"answered_db\":%lld,"
            "\"live_calls\":%lld,\"coalesced\":%lld,\"refused_quota\":%lld,"
            "\"refused_breaker\":%lld,\"refused_paused\":%lld},\"consumer_lag\":%lld}\n",
            s->events, s->unpublished, s->sent, s->skipped, s->sending, s->failed,
            s->workers_poller, s->workers_notifier, s->workers_bot, s->bot_asks, s->bot_db,
            s->bot_live_calls, s->bot_coalesced, s->bot_refused_quota, s->bot_refused_breaker,
            s->bot_refused_paused, s->lag);
}

int ppctl_status(ppctl_t *ctl, int argc, char **argv)
{
    int json = 0, line = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--line"))
            line = 1;
        else {
            fprintf(stderr, "usage: ppctl status [--json|--line]\n");
            return 2;
        }
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    rd_kafka_t *rk = lag_client(ctl);
    snapshot_t s;
    int rc = take(c, rk, ctl, &s);
    if (!rc) {
        if (json)
            print_json(stdout, &s);
        else if (line) {
            print_line(stdout, &s);
            putchar('\n');
        } else {
            printf("workers live: %lld pollers, %lld notifiers, %lld bots\n", s.workers_poller,
                   s.workers_notifier, s.workers_bot);
            if (s.workers_bot > 0)
                printf("bot: %lld asks, %lld answered from Postgres, %lld live calls (%lld asks "
                       "coalesced), refused: %lld day share used up, %lld breaker open, %lld "
                       "Retry-After\n",
                       s.bot_asks, s.bot_db, s.bot_live_calls, s.bot_coalesced, s.bot_refused_quota,
                       s.bot_refused_breaker, s.bot_refused_paused);
            printf("shipments: %lld (%lld terminal, %lld due now)\n", s.total, s.terminal, s.due);
            for (int i = 0; i < s.n_status; i++)
                printf("  %-22s %lld\n", s.status_names[i], s.by_status[i]);
            printf("events: %lld written, %lld not yet in Kafka\n", s.events, s.unpublished);
            printf("notifications: %lld sent, %lld skipped, %lld in flight, %lld failed\n", s.sent,
                   s.skipped, s.sending, s.failed);
            printf("consumer lag (%s): %lld%s\n", ctl->cfg.group_id, s.lag,
                   s.lag < 0 ? " (unknown)" : "");
        }
    }
    if (rk)
        rd_kafka_destroy(rk);
    PQfinish(c);
    return rc ? 1 : 0;
}

static volatile sig_atomic_t interrupted;
static void on_int(int sig)
{
    (void)sig;
    interrupted = 1;
}

int ppctl_wait(ppctl_t *ctl, int argc, char **argv)
{
    long long timeout = 600, until_pct = -1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--timeout")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--timeout", v, 1, 86400, &timeout))
                return 2;
        } else if (!strcmp(argv[i], "--until-terminal")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--until-terminal", v, 0, 100, &until_pct))
                return 2;
        } else {
            fprintf(stderr, "usage: ppctl wait [--timeout SECONDS] [--until-terminal PERCENT]\n");
            return 2;
        }
    }
    PGconn *c = ppctl_connect(ctl);
    if (!c)
        return 1;
    rd_kafka_t *rk = lag_client(ctl);
    signal(SIGINT, on_int);
    int tty = isatty(STDERR_FILENO), stable = 0, status = 1;
    int64_t start = pp_mono_ms(), last_print = 0;
    snapshot_t s;
    while (!interrupted) {
        if (take(c, rk, ctl, &s)) {
            fprintf(stderr, "ppctl wait: cannot read progress (see above); retrying\n");
            sleep(1);
            continue;
        }
        int64_t el = pp_mono_ms() - start;
        if (tty || el - last_print >= 5000) {
            fprintf(stderr, "%s[%3llds] ", tty ? "\r\033[K" : "", (long long)(el / 1000));
            print_line(stderr, &s);
            if (!tty)
                fputc('\n', stderr);
            last_print = el;
        }
        /* Done when every shipment is terminal, the outbox is drained, the notifiers
         * have consumed everything and nothing is mid-send -- twice in a row. */
        int done = s.total > 0 && s.terminal == s.total && s.unpublished == 0 && s.lag == 0 &&
                   s.sending == 0;
        if (until_pct >= 0 && s.total > 0 && s.terminal * 100 >= until_pct * s.total) {
            status = 0;
            break;
        }
        stable = done ? stable + 1 : 0;
        if (stable >= 2) {
            status = 0;
            break;
        }
        if (el > timeout * 1000) {
            fprintf(stderr,
                    "\nppctl wait: timed out after %llds; not finished: %lld of %lld shipments "
                    "terminal, %lld events unpublished, lag %lld\n",
                    timeout, s.terminal, s.total, s.unpublished, s.lag);
            break;
        }
        usleep(500000);
    }
    if (tty)
        fputc('\n', stderr);
    if (rk)
        rd_kafka_destroy(rk);
    PQfinish(c);
    return interrupted ? 130 : status;
}

int ppctl_topics(ppctl_t *ctl, int argc, char **argv)
{
    long long partitions = 12, dlq_partitions = 3;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--partitions")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--partitions", v, 1, 1000, &partitions))
                return 2;
        } else {
            fprintf(stderr, "usage: ppctl topics [--partitions N]\n");
            return 2;
        }
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", ctl->cfg.kafka_brokers, err, sizeof err)) {
        fprintf(stderr, "ppctl topics: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "ppctl topics: %s\n", err);
        return 1;
    }
    /* Shipment events, their dead letters, IM-link codes (few: 3 partitions). */
    const char *names[3] = {ctl->cfg.topic, ctl->cfg.dlq_topic, ctl->cfg.im_link_topic};
    int parts[3] = {(int)partitions, (int)dlq_partitions, 3};
    rd_kafka_NewTopic_t *nt[3];
    for (int i = 0; i < 3; i++)
        nt[i] = rd_kafka_NewTopic_new(names[i], parts[i], 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, 3, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int status = 1;
    if (!ev) {
        fprintf(stderr, "ppctl topics: no answer from Kafka at %s within 30 s\n",
                ctl->cfg.kafka_brokers);
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "ppctl topics: %s\n", rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        status = 0;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                printf("topic %s exists\n", rd_kafka_topic_result_name(res[i]));
            else if (e) {
                fprintf(stderr, "ppctl topics: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
                status = 1;
            } else
                printf("topic %s created\n", rd_kafka_topic_result_name(res[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < 3; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_destroy(rk);
    return status;
}
