/* The CLI's side of data-parallel runs: --dist / --dist-timeout, the communicator, one device
 * per local rank, threads shared out among the ranks of a host, and ending the whole job when
 * one rank fails. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_dist_flags_init(cli_dist_flags *f) {
  f->dist = "auto";
  f->timeout_s = 300;
}

/* The backend a context will open (AUTO follows $PORTA_BACKEND, else the CPU). */
static porta_backend_kind resolved_backend(porta_backend_kind kind) {
  if (kind != PORTA_BACKEND_AUTO) return kind;
  const char *env = getenv("PORTA_BACKEND");
  porta_backend_kind k;
  if (env && porta_backend_parse(env, &k) == PORTA_OK) return k;
  return PORTA_BACKEND_AUTO; /* whatever the context decides: no per-rank device offset */
}

int cli_dist_begin(const cli_dist_flags *f, porta_backend_kind backend, int *device, int *threads,
                   porta_comm **out) {
  *out = NULL;
  porta_comm_options co;
  porta_comm_options_init(&co);
  if (porta_dist_parse(f->dist, &co.kind) != PORTA_OK) {
    fprintf(stderr, "porta: unknown --dist \"%s\" (auto, none, mpi)\n", f->dist);
    return CLI_USAGE;
  }
  if (!(f->timeout_s > 0)) {
    fprintf(stderr, "porta: --dist-timeout must be a positive number of seconds\n");
    return CLI_USAGE;
  }
  co.timeout_s = f->timeout_s;
  char err[512] = "";
  porta_comm *comm;
  if (porta_comm_create(&comm, &co, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "porta: --dist %s: %s\n", f->dist, err);
    return CLI_FAILED;
  }
  int local = porta_comm_local_rank(comm), local_size = porta_comm_local_size(comm);
  porta_backend_kind kind = resolved_backend(backend);
  if (porta_comm_size(comm) > 1 && kind != PORTA_BACKEND_CPU && kind != PORTA_BACKEND_AUTO) {
    /* one device per local rank from --device on; more ranks than devices share them */
    const char *env = getenv("PORTA_DEVICE");
    int first = *device >= 0 ? *device : env ? atoi(env) : 0, count = 0;
    if (porta_list_devices(kind, NULL, 0, &count, NULL, 0) == PORTA_OK && count > first) {
      *device = first + local % (count - first);
      if (local_size > count - first && porta_comm_rank(comm) == 0)
        fprintf(stderr, "note: %d ranks on this host share %d %s device(s)\n", local_size,
                count - first, porta_backend_name(kind));
    }
  }
  if (*threads <= 0 && local_size > 1) { /* the host's cores shared out among its ranks */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *threads = cores > local_size ? (int)(cores / local_size) : 1;
  }
  *out = comm;
  return CLI_OK;
}

void cli_dist_fail(porta_comm *comm, int code, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  if (porta_comm_size(comm) > 1)
    fprintf(stderr, "porta: rank %d of %d: ", porta_comm_rank(comm), porta_comm_size(comm));
  else
    fprintf(stderr, "porta: ");
  vfprintf(stderr, fmt, args);
  fprintf(stderr, "\n");
  va_end(args);
  /* the other ranks would wait for this one in their next collective: end them all now */
  if (porta_comm_size(comm) > 1) {
    fprintf(stderr, "porta: rank %d ends the job (%d ranks)\n", porta_comm_rank(comm),
            porta_comm_size(comm));
    porta_comm_abort(comm, code);
  }
}
