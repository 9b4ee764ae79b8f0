/* porta_comm: the engine-independent half of the communicator — options, the single-process
 * communicator, timeouts on every collective, and the launcher detection of --dist auto. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/comm_internal.h"

#define COMM_DEFAULT_TIMEOUT_S 300.0

static double monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *porta_dist_name(porta_dist_kind kind) {
  switch (kind) {
  case PORTA_DIST_AUTO:
    return "auto";
  case PORTA_DIST_NONE:
    return "none";
  case PORTA_DIST_MPI:
    return "mpi";
  }
  return "unknown";
}

porta_status porta_dist_parse(const char *name, porta_dist_kind *out) {
  if (!name || !out) return PORTA_ERR_INVALID_ARGUMENT;
  porta_dist_kind kinds[3] = {PORTA_DIST_AUTO, PORTA_DIST_NONE, PORTA_DIST_MPI};
  for (int i = 0; i < 3; i++)
    if (!strcmp(name, porta_dist_name(kinds[i]))) {
      *out = kinds[i];
      return PORTA_OK;
    }
  return PORTA_ERR_INVALID_ARGUMENT;
}

bool porta_dist_compiled(porta_dist_kind kind) {
#ifdef PORTA_HAVE_MPI
  if (kind == PORTA_DIST_MPI) return true;
#endif
  return kind == PORTA_DIST_AUTO || kind == PORTA_DIST_NONE;
}

bool porta_dist_mpi_version(char *buf, size_t size) {
  if (buf && size) buf[0] = '\0';
#ifdef PORTA_HAVE_MPI
  if (buf && size) porta_comm_mpi_version(buf, size);
  return true;
#else
  return false;
#endif
}

/* Open MPI's mpirun, MPICH / Intel MPI's Hydra, PMIx launchers and Slurm's srun --mpi=pmi2 set
 * these in every rank's environment. */
bool porta_dist_env_is_mpi(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK",
                        "MPI_LOCALNRANKS"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return true;
  return false;
}

void porta_comm_options_init(porta_comm_options *options) {
  if (!options) return;
  memset(options, 0, sizeof *options);
  options->kind = PORTA_DIST_AUTO;
  options->timeout_s = COMM_DEFAULT_TIMEOUT_S;
}

porta_status porta_comm_fail(porta_comm *c, porta_status status, const char *fmt, ...) {
  int n = snprintf(c->err, sizeof c->err, "rank %d of %d: ", c->rank, c->size);
  va_list args;
  va_start(args, fmt);
  if (n >= 0 && (size_t)n < sizeof c->err)
    vsnprintf(c->err + n, sizeof c->err - (size_t)n, fmt, args);
  va_end(args);
  return status;
}

/* ---- one process: every collective is already done ---------------------------------------- */

static porta_status single_allreduce(porta_comm *c, void *buf, size_t count, porta_comm_dtype dtype,
                                     porta_comm_op op, void **handle) {
  *handle = NULL;
  return PORTA_OK;
}
static porta_status single_broadcast(porta_comm *c, void *buf, size_t bytes, int root,
                                     void **handle) {
  *handle = NULL;
  return PORTA_OK;
}
static porta_status single_barrier(porta_comm *c, void **handle) {
  *handle = NULL;
  return PORTA_OK;
}
static porta_status single_test(porta_comm *c, void *handle, bool *done) {
  *done = true;
  return PORTA_OK;
}
static porta_status single_progress(porta_comm *c) { return PORTA_OK; }
static void single_abort(porta_comm *c, int code) { exit(code); }
static void single_destroy(porta_comm *c) {}

static const porta_comm_vtable single_vtable = {single_allreduce, single_broadcast, single_barrier,
                                                single_test,      single_progress,  single_abort,
                                                single_destroy};

