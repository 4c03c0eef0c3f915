/* wait.c - `ppctl wait`: live progress until every shipment is terminal and every event handled. */
#include "status.h"

#include "timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    rd_kafka_t *rk = ppctl_kafka_client(ctl);
    signal(SIGINT, on_int);
    int tty = isatty(STDERR_FILENO), stable = 0, status = 1;
    int64_t start = pp_mono_ms(), last_print = 0;
    ppctl_counts_t s;
    while (!interrupted) {
        if (ppctl_counts_take(c, rk, ctl, true, &s)) {
            fprintf(stderr, "ppctl wait: cannot read progress (see above); retrying\n");
            sleep(1);
            continue;
        }
        int64_t el = pp_mono_ms() - start;
        if (tty || el - last_print >= 5000) {
            fprintf(stderr, "%s[%3llds] ", tty ? "\r\033[K" : "", (long long)(el / 1000));
            ppctl_counts_line(stderr, &s);
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
