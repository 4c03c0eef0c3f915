/* log.c - timestamped, levelled logging to stderr (one line per call, written atomically). */
#include "log.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "parcelpush";
static pp_log_level_t log_min = PP_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void pp_log_init(const char *prog, pp_log_level_t min_level)
{
    const char *slash = prog ? strrchr(prog, '/') : NULL;
    log_prog = slash ? slash + 1 : (prog ? prog : "parcelpush");
    log_min = min_level;
}

void pp_log_set_level(pp_log_level_t min_level) { log_min = min_level; }

int pp_log_level_parse(const char *name, pp_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (pp_log_level_t)i;
            return PP_OK;
        }
    }
    return PP_EINVAL;
}

void pp_vlog(pp_log_level_t level, const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_prog, (int)getpid(), level_names[level]);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void pp_log(pp_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pp_vlog(level, fmt, ap);
    va_end(ap);
}

void pp_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pp_vlog(PP_LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}

const char *pp_strerror(int err)
{
    switch (err) {
    case PP_OK: return "ok";
    case PP_ENOMEM: return "out of memory";
    case PP_EINVAL: return "invalid argument";
    case PP_EDB: return "database error";
    case PP_EKAFKA: return "Kafka error";
    case PP_EHTTP: return "HTTP error";
    case PP_EPARSE: return "malformed document";
    case PP_ENOTFOUND: return "not found";
    case PP_ETIMEOUT: return "timed out";
    case PP_EIO: return "I/O error";
    case PP_ECONFIG: return "configuration error";
    case PP_EXMPP: return "XMPP error";
    case PP_EAGAIN: return "temporary failure, try again";
    case PP_ECONFLICT: return "conflict";
    default: return "unknown error";
    }
}
