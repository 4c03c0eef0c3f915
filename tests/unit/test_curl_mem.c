/* test_curl_mem.c - libcurl 7's receive buffers of the slot sizes come from the slots, read right; freed, only the last few keep their pages; libcurl 8 holds none per transfer. */
#include "check.h"
#include "curl_mem.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BUF 16384L

#if LIBCURL_VERSION_NUM < 0x080000 /* the receive buffer per transfer: libcurl 7 */
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

/* A file:// transfer through a buffer of buf_size; the buffer it used in .first. */
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

/* file:// transfers through each kind of buffer (Debian's libcurl 7.88 has file://). */
static void slots_file(void)
{
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
    CHECK(a.first && resident(a.first)); /* freed last: its page kept for the next buffer */

    got_t b = fetch(url, BUF); /* the same slot again (last freed first), read right */
    CHECK(b.first == a.first);
    CHECK_INT(b.len, sizeof data);
    CHECK_INT(b.bad, 0);

    got_t c = fetch(url, 4096); /* another size: malloc's */
    CHECK_INT(c.len, sizeof data);
    CHECK_INT(c.bad, 0);
    CHECK_INT(c.in_slot, 0);

    got_t d = fetch(url, 1024); /* the other slot size, its own slots */
    CHECK_INT(d.len, sizeof data);
    CHECK_INT(d.bad, 0);
    CHECK(d.in_slot > 0 && d.first != a.first);
    pp_curl_mem_stats_t st0;
    pp_curl_mem_stats(1025, &st0);
    CHECK_INT(st0.in_use, 0);
    CHECK_INT(st0.hot, 1);
    CHECK_INT(st0.resident_pages, 1); /* written, freed last: kept for the next buffer */

    unlink(path);
}
#endif

/* A server that takes connections and never answers; its URL in url. */
static int silent_server(char *url, size_t len)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sl) == 0 && listen(ls, 1024) == 0);
    CHECK(getsockname(ls, (struct sockaddr *)&sa, &sl) == 0);
    snprintf(url, len, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    return ls;
}

/* Whether every one of n transfers has sent its request (and so waits for an answer). */
static int all_sent(CURL **h, int n)
{
    for (int i = 0; i < n; i++) {
        long sent = 0;
        if (curl_easy_getinfo(h[i], CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent <= 0)
            return 0;
    }
    return 1;
}

/*
 * HOT + 1 requests at once to a server that never answers. libcurl 7: each holds a 1 KiB
 * buffer, and only the first (slots_file's last slot again, written before) has a resident
 * page; ended in order, the HOT last freed keep their pages and the oldest, that one, gives its
 * page back. libcurl 8 (-Dcurl=bundled): one receive buffer per multi handle, none per
 * transfer: no slot is taken (if a later libcurl takes them again, this says so).
 */
static void slots_in_flight(void)
{
    enum { N = PP_CURL_MEM_HOT + 1 };
    char url[64];
    int ls = silent_server(url, sizeof url);
    static CURL *h[N];
    CURLM *m = curl_multi_init();
    for (int i = 0; i < N; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_BUFFERSIZE, 1024L);
        curl_multi_add_handle(m, h[i]);
    }
    pp_curl_mem_stats_t st;
    int running = 0;
    for (int round = 0; round < 500; round++) { /* until every request is sent and waits */
        curl_multi_perform(m, &running);
        if (all_sent(h, N))
            break;
        curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    CHECK_INT(running, N);
    CHECK(all_sent(h, N));
    pp_curl_mem_stats(1025, &st);
#if LIBCURL_VERSION_NUM < 0x080000
    CHECK_INT(st.in_use, N);
    CHECK_INT(st.resident_pages, 1);
#else
    CHECK_INT(st.in_use, 0);
    pp_curl_mem_stats(BUF + 1, &st);
    CHECK_INT(st.in_use, 0);
#endif
    for (int i = 0; i < N; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    close(ls);
#if LIBCURL_VERSION_NUM < 0x080000
    pp_curl_mem_stats(1025, &st);
    CHECK_INT(st.in_use, 0);
    CHECK_INT(st.hot, PP_CURL_MEM_HOT);
    CHECK_INT(st.resident_pages, 0);
#endif
}

int main(void)
{
    static const size_t sizes[] = {1025, BUF + 1};
    CHECK_INT(pp_curl_mem_init(CURL_GLOBAL_ALL, sizes, 2), 0);
#if LIBCURL_VERSION_NUM < 0x080000
    slots_file();
#endif
    slots_in_flight();
    curl_global_cleanup();
    return CHECK_DONE();
}
