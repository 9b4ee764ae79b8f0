/* The driver-output capture (src/backend/driver_output.c): what a driver prints on stderr while
 * porta builds a program is dropped on success, shown on failure, and passed through at once with
 * PORTA_VERBOSE=1. The test points stderr at a file of its own and reads back what arrived. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/driver_output.h"
#include "helpers/check.h"

/* Runs one build-like section that prints `text` on stderr, ended as `failed`. */
static void section(const char *text, bool failed) {
  porta_driver_output q;
  porta_driver_output_begin(&q);
  fprintf(stderr, "%s", text);
  fflush(stderr);
  porta_driver_output_end(&q, failed);
}

int main(void) {
  check_counter c = {0};
  FILE *sink = tmpfile();
  int real_stderr = dup(STDERR_FILENO);
  if (!sink || real_stderr < 0 || dup2(fileno(sink), STDERR_FILENO) < 0) {
    printf("cannot redirect stderr for the test\n");
    return 1;
  }
  unsetenv("PORTA_VERBOSE");
  section("3 warnings generated.\n", false);
  section("error: the build failed\n", true);
  fprintf(stderr, "after\n");
  setenv("PORTA_VERBOSE", "1", 1);
  section("verbose chatter\n", false);
  fflush(stderr);
  dup2(real_stderr, STDERR_FILENO);
  close(real_stderr);

  char got[256] = "";
  rewind(sink);
  size_t n = fread(got, 1, sizeof got - 1, sink);
  got[n] = '\0';
  fclose(sink);
  const char *want = "error: the build failed\nafter\nverbose chatter\n";
  check_true(&c, strcmp(got, want) == 0, "stderr received \"%s\", want \"%s\"", got, want);
  check_true(&c, strstr(got, "warnings generated") == NULL,
             "a successful build's chatter is dropped");
  return check_finish(&c);
}
