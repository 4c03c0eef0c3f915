/* fixture.h - read a unit test's fixture file whole (header-only, for the carrier parser tests). */
#ifndef PP_FIXTURE_H
#define PP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

/* dir/name into a malloc'd, NUL-terminated buffer; NULL (and a message) if unreadable. */
static char *fixture_read(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        return NULL;
    }
    char *b = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) != NULL) {
        *len = fread(b, 1, (size_t)n, f);
        b[*len] = '\0';
    } else {
        fprintf(stderr, "cannot read fixture %s\n", path);
    }
    fclose(f);
    return b;
}

#endif
