/* The communicator's implementations behind include/porta/dist.h: one vtable per engine (MPI
 * today; NCCL / RCCL / oneCCL would be another file and another row of comm.c's create). */
#ifndef PORTA_DIST_COMM_INTERNAL_H
#define PORTA_DIST_COMM_INTERNAL_H

#include <stdarg.h>

#include "porta/dist.h"

typedef struct porta_comm_vtable {
  /* Start a collective; *handle is the engine's pending operation (NULL when already done). */
  porta_status (*allreduce_start)(porta_comm *c, void *buf, size_t count, porta_comm_dtype dtype,
                                  porta_comm_op op, void **handle);
  porta_status (*broadcast_start)(porta_comm *c, void *buf, size_t bytes, int root, void **handle);
  porta_status (*barrier_start)(porta_comm *c, void **handle);
  /* *done when finished (then the handle is freed); moves every pending operation along. */
  porta_status (*test)(porta_comm *c, void *handle, bool *done);
  porta_status (*progress)(porta_comm *c);
  void (*abort)(porta_comm *c, int code);
  void (*destroy)(porta_comm *c);
} porta_comm_vtable;

struct porta_comm {
  const porta_comm_vtable *vt;
  porta_dist_kind kind;
  int rank, size, local_rank, local_size;
  double timeout_s;
  char err[512];
  void *impl;
};

/* Formats c->err ("rank R: ...") and returns status. */
porta_status porta_comm_fail(porta_comm *c, porta_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether the launcher's environment names this process a rank of an MPI job. */
bool porta_dist_env_is_mpi(void);

#ifdef PORTA_HAVE_MPI
porta_status porta_comm_mpi_init(porta_comm *c, char *err, size_t err_size);
void porta_comm_mpi_version(char *buf, size_t size);
#endif

#endif /* PORTA_DIST_COMM_INTERNAL_H */
