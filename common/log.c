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
static bool log_json;
static char log_worker[128];

void pp_log_init(const char *prog, pp_log_level_t min_level)
{
    const char *slash = prog ? strrchr(prog, '/') : NULL;
    log_prog = slash ? slash + 1 : (prog ? prog : "parcelpush");
    log_min = min_level;
}

void pp_log_set_level(pp_log_level_t min_level) { log_min = min_level; }
bool pp_log_enabled(pp_log_level_t level) { return level >= log_min; }
void pp_log_set_json(bool json) { log_json = json; }
void pp_log_set_worker(const char *id)
{
    snprintf(log_worker, sizeof log_worker, "%s", id ? id : "");
}

int pp_log_format_parse(const char *name, bool *json)
{
    if (strcasecmp(name, "text") == 0 || strcasecmp(name, "json") == 0) {
        *json = strcasecmp(name, "json") == 0;
        return PP_OK;
    }
    return PP_EINVAL;
}

/* s as the inside of a JSON string into out[at..cap): quotes, backslashes and control
 * characters escaped (the text is UTF-8 already: every message passes through pp_text_clean
 * or comes from the code); a text cut short is cut on a character boundary, so the line stays
 * valid UTF-8. Returns the new end. */
static size_t json_escape(char *out, size_t at, size_t cap, const char *s)
{
    size_t from = at;
    for (; *s && at + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[at++] = '\\';
            out[at++] = (char)ch;
        } else if (ch < 0x20) {
            at += (size_t)snprintf(out + at, cap - at, "\\u%04x", ch);
        } else {
            out[at++] = (char)ch;
        }
    }
    if (*s && ((unsigned char)*s & 0xC0) == 0x80) { /* cut inside a character: drop its start */
        while (at > from && ((unsigned char)out[at - 1] & 0xC0) == 0x80)
            at--;
        if (at > from && (unsigned char)out[at - 1] >= 0xC0)
            at--;
    }
    return at;
}

/* The members every line has: a field may not take their names. */
static bool reserved_key(const char *key)
{
    static const char *const base[] = {"time", "level", "process", "pid", "worker", "msg"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if (strcmp(key, base[i]) == 0)
            return true;
    return false;
}

/* ,"key":value for each field that is set (each whole or not at all: a string value is cut
 * at about 500 bytes); returns the new end. */
static size_t json_fields(char *line, size_t at, size_t cap, const pp_log_field_t *f)
{
    for (; f && f->key; f++) {
        if (reserved_key(f->key) || (f->kind == PP_LF_KIND_STR && (!f->str || !f->str[0])) ||
            (f->kind == PP_LF_KIND_ID && f->num <= 0))
            continue;
        char one[640];
        size_t n = json_escape(one, 2, 80, f->key);
        memcpy(one, ",\"", 2);
        if (f->kind != PP_LF_KIND_STR) {
            n += (size_t)snprintf(one + n, sizeof one - n, "\":%lld", f->num);
        } else {
            memcpy(one + n, "\":\"", 3);
            n = json_escape(one, n + 3, sizeof one - 2, f->str);
            one[n++] = '"';
        }
        if (at + n >= cap)
            break;
        memcpy(line + at, one, n);
        at += n;
    }
    return at;
}

/* One JSON object: time, level, process, pid, worker (when set), the fields, msg. */
static size_t json_line(char *line, size_t cap, const char *stamp, pp_log_level_t level,
                        const pp_log_field_t *fields, const char *msg)
{
    int n = snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"process\":\"", stamp,
                     level_names[level]);
    size_t at = json_escape(line, n < 0 ? 0 : (size_t)n, cap, log_prog);
    at += (size_t)snprintf(line + at, cap - at, "\",\"pid\":%d", (int)getpid());
    if (log_worker[0]) {
        at += (size_t)snprintf(line + at, cap - at, ",\"worker\":\"");
        at = json_escape(line, at, cap, log_worker);
        at += (size_t)snprintf(line + at, cap - at, "\"");
    }
    at = json_fields(line, at, cap / 2, fields); /* the message keeps the other half */
    at += (size_t)snprintf(line + at, cap - at, ",\"msg\":\"");
    at = json_escape(line, at, cap - 3, msg);
    line[at++] = '"';
    line[at++] = '}';
    return at;
}

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

void pp_vlogk(pp_log_level_t level, const pp_log_field_t *fields, const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    char msg[4096], line[8192], stamp[96];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        return;
    size_t len;
    if (log_json) {
        len = json_line(line, sizeof line - 1, stamp, level, fields, msg);
    } else {
        int n = snprintf(line, sizeof line - 1, "%s %s[%d] %s: %s", stamp, log_prog, (int)getpid(),
                         level_names[level], msg);
        len = n < 0 ? 0 : (size_t)n > sizeof line - 2 ? sizeof line - 2 : (size_t)n;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void pp_vlog(pp_log_level_t level, const char *fmt, va_list ap) { pp_vlogk(level, NULL, fmt, ap); }

void pp_logk(pp_log_level_t level, const pp_log_field_t *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pp_vlogk(level, fields, fmt, ap);
    va_end(ap);
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
