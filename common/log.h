/* log.h - one logger for every process: level, timestamp, program, printf format, and
 * structured fields (shipment, carrier, event, user, partition/offset) for JSON lines. */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum { PP_LOG_DEBUG = 0, PP_LOG_INFO, PP_LOG_WARN, PP_LOG_ERROR } pp_log_level_t;

/* prog is kept by pointer (pass a string literal or argv[0]). */
void pp_log_init(const char *prog, pp_log_level_t min_level);
int pp_log_level_parse(const char *name, pp_log_level_t *out);
void pp_log_set_level(pp_log_level_t min_level);
/* Whether a line at level would be written (to skip gathering what only a log line needs). */
bool pp_log_enabled(pp_log_level_t level);
/* "text" (false) or "json" (true): PP_OK, or PP_EINVAL for anything else. */
int pp_log_format_parse(const char *name, bool *json);
/* JSON lines: {"time","level","process","pid","worker"(once set),fields...,"msg"}; text otherwise. */
void pp_log_set_json(bool json);
/* The worker id JSON lines carry (copied; "" = none). */
void pp_log_set_worker(const char *id);
void pp_log(pp_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pp_vlog(pp_log_level_t level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * Structured fields of one line, for operators who filter with jq: a JSON line carries each
 * as its own member (after "worker", before "msg"); a text line is unchanged (its message
 * says the same in words). A list ends with a NULL key; build it in the call with
 * PP_LOG_FIELDS(PP_LF_SHIPMENT(id), PP_LF_CARRIER(name)) (a compound literal: it lives as long
 * as the enclosing block). The domain's fields have one name each, through these macros only.
 */
typedef enum {
    PP_LF_KIND_STR = 0, /* str; NULL or "" = left out */
    PP_LF_KIND_NUM,     /* num */
    PP_LF_KIND_ID,      /* num, a database id: left out when not > 0 */
} pp_log_field_kind_t;
typedef struct pp_log_field {
    const char *key; /* [a-z_]+; time, level, process, pid, worker and msg are left out */
    const char *str;
    long long num;
    pp_log_field_kind_t kind;
} pp_log_field_t;

/* clang-format off */
#define PP_LF_STR(k, v) {.key = (k), .str = (v)}
#define PP_LF_NUM(k, v) {.key = (k), .num = (long long)(v), .kind = PP_LF_KIND_NUM}
#define PP_LF_ID(k, v) {.key = (k), .num = (long long)(v), .kind = PP_LF_KIND_ID}
/* clang-format on */
#define PP_LF_SHIPMENT(id) PP_LF_ID("shipment_id", id)
#define PP_LF_CARRIER(name) PP_LF_STR("carrier", name)
#define PP_LF_EVENT(uuid) PP_LF_STR("event_id", uuid)
#define PP_LF_USER(id) PP_LF_ID("user_id", id)
#define PP_LF_PARTITION(p) PP_LF_NUM("partition", p)
#define PP_LF_OFFSET(o) PP_LF_NUM("offset", o)
#define PP_LOG_FIELDS(...) ((const pp_log_field_t[]){__VA_ARGS__, {.key = NULL}})

/* pp_log with fields (NULL = none). */
void pp_logk(pp_log_level_t level, const pp_log_field_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pp_vlogk(pp_log_level_t level, const pp_log_field_t *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define pp_debug(...) pp_log(PP_LOG_DEBUG, __VA_ARGS__)
#define pp_info(...) pp_log(PP_LOG_INFO, __VA_ARGS__)
#define pp_warn(...) pp_log(PP_LOG_WARN, __VA_ARGS__)
#define pp_error(...) pp_log(PP_LOG_ERROR, __VA_ARGS__)
#define pp_debugk(fields, ...) pp_logk(PP_LOG_DEBUG, fields, __VA_ARGS__)
#define pp_infok(fields, ...) pp_logk(PP_LOG_INFO, fields, __VA_ARGS__)
#define pp_warnk(fields, ...) pp_logk(PP_LOG_WARN, fields, __VA_ARGS__)
#define pp_errork(fields, ...) pp_logk(PP_LOG_ERROR, fields, __VA_ARGS__)

/* Start-up failure only: log and exit(1). A daemon never calls this per request. */
void pp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
