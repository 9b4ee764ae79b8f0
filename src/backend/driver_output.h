/* What a driver's compiler prints on the process's stderr (PoCL's clang: "3 warnings
 * generated."; CLBlast compiling its kernels) is held back while porta builds a program and shown
 * only when the build fails or PORTA_VERBOSE=1. A library must not write to its host's terminal
 * on success; the build log itself already travels in the error message of a failed build.
 *
 * The capture redirects file descriptor 2 for the duration of a build, so anything another thread
 * of the process writes to stderr meanwhile is held back with it (and shown or dropped with it). */
#ifndef PORTA_BACKEND_DRIVER_OUTPUT_H
#define PORTA_BACKEND_DRIVER_OUTPUT_H

#include <stdbool.h>

typedef struct porta_driver_output {
  int saved_fd;   /* the original stderr, -1 when nothing is captured */
  int capture_fd; /* the anonymous temporary file that receives it */
} porta_driver_output;

/* Starts holding back stderr (nothing happens with PORTA_VERBOSE=1 or when the redirection is
 * impossible: the output then simply goes where it always went). */
void porta_driver_output_begin(porta_driver_output *q);
/* Restores stderr; writes what was held back to it when `failed` (and drops it otherwise). */
void porta_driver_output_end(porta_driver_output *q, bool failed);

#endif
