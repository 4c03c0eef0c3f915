/* procmetrics.h - the process_* metrics every Prometheus client exports, read from /proc/self. */
#ifndef PP_PROCMETRICS_H
#define PP_PROCMETRICS_H

#include "metrics.h"

/*
 * Refresh process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds in m (declared on the first call). Loop thread; the daemon frame
 * hands it to pp_metrics_before_render, so a scrape sees the values of its own moment.
 */
void pp_procmetrics_update(pp_metrics_t *m);

#endif
