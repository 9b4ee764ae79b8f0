/* porta/dist.h — the communicator behind data-parallel training.
 *
 * A porta_comm joins the processes (ranks) of one job. The trainer talks to it only through
 * these calls (all-reduce, broadcast, barrier, rank, size), so a NCCL / RCCL / oneCCL
 * implementation can be added beside the MPI one without touching the trainer.
 *
 *   porta_comm *comm;  porta_comm_options co;  porta_comm_options_init(&co);
 *   if (porta_comm_create(&comm, &co, err, sizeof err) != PORTA_OK) ...
 *   opts.comm = comm;  porta_train(&result, &opts, err, sizeof err);
 *   porta_comm_destroy(comm);
 *
 * Launch with `mpirun -np N prog`: each process creates one communicator. MPI can be initialised
 * once per process: create the communicator once and keep it for the process's lifetime.
 *
 * Failures: every collective returns a status; one that makes no progress for the options'
 * timeout returns PORTA_ERR_STATE with a message naming the rank and the operation. A rank that
 * fails must not leave the others waiting: call porta_comm_abort, which ends every rank of the
 * job (MPI_Abort). The library never calls it on its own.
 */
#ifndef PORTA_DIST_H
#define PORTA_DIST_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum porta_dist_kind {
  PORTA_DIST_AUTO = 0, /* MPI when the launcher's environment says so (mpirun, srun), else none */
  PORTA_DIST_NONE = 1, /* a single process: rank 0 of 1, every collective a copy */
  PORTA_DIST_MPI = 2,
} porta_dist_kind;

/* "auto", "none", "mpi"; porta_dist_parse returns PORTA_ERR_INVALID_ARGUMENT on other names. */
PORTA_API const char *porta_dist_name(porta_dist_kind kind);
PORTA_API porta_status porta_dist_parse(const char *name, porta_dist_kind *out);
/* Whether this build includes the implementation (NONE and AUTO always). */
PORTA_API bool porta_dist_compiled(porta_dist_kind kind);
/* Writes the MPI library this build uses ("Open MPI v4.1.4 (MPI 3.1)") into buf; false (and "")
 * without MPI. */
PORTA_API bool porta_dist_mpi_version(char *buf, size_t size);

typedef enum porta_comm_dtype {
  PORTA_COMM_F32 = 0,
  PORTA_COMM_F64 = 1,
  PORTA_COMM_I64 = 2,
} porta_comm_dtype;

typedef enum porta_comm_op {
  PORTA_COMM_SUM = 0,
  PORTA_COMM_MAX = 1,
  PORTA_COMM_MIN = 2,
} porta_comm_op;

typedef struct porta_comm_options {
  porta_dist_kind kind; /* AUTO */
  double timeout_s;     /* a collective that stalls this long fails; <= 0: 300 s */
} porta_comm_options;

PORTA_API void porta_comm_options_init(porta_comm_options *options);

typedef struct porta_comm porta_comm;

PORTA_API porta_status porta_comm_create(porta_comm **out, const porta_comm_options *options,
                                         char *err, size_t err_size);
/* Finalises MPI when porta_comm_create initialised it. NULL is allowed. */
PORTA_API void porta_comm_destroy(porta_comm *comm);

PORTA_API porta_dist_kind porta_comm_kind(const porta_comm *comm);
PORTA_API int porta_comm_rank(const porta_comm *comm);       /* 0 for NULL */
PORTA_API int porta_comm_size(const porta_comm *comm);       /* 1 for NULL */
PORTA_API int porta_comm_local_rank(const porta_comm *comm); /* rank among the ranks of this host */
PORTA_API int porta_comm_local_size(const porta_comm *comm);
/* The message of the last failure ("" when none). */
PORTA_API const char *porta_comm_last_error(const porta_comm *comm);

/* In place: buf[i] = op over ranks of buf[i]. */
PORTA_API porta_status porta_comm_allreduce(porta_comm *comm, void *buf, size_t count,
                                            porta_comm_dtype dtype, porta_comm_op op);
/* Root's bytes to every rank. */
PORTA_API porta_status porta_comm_broadcast(porta_comm *comm, void *buf, size_t bytes, int root);
PORTA_API porta_status porta_comm_barrier(porta_comm *comm);

/* Asynchronous all-reduce: starts it and returns at once (*request NULL for one rank). buf must
 * stay untouched until porta_comm_wait returns. porta_comm_progress lets the library move pending
 * requests along (MPI progresses non-blocking collectives inside MPI calls); call it now and then
 * while computing. */
typedef struct porta_comm_request porta_comm_request;
PORTA_API porta_status porta_comm_allreduce_start(porta_comm *comm, void *buf, size_t count,
                                                  porta_comm_dtype dtype, porta_comm_op op,
                                                  porta_comm_request **request);
PORTA_API porta_status porta_comm_progress(porta_comm *comm);
/* Waits for the request and frees it (NULL: nothing to wait for). */
PORTA_API porta_status porta_comm_wait(porta_comm *comm, porta_comm_request *request);

/* Ends every rank of the job with exit code code (after printing nothing: say why first). */
PORTA_API void porta_comm_abort(porta_comm *comm, int code);

#ifdef __cplusplus
}
#endif

#endif /* PORTA_DIST_H */
