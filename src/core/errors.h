/* Error-message formatting shared by every layer's *_fail helper: messages stay valid UTF-8. */
#ifndef PORTA_CORE_ERRORS_H
#define PORTA_CORE_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

#include "porta/porta.h"

/* vsnprintf into dst[size], then porta_error_sanitize. Nothing happens when dst is NULL or size
 * is 0. */
void porta_error_vformat(char *dst, size_t size, const char *fmt, va_list ap);

/* Rewrites msg (a string in a buffer of size bytes) in place so that it is valid UTF-8 without
 * terminal control characters: each byte that is not part of a valid UTF-8 sequence, and each
 * control character other than newline and tab, becomes the 4 characters \xNN. What no longer
 * fits is cut at a character boundary. A multi-byte sequence cut short at the very end of a full
 * buffer (truncation by snprintf) is dropped rather than escaped. */
void porta_error_sanitize(char *msg, size_t size);

/* porta_error_vformat of the message into err (when not NULL), then returns status: the
 * (err, err_size) error path of calls that run without a context. */
porta_status porta_error_fail(porta_status status, char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* PORTA_CORE_ERRORS_H */
