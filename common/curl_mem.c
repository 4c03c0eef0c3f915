/* curl_mem.c - libcurl's memory: its receive buffers in pages that are resident only once written. */
#include "curl_mem.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

/*
 * libcurl 7.88 allocates every transfer's receive buffer (CURLOPT_BUFFERSIZE + 1 bytes) when
 * the transfer starts, long before an answer comes. From malloc, a 16 KiB buffer costs at
 * least one resident 4 KiB page at once (mimalloc writes its free list into every block it
 * hands out; glibc its chunk header) and rounds it to a 20 KiB size class: ~5 KiB of RSS per
 * HTTP/2 request in flight (25 MiB at 5,000) for buffers that are empty while the carrier
 * thinks; a 1 KiB buffer (HTTP/1.1) costs its 1,280 B size class in pages that mimalloc fills
 * block after block. Here the buffers of exactly the sizes asked for (pp_curl_mem_init) come
 * from slots of an anonymous mapping, whole pages each: a page is resident once libcurl
 * writes an answer into it. libcurl frees the buffer when its transfer ends; slots are taken
 * last-freed first, and the HOT_MAX last freed keep their pages for the next transfers, older
 * free slots give theirs back to the kernel (MADV_DONTNEED): giving back every freed slot, a
 * system call per request and a page fault for the next, cost a busy poller ~20 % more CPU
 * per poll. Every other allocation is malloc's. A size's slots are reserved CHUNK_SLOTS at a
 * time, at most MAX_CHUNKS chunks: beyond that its buffers come from malloc.
 * libcurl 8 (the bundled one, meson -Dcurl=bundled) has one receive buffer per multi handle,
 * not per transfer: there no allocation is of a slot size and every one is malloc's.
 */
#define CHUNK_SLOTS 1024
#define MAX_CHUNKS 32
#define PAGE 4096u
#define HOT_MAX PP_CURL_MEM_HOT

typedef struct slab {
    size_t size;   /* the buffer size served from this slab's slots */
    size_t stride; /* size rounded up to whole pages */
    char *chunks[MAX_CHUNKS];
    atomic_int n_chunks;  /* chunks[0..n) are set: read without the lock by slab_find */
    uint32_t *free_slots; /* a stack of free slot numbers (chunk * CHUNK_SLOTS + i) */
    size_t n_free;
    size_t hot; /* the top hot of free_slots still have their pages (contents left over) */
} slab_t;

static slab_t slabs[PP_CURL_MEM_SIZES];
static int n_slabs;
static uv_mutex_t lock;

/* The slab and slot number of p; false when p is not a slot. */
static int slab_find(const void *p, slab_t **sp, uint32_t *ip)
{
    uintptr_t a = (uintptr_t)p;
    for (int s = 0; s < n_slabs; s++) {
        slab_t *sl = &slabs[s];
        int n = atomic_load_explicit(&sl->n_chunks, memory_order_acquire);
        for (int c = 0; c < n; c++) {
            uintptr_t b = (uintptr_t)sl->chunks[c];
            if (a >= b && a < b + CHUNK_SLOTS * sl->stride) {
                size_t off = a - b;
                if (off % sl->stride)
                    return 0; /* not a slot's start: never handed out */
                *sp = sl;
                *ip = (uint32_t)(c * CHUNK_SLOTS + off / sl->stride);
                return 1;
            }
        }
    }
    return 0;
}

static char *slot_addr(const slab_t *sl, uint32_t i)
{
    return sl->chunks[i / CHUNK_SLOTS] + (size_t)(i % CHUNK_SLOTS) * sl->stride;
}

