/*
 * text.h - text from outside (carriers, Kafka events, IM peers, buyers) made safe to store and
 * send: valid UTF-8, no control characters, cut on a character boundary within its field.
 *
 * Every string a carrier adapter, the event decoder or a stanza builder takes from outside
 * goes through pp_text_clean once, at the boundary; channels still escape for their own
 * format (XML, JSON, HTML) as a second line of defence.
 */
#ifndef PP_TEXT_H
#define PP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy src[0..len) into dst (cap bytes, cap >= 1; always NUL-terminated) so that the result:
 *  - is valid UTF-8 (shortest form, no surrogates, <= U+10FFFF): each byte that does not
 *    start or continue a valid sequence becomes U+FFFD; an incomplete sequence at the very end
 *    of src (a cut made by an earlier fixed-size copy) is dropped;
 *  - has no control characters: tab, LF, CR, VT, FF and NEL (U+0085) become a space, every
 *    other C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F) character is dropped, and so are
 *    the non-characters U+FFFE/U+FFFF (not allowed in XML 1.0);
 *  - ends on a character boundary: a character that does not fit is left out with all after it.
 * dst and src may be the same buffer (or overlap). Returns strlen(dst).
 */
size_t pp_text_clean(char *dst, size_t cap, const char *src, size_t len);

/* The same for a NUL-terminated src (NULL is ""). */
size_t pp_text_clean_str(char *dst, size_t cap, const char *src);

/* snprintf(dst, cap, "%s", src) without printf's cost (src NULL is ""): the first cap - 1
 * bytes at most, NUL-terminated (cap > 0). Returns strlen(dst). No cleaning. */
size_t pp_text_copy(char *dst, size_t cap, const char *src);

/* Clean a fixed char array in place (its contents up to the first NUL or its size). */
#define pp_text_clean_field(arr)                                                                   \
    pp_text_clean((arr), sizeof(arr), (arr), strnlen((arr), sizeof(arr)))

/* s[0..len) is what pp_text_clean would leave unchanged: valid UTF-8 without control characters. */
bool pp_text_is_clean(const char *s, size_t len);

/* s is non-empty and every byte is visible ASCII (0x21-0x7E): tokens, ids, tracking numbers. */
bool pp_text_is_visible_ascii(const char *s, size_t len);

/* FNV-1a hash of a NUL-terminated string (hash tables of names, keys, addresses). */
uint64_t pp_text_hash(const char *s);

#endif
