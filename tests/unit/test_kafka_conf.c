/* test_kafka_conf.c - a librdkafka property refused at start is reported by name, with its
 * value only when that cannot be a secret (the report ends in a daemon's log). */
#include "check.h"
#include "err.h"
#include "kafka.h"

#include <string.h>

int main(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[1024];
    /* misspelt: unknown to librdkafka, and "pasword" is no secret's name either */
    CHECK_INT(pp_kafka_conf_set(conf, "sasl.pasword", "kafka-secret-1", err, sizeof err), PP_ECONFIG);
    CHECK(strstr(err, "sasl.pasword") != NULL);
    CHECK(strstr(err, "kafka-secret-1") == NULL);
    /* a secret's property refused for its value */
    CHECK_INT(pp_kafka_conf_set(conf, "ssl.key.password", "", err, sizeof err), PP_OK);
    CHECK_INT(pp_kafka_conf_set(conf, "sasl.oauthbearer.config", "kafka-secret-2", err, sizeof err),
              PP_OK);
    /* a plain property's bad value is shown: it says what to fix */
    CHECK_INT(pp_kafka_conf_set(conf, "compression.type", "zstdx", err, sizeof err), PP_ECONFIG);
    CHECK(strstr(err, "compression.type=zstdx") != NULL);
    rd_kafka_conf_destroy(conf);
    return CHECK_DONE();
}