/* Under the lock: one more chunk of free slots; 0 when none could be had. */
static int grow(slab_t *sl)
{
    int n = atomic_load_explicit(&sl->n_chunks, memory_order_relaxed);
    if (n == MAX_CHUNKS)
        return 0;
    uint32_t *fs = realloc(sl->free_slots, (size_t)(n + 1) * CHUNK_SLOTS * sizeof *fs);
    if (!fs)
        return 0;
    sl->free_slots = fs;
    void *m = mmap(NULL, CHUNK_SLOTS * sl->stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    sl->chunks[n] = m;
    for (int i = CHUNK_SLOTS - 1; i >= 0; i--)
        sl->free_slots[sl->n_free++] = (uint32_t)(n * CHUNK_SLOTS + i);
    atomic_store_explicit(&sl->n_chunks, n + 1, memory_order_release);
    return 1;
}

/* A slot of exactly size bytes, or NULL (not a slot size, or none left); *dirty: it may hold
 * what a former buffer left (else its pages read as zero). */
static void *slab_alloc(size_t size, int *dirty)
{
    slab_t *sl = NULL;
    for (int s = 0; s < n_slabs; s++)
        if (slabs[s].size == size)
            sl = &slabs[s];
    if (!sl)
        return NULL;
    void *p = NULL;
    uv_mutex_lock(&lock);
    *dirty = sl->hot > 0;
    if (sl->n_free || grow(sl)) {
        p = slot_addr(sl, sl->free_slots[--sl->n_free]);
        if (sl->hot)
            sl->hot--;
    }
    uv_mutex_unlock(&lock);
    return p;
}

static void slab_free(slab_t *sl, uint32_t i)
{
    uv_mutex_lock(&lock);
    /* the oldest hot slot's pages back to the kernel (zero when touched again) */
    if (sl->hot == HOT_MAX) {
        madvise(slot_addr(sl, sl->free_slots[sl->n_free - HOT_MAX]), sl->stride, MADV_DONTNEED);
        sl->hot--;
    }
    sl->free_slots[sl->n_free++] = i;
    sl->hot++;
    uv_mutex_unlock(&lock);
}

static void *mem_malloc(size_t n)
{
    int dirty;
    void *p = slab_alloc(n, &dirty);
    return p ? p : malloc(n);
}

static void mem_free(void *p)
{
    slab_t *sl;
    uint32_t i;
    if (p && slab_find(p, &sl, &i))
        slab_free(sl, i);
    else
        free(p);
}

static void *mem_realloc(void *p, size_t n)
{
    slab_t *sl;
    uint32_t i;
    if (!p || !slab_find(p, &sl, &i))
        return realloc(p, n);
    if (n <= sl->size)
        return p;
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, sl->size);
    slab_free(sl, i);
    return q;
}

static char *mem_strdup(const char *s) { return strdup(s); }

static void *mem_calloc(size_t nmemb, size_t size)
{
    size_t n;
    int dirty = 0;
    void *p = __builtin_mul_overflow(nmemb, size, &n) ? NULL : slab_alloc(n, &dirty);
    if (p && dirty)
        memset(p, 0, n);
    return p ? p : calloc(nmemb, size);
}

int pp_curl_mem_in_slot(const void *p)
{
    slab_t *sl;
    uint32_t i;
    return slab_find(p, &sl, &i);
}

void pp_curl_mem_stats(size_t size, pp_curl_mem_stats_t *st)
{
    memset(st, 0, sizeof *st);
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char vec[CHUNK_SLOTS * 8]; /* pages of one chunk (stride <= 8 pages) */
    uv_mutex_lock(&lock);
    for (int s = 0; s < n_slabs; s++) {
        slab_t *sl = &slabs[s];
        if (sl->size != size)
            continue;
        int n = atomic_load_explicit(&sl->n_chunks, memory_order_relaxed);
        st->in_use = (size_t)n * CHUNK_SLOTS - sl->n_free;
        st->hot = sl->hot;
        size_t pages = CHUNK_SLOTS * sl->stride / (size_t)pg;
        for (int c = 0; c < n && pages <= sizeof vec; c++)
            if (mincore(sl->chunks[c], CHUNK_SLOTS * sl->stride, vec) == 0)
                for (size_t i = 0; i < pages; i++)
                    st->resident_pages += vec[i] & 1;
    }
    uv_mutex_unlock(&lock);
}

int pp_curl_mem_init(long flags, const size_t *buffer_sizes, int n)
{
    if (n < 0 || n > PP_CURL_MEM_SIZES || uv_mutex_init(&lock) != 0)
        return -1;
    for (int s = 0; s < n; s++) {
        slabs[s].size = buffer_sizes[s];
        slabs[s].stride = (buffer_sizes[s] + PAGE - 1) / PAGE * PAGE;
    }
    n_slabs = n;
    CURLcode rc =
        curl_global_init_mem(flags, mem_malloc, mem_free, mem_realloc, mem_strdup, mem_calloc);
    return rc == CURLE_OK ? 0 : -1;
}
