/* curl_mem.c - libcurl's memory: its big receive buffers in pages that are resident only once written. */
#include "curl_mem.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <uv.h>

/*
 * libcurl 7.88 allocates every transfer's receive buffer (CURLOPT_BUFFERSIZE + 1 bytes) when
 * the transfer starts, long before an answer comes. From malloc, a 16 KiB buffer costs at
 * least one resident 4 KiB page at once (mimalloc writes its free list into every block it
 * hands out; glibc its chunk header) and rounds it to a 20 KiB size class: ~5 KiB of RSS per
 * HTTP/2 request in flight (25 MiB at 5,000) for buffers that are empty while the carrier
 * thinks. Here the buffers of exactly the size asked for (pp_curl_mem_init) come from slots
 * of an anonymous mapping: a page is resident once libcurl writes an answer into it, and a
 * freed slot's pages go back to the kernel (MADV_DONTNEED; a buffer is freed only with its
 * easy handle, not per request: httpc.c reuses handles). Every other allocation is malloc's.
 * Slots are taken last-freed first; the slots of a chunk are reserved CHUNK_SLOTS at a time,
 * at most MAX_CHUNKS chunks: beyond that the buffers come from malloc again.
 */
#define CHUNK_SLOTS 1024
#define MAX_CHUNKS 32
#define PAGE 4096u

typedef struct chunk {
    char *base;
} chunk_t;

static size_t slot_size;   /* the buffer size served from slots (0 = none) */
static size_t slot_stride; /* slot_size rounded up to whole pages */
static chunk_t chunks[MAX_CHUNKS];
static atomic_int n_chunks;  /* chunks[0..n) are set: read without the lock by slab_index */
static uint32_t *free_slots; /* a stack of free slot numbers (chunk * CHUNK_SLOTS + i) */
static size_t n_free;
static uv_mutex_t lock;

/* The slot number of p, or -1 when p is not a slot. */
static long slab_index(const void *p)
{
    int n = atomic_load_explicit(&n_chunks, memory_order_acquire);
    uintptr_t a = (uintptr_t)p;
    for (int c = 0; c < n; c++) {
        uintptr_t b = (uintptr_t)chunks[c].base;
        if (a >= b && a < b + CHUNK_SLOTS * slot_stride) {
            size_t off = a - b;
            if (off % slot_stride)
                return -1; /* not a slot's start: never handed out */
            return (long)(c * CHUNK_SLOTS + off / slot_stride);
        }
    }
    return -1;
}

static char *slot_addr(uint32_t i)
{
    return chunks[i / CHUNK_SLOTS].base + (size_t)(i % CHUNK_SLOTS) * slot_stride;
}

/* Under the lock: one more chunk of free slots; 0 when none could be had. */
static int grow(void)
{
    int n = atomic_load_explicit(&n_chunks, memory_order_relaxed);
    if (n == MAX_CHUNKS)
        return 0;
    uint32_t *fs = realloc(free_slots, (size_t)(n + 1) * CHUNK_SLOTS * sizeof *fs);
    if (!fs)
        return 0;
    free_slots = fs;
    void *m = mmap(NULL, CHUNK_SLOTS * slot_stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    chunks[n].base = m;
    for (int i = CHUNK_SLOTS - 1; i >= 0; i--)
        free_slots[n_free++] = (uint32_t)(n * CHUNK_SLOTS + i);
    atomic_store_explicit(&n_chunks, n + 1, memory_order_release);
    return 1;
}

static void *slab_alloc(void)
{
    void *p = NULL;
    uv_mutex_lock(&lock);
    if (n_free || grow())
        p = slot_addr(free_slots[--n_free]);
    uv_mutex_unlock(&lock);
    return p;
}

static void slab_free(long i)
{
    char *p = slot_addr((uint32_t)i);
    madvise(p, slot_stride, MADV_DONTNEED); /* its pages back to the kernel, zero when touched again */
    uv_mutex_lock(&lock);
    free_slots[n_free++] = (uint32_t)i;
    uv_mutex_unlock(&lock);
}

static void *mem_malloc(size_t n)
{
    if (n == slot_size) {
        void *p = slab_alloc();
        if (p)
            return p;
    }
    return malloc(n);
}

static void mem_free(void *p)
{
    long i = p ? slab_index(p) : -1;
    if (i >= 0)
        slab_free(i);
    else
        free(p);
}

static void *mem_realloc(void *p, size_t n)
{
    long i = p ? slab_index(p) : -1;
    if (i < 0)
        return realloc(p, n);
    if (n <= slot_size)
        return p;
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, slot_size);
    slab_free(i);
    return q;
}

static char *mem_strdup(const char *s) { return strdup(s); }

static void *mem_calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (!__builtin_mul_overflow(nmemb, size, &n) && n == slot_size) {
        void *p = slab_alloc(); /* fresh or MADV_DONTNEED'd pages read as zero */
        if (p)
            return p;
    }
    return calloc(nmemb, size);
}

int pp_curl_mem_in_slot(const void *p)
{
    int n = atomic_load_explicit(&n_chunks, memory_order_acquire);
    for (int c = 0; c < n; c++)
        if ((const char *)p >= chunks[c].base &&
            (const char *)p < chunks[c].base + CHUNK_SLOTS * slot_stride)
            return 1;
    return 0;
}

int pp_curl_mem_init(long flags, size_t buffer_size)
{
    if (uv_mutex_init(&lock) != 0)
        return -1;
    slot_size = buffer_size;
    slot_stride = (buffer_size + PAGE - 1) / PAGE * PAGE;
    CURLcode rc =
        curl_global_init_mem(flags, mem_malloc, mem_free, mem_realloc, mem_strdup, mem_calloc);
    return rc == CURLE_OK ? 0 : -1;
}
