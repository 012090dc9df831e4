/* Long double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis computes these increments in C `long double` and prints the result with
 * "%.17Lf" (trailing zeros trimmed). Rust has no long double, so to give byte-identical
 * replies we do this one step in C with the platform's own long double and printf. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest accepted input, as in Redis. */
#define LD_MAX_CHARS (5 * 1024)

/* Parses exactly `len` bytes as a long double with Redis's rules; 0 on failure. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *end;
    if (len == 0 || len >= LD_MAX_CHARS) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    long double v = strtold(buf, &end);
    /* The whole input must be the number: no trailing bytes, no embedded NUL. */
    if (*end != '\0' || (size_t)(end - buf) != len) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return 0;
    if (isnan(v)) return 0;
    *out = v;
    return 1;
}

/* Adds `incr` to `cur` and writes the human form into `out`.
 * Returns the length written, -1 if `cur` is not a float, -2 if `incr` is not,
 * -3 if the result is NaN or infinite, -4 if `out` is too small. */
long corecache_ld_add(const char *cur, size_t cur_len, const char *incr, size_t incr_len,
                      char *out, size_t cap) {
    long double a, b;
    if (!parse_ld(cur, cur_len, &a)) return -1;
    if (!parse_ld(incr, incr_len, &b)) return -2;
    long double sum = a + b;
    if (isnan(sum) || isinf(sum)) return -3;
    int n = snprintf(out, cap, "%.17Lf", sum);
    if (n < 0 || (size_t)n >= cap) return -4;
    if (strchr(out, '.') != NULL) {
        while (n > 0 && out[n - 1] == '0') n--;
        if (n > 0 && out[n - 1] == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        n = 1;
    }
    out[n] = '\0';
    return n;
}
