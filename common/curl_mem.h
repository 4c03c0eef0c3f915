/* curl_mem.h - libcurl's memory: its big receive buffers in pages that are resident only once written. */
#ifndef PP_CURL_MEM_H
#define PP_CURL_MEM_H

#include <stddef.h>

/*
 * curl_global_init_mem(flags, ...) with allocation functions of our own: libcurl's
 * allocations of exactly buffer_size bytes (a receive buffer: CURLOPT_BUFFERSIZE + 1) come
 * from slots of an anonymous mapping whose pages are resident only once written; the rest
 * from malloc. Once per process, before any other libcurl call (libcurl keeps the functions
 * of its first global init). 0 = ok, -1 = libcurl refused.
 */
int pp_curl_mem_init(long flags, size_t buffer_size) __attribute__((warn_unused_result));
/* Whether p lies in a slot's pages (tests: where libcurl's buffer is). */
int pp_curl_mem_in_slot(const void *p);

#endif
