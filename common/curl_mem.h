/* curl_mem.h - libcurl's memory: its receive buffers in pages that are resident only once written. */
#ifndef PP_CURL_MEM_H
#define PP_CURL_MEM_H

#include <stddef.h>

#define PP_CURL_MEM_SIZES 4 /* buffer sizes served from slots, at most */
#define PP_CURL_MEM_HOT 256 /* free slots per size that keep their pages for the next buffers */

/*
 * curl_global_init_mem(flags, ...) with allocation functions of our own: libcurl's
 * allocations of exactly one of buffer_sizes[0..n) bytes (its receive buffers:
 * CURLOPT_BUFFERSIZE + 1) come from slots of an anonymous mapping, whole pages each, resident
 * only once written (and, once freed, until PP_CURL_MEM_HOT later frees); the rest from
 * malloc. Once per process, before any other libcurl call (libcurl keeps the functions of its
 * first global init). 0 = ok, -1 = refused.
 */
int pp_curl_mem_init(long flags, const size_t *buffer_sizes, int n)
    __attribute__((warn_unused_result));
/* Whether p lies in a slot's pages (tests: where libcurl's buffer is). */
int pp_curl_mem_in_slot(const void *p);
/* The slots of one buffer size (tests): taken, free with their pages kept, pages resident. */
typedef struct pp_curl_mem_stats {
    size_t in_use, hot, resident_pages;
} pp_curl_mem_stats_t;
void pp_curl_mem_stats(size_t size, pp_curl_mem_stats_t *st);

#endif
