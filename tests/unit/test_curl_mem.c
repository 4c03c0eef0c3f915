/* test_curl_mem.c - libcurl's receive buffers of the slot size come from the slots, read right, and leave no page resident once freed. */
#include "check.h"
#include "curl_mem.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BUF 16384L

typedef struct got {
    size_t len;
    int in_slot, bad;
    const char *first; /* the buffer libcurl handed the first bytes in */
} got_t;

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    got_t *g = ud;
    size_t n = size * nmemb;
    if (!g->first)
        g->first = ptr;
    g->in_slot += pp_curl_mem_in_slot(ptr);
    for (size_t i = 0; i < n; i++)
        if (ptr[i] != (char)('a' + (g->len + i) % 26))
            g->bad++;
    g->len += n;
    return n;
}

/* A file:// transfer through a buffer of buf_size; the buffer it used in *first. */
static got_t fetch(const char *url, long buf_size)
{
    got_t g = {0};
    CURL *e = curl_easy_init();
    CHECK(e != NULL);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, buf_size);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
    CHECK_INT(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    return g;
}

/* Whether the page holding p is resident. */
static int resident(const void *p)
{
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char v = 0;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(pg - 1));
    CHECK_INT(mincore(page, (size_t)pg, &v), 0);
    return v & 1;
}

int main(void)
{
    CHECK_INT(pp_curl_mem_init(CURL_GLOBAL_ALL, BUF + 1), 0);
    char path[] = "/tmp/pp-curl-mem-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    CHECK_INT(write(fd, data, sizeof data), (long)sizeof data);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "file://%s", path);

    got_t a = fetch(url, BUF); /* the slot size: in a slot, read whole */
    CHECK_INT(a.len, sizeof data);
    CHECK_INT(a.bad, 0);
    CHECK(a.in_slot > 0);
    CHECK(a.first && !resident(a.first)); /* freed with its handle: the page went back */

    got_t b = fetch(url, BUF); /* the same slot again (last freed first), read right */
    CHECK(b.first == a.first);
    CHECK_INT(b.len, sizeof data);
    CHECK_INT(b.bad, 0);

    got_t c = fetch(url, 4096); /* another size: malloc's */
    CHECK_INT(c.len, sizeof data);
    CHECK_INT(c.bad, 0);
    CHECK_INT(c.in_slot, 0);

    unlink(path);
    curl_global_cleanup();
    return CHECK_DONE();
}
