/* Error-message formatting shared by every layer's *_fail helper: messages stay valid UTF-8. */
#ifndef PORTA_CORE_ERRORS_H
#define PORTA_CORE_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

/* vsnprintf into dst[size], then porta_error_sanitize. Nothing happens when dst is NULL or size
 * is 0. */
void porta_error_vformat(char *dst, size_t size, const char *fmt, va_list ap);

/* Rewrites msg (a string in a buffer of size bytes) in place so that it is valid UTF-8 without
 * terminal control characters: each byte that is not part of a valid UTF-8 sequence, and each
 * control character other than newline and tab, becomes the 4 characters \xNN. What no longer
 * fits is cut at a character boundary. A multi-byte sequence cut short at the very end of a full
 * buffer (truncation by snprintf) is dropped rather than escaped. */
void porta_error_sanitize(char *msg, size_t size);

#endif /* PORTA_CORE_ERRORS_H */
