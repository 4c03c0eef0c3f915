/* dlq_replay.c - `ppctl dlq replay`: dead letters produced back to the topic they came from (as they are, or one fixed by hand with the same event_id); the notifier's ledger keeps a replay from sending anything twice. */
#include "dlq.h"
#include "kafka.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ppctl_dlq_t *d;
    rd_kafka_t *producer;
    const char *value; /* the event fixed by hand, or NULL: the message's own */
    int queued, failed;
} replay_t;

static void delivered_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    replay_t *r = opaque;
    if (m->err) {
        fprintf(stderr, "ppctl dlq replay: not delivered to %s: %s\n", rd_kafka_topic_name(m->rkt),
                rd_kafka_err2str(m->err));
        r->failed++;
    }
}

static rd_kafka_t *producer_new(const ppctl_t *ctl, replay_t *r)
{
    char err[512];
    /* pp_kafka_conf_new: the brokers, the rdkafka.* properties (SASL, TLS: a cluster that
     * wants them answers nothing without) and librdkafka's lines through the logger */
    rd_kafka_conf_t *conf = pp_kafka_conf_new(&ctl->cfg, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "ppctl dlq replay: %s\n", err);
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err)) {
        fprintf(stderr, "ppctl dlq replay: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, delivered_cb);
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "ppctl dlq replay: %s\n", err);
    return rk;
}

/* The event_id of a JSON event (into id), or "" when it has none. */
static const char *event_id_of(const char *value, size_t len, char *id, size_t cap)
{
    cJSON *o = cJSON_ParseWithLength(value, len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "event_id");
    snprintf(id, cap, "%s", cJSON_IsString(e) ? e->valuestring : "");
    cJSON_Delete(o);
    return id;
}

/* Produce one dead letter (or its fixed value) back to the topic it came from. */
static int replay_one(const rd_kafka_message_t *m, void *arg)
{
    replay_t *r = arg;
    char topic[256], from[300], id[64], fixed_id[64];
    if (!*ppctl_dlq_header(m, "pp-source-topic", topic, sizeof topic))
        snprintf(topic, sizeof topic, "%s", r->d->ctl->cfg.topic);
    snprintf(from, sizeof from, "%s:%d:%lld", r->d->ctl->cfg.dlq_topic, (int)m->partition,
             (long long)m->offset);
    const char *value = m->payload ? (const char *)m->payload : "";
    size_t len = m->len;
    event_id_of(value, len, id, sizeof id);
    if (r->value) { /* the fix must keep the event's identity: the ledger dedups by it */
        event_id_of(r->value, strlen(r->value), fixed_id, sizeof fixed_id);
        if (!*fixed_id || (*id && strcmp(id, fixed_id) != 0)) {
            fprintf(stderr,
                    "ppctl dlq replay: the fixed event's event_id '%s' is not the dead "
                    "letter's '%s'\n",
                    fixed_id, id);
            r->failed++;
            return 1;
        }
        value = r->value;
        len = strlen(r->value);
        snprintf(id, sizeof id, "%s", fixed_id);
    }
    rd_kafka_resp_err_t e =
        rd_kafka_producev(r->producer, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_HEADER("pp-event-id", id, -1),
                          RD_KAFKA_V_HEADER("pp-replayed-from", from, -1), RD_KAFKA_V_END);
    if (e) {
        fprintf(stderr, "ppctl dlq replay: %d:%lld: %s\n", (int)m->partition, (long long)m->offset,
                rd_kafka_err2str(e));
        r->failed++;
        return 1;
    }
    r->queued++;
    printf("replay %d:%lld -> %s (event %s)\n", (int)m->partition, (long long)m->offset, topic,
           *id ? id : "without an event_id");
    return 0;
}

/* The file's text (NUL-terminated, trailing newlines cut), or NULL (printed why). */
static char *read_value(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *nb = n + got + 1 > cap ? realloc(buf, cap = (n + got + 1) * 2) : buf;
        if (!nb) {
            free(buf);
            fclose(f);
            return NULL;
        }
        buf = nb;
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    while (buf && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (buf)
        buf[n] = '\0';
    return buf ? buf : strdup("");
}

/* Each named dead letter (or all of them) produced back, every delivery awaited. */
int ppctl_dlq_replay(ppctl_dlq_t *d, int argc, char **argv)
{
    replay_t r = {.d = d};
    int all = 0, n_ids = 0, rc = 1;
    char *value = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (!strcmp(argv[i], "--value")) {
            const char *path = ppctl_optarg(argc, argv, &i);
            if (path && value)
                fputs("ppctl dlq replay: --value given twice\n", stderr);
            if (!path || value || !(value = read_value(path))) {
                free(value);
                return 2;
            }
        } else
            argv[n_ids++] = argv[i];
    }
    if (all == (n_ids > 0) || (value && n_ids != 1)) {
        fputs("usage: ppctl dlq replay ID... | --all | ID --value FILE\n", stderr);
        free(value);
        return 2;
    }
    r.value = value;
    if (!(r.producer = producer_new(d->ctl, &r))) {
        free(value);
        return 1;
    }
    if (all) {
        if (ppctl_dlq_each(d, replay_one, &r))
            goto out;
    } else {
        for (int i = 0; i < n_ids && !r.failed; i++) {
            int part;
            int64_t off;
            if (ppctl_dlq_parse_id(d, argv[i], &part, &off))
                goto out;
            rd_kafka_message_t *m = ppctl_dlq_fetch(d, part, off);
            if (!m)
                goto out;
            replay_one(m, &r);
            rd_kafka_message_destroy(m);
        }
    }
    rc = 0;
out:
    if (rd_kafka_flush(r.producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "ppctl dlq replay: Kafka did not confirm every message within 30 s\n");
        rc = 1;
    }
    if (r.failed)
        rc = 1;
    fprintf(stderr, "ppctl dlq replay: %d produced back%s\n", r.queued - r.failed,
            rc ? " (see above: not all)" : "");
    rd_kafka_destroy(r.producer);
    free(value);
    return rc;
}
