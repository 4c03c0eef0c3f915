/* growbuf.h - room in a malloc'd byte buffer, its capacity doubled as needed (the event JSON
 * writer in event.c and the array literals of pgarray.c). */
#ifndef PP_GROWBUF_H
#define PP_GROWBUF_H

#include <stdbool.h>
#include <stdlib.h>

/* At least `need` bytes in *buf (capacity *cap, `first` when it has none yet). false, with
 * *buf and *cap unchanged, when out of memory. */
static inline bool pp_grow(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

#endif
