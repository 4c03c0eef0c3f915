/* log.h - one logger for every process: level, timestamp, program, printf format. */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum { PP_LOG_DEBUG = 0, PP_LOG_INFO, PP_LOG_WARN, PP_LOG_ERROR } pp_log_level_t;

/* prog is kept by pointer (pass a string literal or argv[0]). */
void pp_log_init(const char *prog, pp_log_level_t min_level);
int pp_log_level_parse(const char *name, pp_log_level_t *out);
void pp_log_set_level(pp_log_level_t min_level);
/* "text" (false) or "json" (true): PP_OK, or PP_EINVAL for anything else. */
int pp_log_format_parse(const char *name, bool *json);
/* JSON lines: {"time","level","process","pid","worker"(once set),"msg"}; text otherwise. */
void pp_log_set_json(bool json);
/* The worker id JSON lines carry (copied; "" = none). */
void pp_log_set_worker(const char *id);
void pp_log(pp_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pp_vlog(pp_log_level_t level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define pp_debug(...) pp_log(PP_LOG_DEBUG, __VA_ARGS__)
#define pp_info(...) pp_log(PP_LOG_INFO, __VA_ARGS__)
#define pp_warn(...) pp_log(PP_LOG_WARN, __VA_ARGS__)
#define pp_error(...) pp_log(PP_LOG_ERROR, __VA_ARGS__)

/* Start-up failure only: log and exit(1). A daemon never calls this per request. */
void pp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