porta_status porta_comm_create(porta_comm **out, const porta_comm_options *options, char *err,
                               size_t err_size) {
  if (!out) return PORTA_ERR_INVALID_ARGUMENT;
  *out = NULL;
  porta_comm_options o;
  porta_comm_options_init(&o);
  if (options) o = *options;
  if (!(o.timeout_s > 0)) o.timeout_s = COMM_DEFAULT_TIMEOUT_S;
  porta_dist_kind kind = o.kind;
  if (kind == PORTA_DIST_AUTO) kind = porta_dist_env_is_mpi() ? PORTA_DIST_MPI : PORTA_DIST_NONE;
  if (kind != PORTA_DIST_NONE && kind != PORTA_DIST_MPI) {
    if (err) snprintf(err, err_size, "porta_comm_create: unknown kind %d", (int)o.kind);
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  if (!porta_dist_compiled(kind)) {
    if (err)
      snprintf(err, err_size,
               "this porta was built without MPI (configure with -DPORTA_WITH_MPI=ON and "
               "libopenmpi-dev or an MPICH installed)");
    return PORTA_ERR_UNSUPPORTED;
  }
  porta_comm *c = calloc(1, sizeof *c);
  if (!c) {
    if (err) snprintf(err, err_size, "out of memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  c->kind = kind;
  c->timeout_s = o.timeout_s;
  c->size = c->local_size = 1;
  c->vt = &single_vtable;
#ifdef PORTA_HAVE_MPI
  if (kind == PORTA_DIST_MPI) {
    porta_status st = porta_comm_mpi_init(c, err, err_size);
    if (st != PORTA_OK) {
      free(c);
      return st;
    }
  }
#endif
  *out = c;
  return PORTA_OK;
}

void porta_comm_destroy(porta_comm *comm) {
  if (!comm) return;
  comm->vt->destroy(comm);
  free(comm);
}

porta_dist_kind porta_comm_kind(const porta_comm *comm) {
  return comm ? comm->kind : PORTA_DIST_NONE;
}
int porta_comm_rank(const porta_comm *comm) { return comm ? comm->rank : 0; }
int porta_comm_size(const porta_comm *comm) { return comm ? comm->size : 1; }
int porta_comm_local_rank(const porta_comm *comm) { return comm ? comm->local_rank : 0; }
int porta_comm_local_size(const porta_comm *comm) { return comm ? comm->local_size : 1; }
const char *porta_comm_last_error(const porta_comm *comm) { return comm ? comm->err : ""; }

/* ---- requests and timeouts ------------------------------------------------------------------ */

struct porta_comm_request {
  void *handle;
  const char *what;
  size_t bytes;
};

static porta_status request_new(porta_comm *c, void *handle, const char *what, size_t bytes,
                                porta_comm_request **out) {
  *out = NULL;
  if (!handle) return PORTA_OK;
  porta_comm_request *r = malloc(sizeof *r);
  if (!r) return porta_comm_fail(c, PORTA_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
  *r = (porta_comm_request){handle, what, bytes};
  *out = r;
  return PORTA_OK;
}

static size_t dtype_size(porta_comm_dtype dtype) { return dtype == PORTA_COMM_F32 ? 4 : 8; }

porta_status porta_comm_allreduce_start(porta_comm *comm, void *buf, size_t count,
                                        porta_comm_dtype dtype, porta_comm_op op,
                                        porta_comm_request **request) {
  if (!request) return PORTA_ERR_INVALID_ARGUMENT;
  *request = NULL;
  if (!comm) return PORTA_OK; /* one process */
  if (!buf && count) return porta_comm_fail(comm, PORTA_ERR_INVALID_ARGUMENT, "all-reduce: NULL");
  void *handle = NULL;
  porta_status st = comm->vt->allreduce_start(comm, buf, count, dtype, op, &handle);
  if (st != PORTA_OK) return st;
  return request_new(comm, handle, "all-reduce", count * dtype_size(dtype), request);
}

porta_status porta_comm_progress(porta_comm *comm) {
  return comm ? comm->vt->progress(comm) : PORTA_OK;
}

porta_status porta_comm_wait(porta_comm *comm, porta_comm_request *request) {
  if (!request) return PORTA_OK;
  /* Busy-poll, yielding now and then: MPI moves a non-blocking collective along only inside
   * MPI calls, so every nap would stall it (what NCCL's proxy threads and MPI's blocking calls
   * do too). The clock is read only every 1024 polls. */
  double deadline = monotonic_seconds() + comm->timeout_s;
  porta_status st = PORTA_OK;
  for (unsigned long polls = 1;; polls++) {
    bool done = false;
    st = comm->vt->test(comm, request->handle, &done);
    if (st != PORTA_OK || done) break;
    if (polls % 4096 == 0) sched_yield();
    if (polls % 1024 == 0 && monotonic_seconds() > deadline) {
      st = porta_comm_fail(comm, PORTA_ERR_STATE,
                           "%s of %zu bytes made no progress for %.0f s (--dist-timeout): another "
                           "rank has stopped or hangs",
                           request->what, request->bytes, comm->timeout_s);
      break;
    }
  }
  free(request); /* on a timeout the engine's request is abandoned with the job */
  return st;
}

porta_status porta_comm_allreduce(porta_comm *comm, void *buf, size_t count, porta_comm_dtype dtype,
                                  porta_comm_op op) {
  porta_comm_request *r;
  porta_status st = porta_comm_allreduce_start(comm, buf, count, dtype, op, &r);
  return st == PORTA_OK ? porta_comm_wait(comm, r) : st;
}

porta_status porta_comm_broadcast(porta_comm *comm, void *buf, size_t bytes, int root) {
  if (!comm) return PORTA_OK;
  if (root < 0 || root >= comm->size)
    return porta_comm_fail(comm, PORTA_ERR_INVALID_ARGUMENT, "broadcast: root %d of %d ranks", root,
                           comm->size);
  void *handle = NULL;
  porta_status st = comm->vt->broadcast_start(comm, buf, bytes, root, &handle);
  porta_comm_request *r = NULL;
  if (st == PORTA_OK) st = request_new(comm, handle, "broadcast", bytes, &r);
  return st == PORTA_OK ? porta_comm_wait(comm, r) : st;
}

porta_status porta_comm_barrier(porta_comm *comm) {
  if (!comm) return PORTA_OK;
  void *handle = NULL;
  porta_status st = comm->vt->barrier_start(comm, &handle);
  porta_comm_request *r = NULL;
  if (st == PORTA_OK) st = request_new(comm, handle, "barrier", 0, &r);
  return st == PORTA_OK ? porta_comm_wait(comm, r) : st;
}

void porta_comm_abort(porta_comm *comm, int code) {
  if (!comm) exit(code);
  fflush(stdout);
  fflush(stderr);
  comm->vt->abort(comm, code);
}
