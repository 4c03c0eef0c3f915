/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz/ share: the property checker (check.c,
 * independent of the project's own text code) and the per-target property switch.
 *
 * Every target is one LLVMFuzzerTestOneInput. A crash, a sanitizer report or a broken
 * property ends the run with the input saved (libFuzzer's crash-* file); such an input goes
 * to tests/fuzz/regressions/<target>/ once its cause is fixed.
 */
#ifndef PP_FUZZ_H
#define PP_FUZZ_H

#include "carriers/carrier.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The string property ("valid UTF-8, no control characters, fits its field") for this
 * target: PP_FUZZ_PROPERTY from the build (tests/fuzz/meson.build, per target), overridden
 * by the environment variable PP_FUZZ_PROPERTY=0|1.
 */
bool fuzz_property_on(void);

/*
 * s, a field of cap bytes: NUL-terminated inside the field, valid UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF), no control character (C0, DEL, C1). On a
 * violation prints target/what/the bytes and abort()s (libFuzzer saves the input).
 * Runs only when fuzz_property_on().
 */
void fuzz_check_string(const char *what, const char *s, size_t cap);
/* Every string of the results (number, pickup point/address, each event's code, text and
 * place) with fuzz_check_string; always: status in range and every time nonzero time
 * written as RFC 3339 reads back as the same time (pp_time_format / pp_time_parse_iso). */
void fuzz_check_results(const pp_track_result_t *r, size_t n);
/* t (nonzero) formats to "YYYY-MM-DDTHH:MM:SSZ" and parses back to t; abort()s if not. */
void fuzz_check_time(const char *what, time_t t);
/* The property failed: print and abort(). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Fuzzer input as a NUL-terminated copy (malloc'd; the caller frees). */
char *fuzz_strdup(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
