/* Error messages echo user strings (file names, JSON keys, tokens, data lines) that may hold any
 * bytes. Every message goes through here so that what porta_last_error and the err buffers return
 * is valid UTF-8 that a terminal or a JSON log can take as it is: invalid bytes and control
 * characters are written as \xNN (see errors.h). */
#include "core/errors.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SANITIZE_MAX 4096 /* longest message kept, as PORTA_ERR_SIZE */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when the bytes there are not
 * one: a stray continuation byte, a lead byte of an overlong form, a surrogate, a code point past
 * U+10FFFF, or a sequence that ends early. *prefix says whether s holds the valid start of a
 * sequence that ran out of bytes. */
static size_t utf8_length(const unsigned char *s, size_t n, bool *prefix) {
  *prefix = false;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
  if (len == 0) return 0;
  for (size_t i = 1; i < len; i++) {
    if (i == n) {
      *prefix = true;
      return 0;
    }
    if ((s[i] & 0xC0) != 0x80) return 0;
    if (i == 1 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
                   (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)))
      return 0;
  }
  return len;
}

void porta_error_sanitize(char *msg, size_t size) {
  if (!msg || size == 0) return;
  char src[SANITIZE_MAX];
  size_t n = strnlen(msg, size - 1);
  if (n >= sizeof src) n = sizeof src - 1;
  bool full = n == size - 1; /* the buffer may have been cut: a partial last sequence is dropped */
  memcpy(src, msg, n);
  const unsigned char *s = (const unsigned char *)src;
  size_t out = 0;
  for (size_t i = 0; i < n;) {
    bool prefix;
    size_t len = utf8_length(s + i, n - i, &prefix);
    if (len == 0 && prefix && full) break;
    bool control = len == 1 && (s[i] < 0x20 || s[i] == 0x7F) && s[i] != '\n' && s[i] != '\t';
    if (len == 0 || control) {
      if (out + 4 > size - 1) break;
      snprintf(msg + out, 5, "\\x%02X", s[i]);
      out += 4;
      i++;
    } else {
      if (out + len > size - 1) break;
      memcpy(msg + out, s + i, len);
      out += len;
      i += len;
    }
  }
  msg[out] = '\0';
}

void porta_error_vformat(char *dst, size_t size, const char *fmt, va_list ap) {
  if (!dst || size == 0) return;
  vsnprintf(dst, size, fmt, ap);
  porta_error_sanitize(dst, size);
}

porta_status porta_error_fail(porta_status status, char *err, size_t err_size, const char *fmt,
                              ...) {
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    porta_error_vformat(err, err_size, fmt, ap);
    va_end(ap);
  }
  return status;
}
