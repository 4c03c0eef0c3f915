/*
 * production.h - production mode: a daemon refuses to start on a development default.
 *
 * The built-in defaults are the local stack's (deploy/local/stack): a loopback database and
 * Kafka, the demo XMPP password, TLS off. A production process started with a forgotten
 * variable would run on them without a word; so unless `env` (PP_ENV) is `dev`, every
 * daemon checks the keys its kind uses and refuses to start, naming each key and its fix.
 */
#ifndef PP_PRODUCTION_H
#define PP_PRODUCTION_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* What a daemon kind talks to besides Postgres (every daemon uses the database). */
#define PP_USES_KAFKA 1u /* kafka_brokers: pp-poller (the relay), pp-notifier */
#define PP_USES_XMPP 2u  /* xmpp_password, xmpp_tls: pp-notifier, pp-bot */

/* env = dev: the development defaults are allowed. */
bool pp_production_is_dev(const pp_config_t *c);

/*
 * PP_OK in dev mode or when none of the keys of `uses` (PP_USES_* bits, plus db_url) is on its
 * development default and the environment has no PP_* variable that names no key (PP_RDKAFKA_*
 * aside); else PP_ECONFIG and err lists each, what to set instead and that PP_ENV=dev allows
 * them (in dev mode only a name one letter off a key is refused: config_keys.c).
 */
int pp_production_check(const pp_config_t *c, unsigned uses, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
