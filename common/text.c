/* text.c - valid UTF-8, no control characters, cut on a character boundary (see text.h). */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Decode one character at s[0..len): its length in *n (1 for an invalid byte), the code
 * point, or -1 for an invalid byte, -2 for a valid but incomplete sequence ending src.
 */
static int32_t decode(const unsigned char *s, size_t len, size_t *n)
{
    unsigned char c = s[0];
    size_t need;
    int32_t cp, min;
    *n = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    for (size_t k = 1; k <= need; k++) {
        if (k >= len)
            return -2;
        if ((s[k] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[k] & 0x3F);
        /* reject overlong forms, surrogates and > U+10FFFF as soon as the 2nd byte says so */
        if (k == 1 && need >= 2) {
            int32_t top = cp << (6 * (int32_t)(need - 1));
            if (top < min || (need == 2 && top >= 0xD800 && top <= 0xDFFF) || top > 0x10FFFF)
                return -1;
        }
    }
    if (cp < min)
        return -1;
    *n = need + 1;
    return cp;
}

static size_t encode(int32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* What a decoded character becomes: itself, ' ', or -1 (dropped). */
static int32_t map(int32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0x85)
        return ' ';
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
        return -1;
    return cp;
}

size_t pp_text_clean(char *dst, size_t cap, const char *src, size_t len)
{
    char stackbuf[1024];
    char *copy = NULL;
    size_t k = 0;
    if (!dst || cap == 0)
        return 0;
    if (!src)
        len = 0;
    /* the output can be longer than the input at any point (U+FFFD is 3 bytes): work on a copy */
    if (len > 0 && src + len > dst && src < dst + cap) {
        copy = len <= sizeof stackbuf ? stackbuf : malloc(len);
        if (!copy) /* keep what fits of the copy we can make */
            copy = stackbuf, len = sizeof stackbuf;
        memcpy(copy, src, len);
        src = copy;
    }
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < len;) {
        size_t n;
        int32_t cp = decode(s + i, len - i, &n);
        if (cp == -2)
            break; /* a character cut at the end */
        cp = cp == -1 ? 0xFFFD : map(cp);
        i += n;
        if (cp < 0)
            continue;
        char enc[4];
        size_t m = encode(cp, enc);
        if (k + m >= cap)
            break;
        memcpy(dst + k, enc, m);
        k += m;
    }
    dst[k] = '\0';
    if (copy && copy != stackbuf)
        free(copy);
    return k;
}

size_t pp_text_clean_str(char *dst, size_t cap, const char *src)
{
    return pp_text_clean(dst, cap, src, src ? strlen(src) : 0);
}

size_t pp_text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memmove(dst, src ? src : "", n);
    dst[n] = '\0';
    return n;
}

bool pp_text_is_clean(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n;
        int32_t cp = decode(u + i, len - i, &n);
        if (cp < 0 || map(cp) != cp)
            return false;
        i += n;
    }
    return true;
}

bool pp_text_is_visible_ascii(const char *s, size_t len)
{
    if (!s || len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
            return false;
    return true;
}

uint64_t pp_text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}
