/* Holding back a driver's compiler chatter on stderr (see driver_output.h). */
#include "backend/driver_output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool verbose(void) {
  const char *v = getenv("PORTA_VERBOSE");
  return v && v[0] && strcmp(v, "0") != 0;
}

void porta_driver_output_begin(porta_driver_output *q) {
  q->saved_fd = -1;
  q->capture_fd = -1;
  if (verbose()) return;
  FILE *tmp = tmpfile(); /* unlinked at once: nothing is left behind */
  if (!tmp) return;
  int capture = dup(fileno(tmp));
  fclose(tmp);
  if (capture < 0) return;
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  if (saved < 0 || dup2(capture, STDERR_FILENO) < 0) {
    if (saved >= 0) close(saved);
    close(capture);
    return;
  }
  q->saved_fd = saved;
  q->capture_fd = capture;
}

void porta_driver_output_end(porta_driver_output *q, bool failed) {
  if (q->saved_fd < 0) return;
  fflush(stderr);
  dup2(q->saved_fd, STDERR_FILENO);
  close(q->saved_fd);
  q->saved_fd = -1;
  if (failed && lseek(q->capture_fd, 0, SEEK_SET) == 0) {
    char buf[4096];
    ssize_t got;
    while ((got = read(q->capture_fd, buf, sizeof buf)) > 0)
      if (write(STDERR_FILENO, buf, (size_t)got) != got) break;
  }
  close(q->capture_fd);
  q->capture_fd = -1;
}
