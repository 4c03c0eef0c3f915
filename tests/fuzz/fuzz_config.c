/*
 * fuzz_config.c - the configuration file parser (pp_config_load_file, then pp_config_dump as
 * `ppctl config --dump` prints it). The input is the file, handed over as a memfd path so
 * the real fopen/fgets path runs. Beyond "no crash": a file that loads dumps to a file that
 * loads again to the same dump (what ops copy back is what ran), with no key lost.
 */
#include "config.h"
#include "err.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1, memfd2 = -1;
static char path[64], path2[64];

static void put(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
}

static char *dump(const pp_config_t *c, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (!f)
        abort();
    pp_config_dump(c, f);
    fclose(f);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("pp-fuzz-config", 0);
        memfd2 = memfd_create("pp-fuzz-config-dump", 0);
        if (memfd < 0 || memfd2 < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
        snprintf(path2, sizeof path2, "/proc/self/fd/%d", memfd2);
    }
    if (size > 65536)
        return 0;
    put(memfd, data, size);
    pp_config_t c, d;
    char err[512];
    if (pp_config_init(&c) != PP_OK)
        abort();
    int rc = pp_config_load_file(&c, path, err, sizeof err);
    if (rc != PP_OK && strnlen(err, sizeof err) == sizeof err)
        fuzz_fail("error text not terminated");
    if (rc == PP_OK) {
        size_t l1 = 0, l2 = 0;
        char *d1 = dump(&c, &l1);
        /* Masking ("***") is idempotent, so even a dump with secrets loads to the same dump. */
        {
            put(memfd2, d1, l1);
            if (pp_config_init(&d) != PP_OK)
                abort();
            if (pp_config_load_file(&d, path2, err, sizeof err) != PP_OK)
                fuzz_fail("the dump of a loaded file does not load: %s\n%s", err, d1);
            char *d2 = dump(&d, &l2);
            if (l1 != l2 || memcmp(d1, d2, l1) != 0)
                fuzz_fail("dump -> load -> dump differs:\n%s\n---\n%s", d1, d2);
            free(d2);
            pp_config_free(&d);
        }
        free(d1);
    }
    pp_config_free(&c);
    return 0;
}
