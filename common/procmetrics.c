/* procmetrics.c - process_* metrics from /proc/self (stat, statm, fd, limits). */
#include "procmetrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* utime + stime (clock ticks) and starttime (ticks after boot) from /proc/self/stat. */
static int read_stat(unsigned long long *cpu_ticks, unsigned long long *start_ticks)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return -1;
    /* after ')' come field 3 (state) onwards: utime is field 14, stime 15, starttime 22 */
    unsigned long long v[20] = {0};
    int i = 0;
    for (char *tok = strtok(p + 1, " "); tok && i < 20; tok = strtok(NULL, " "))
        v[i++] = strtoull(tok, NULL, 10);
    if (i < 20)
        return -1;
    *cpu_ticks = v[14 - 3] + v[15 - 3];
    *start_ticks = v[22 - 3];
    return 0;
}

static double boot_time(void)
{
    char line[256];
    double bt = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void declare(pp_metrics_t *m)
{
    pp_metrics_help(m, "process_cpu_seconds_total", "counter",
                    "user and system CPU time spent, seconds");
    pp_metrics_help(m, "process_resident_memory_bytes", "gauge", "resident memory size, bytes");
    pp_metrics_help(m, "process_virtual_memory_bytes", "gauge", "virtual memory size, bytes");
    pp_metrics_help(m, "process_open_fds", "gauge", "open file descriptors");
    pp_metrics_help(m, "process_max_fds", "gauge", "the limit of open file descriptors");
    pp_metrics_help(m, "process_start_time_seconds", "gauge",
                    "start time, seconds since the Unix epoch");
}

void pp_procmetrics_update(pp_metrics_t *m)
{
    static pp_metrics_t *declared;
    static double cpu_last;
    double tick = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    unsigned long long cpu, start;
    int stat_ok = tick > 0 && read_stat(&cpu, &start) == 0;
    if (declared != m) { /* the first scrape: the help lines and the start time, once */
        declare(m);
        declared = m;
        cpu_last = 0;
        if (stat_ok)
            pp_metrics_set(m, "process_start_time_seconds", boot_time() + (double)start / tick);
    }
    if (stat_ok) { /* a counter: add what was spent since the last scrape */
        double secs = (double)cpu / tick;
        pp_metrics_add(m, "process_cpu_seconds_total", secs > cpu_last ? secs - cpu_last : 0);
        cpu_last = secs > cpu_last ? secs : cpu_last;
    }
    unsigned long long vsz = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &vsz, &rss) == 2) {
            pp_metrics_set(m, "process_virtual_memory_bytes", (double)vsz * page);
            pp_metrics_set(m, "process_resident_memory_bytes", (double)rss * page);
        }
        fclose(f);
    }
    long fds = open_fds();
    if (fds >= 0)
        pp_metrics_set(m, "process_open_fds", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        pp_metrics_set(m, "process_max_fds", (double)rl.rlim_cur);
}
