/* The MPI communicator: MPI-3 non-blocking collectives on a private duplicate of
 * MPI_COMM_WORLD whose errors return instead of aborting. Written to the standard (no Open MPI
 * extensions), so MPICH, Intel MPI and Cray MPICH work too. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/comm_internal.h"

typedef struct mpi_comm {
  MPI_Comm world; /* a duplicate: porta's traffic never mixes with the host program's */
  bool initialised_here;
} mpi_comm;

/* A collective split into chunks of at most INT_MAX elements (MPI counts are int). */
typedef struct mpi_pending {
  int count;
  MPI_Request requests[];
} mpi_pending;

#define MPI_CHUNK ((size_t)1 << 30)

static porta_status mpi_fail(porta_comm *c, int code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "code %d", code);
  return porta_comm_fail(c, PORTA_ERR_BACKEND, "%s: MPI error: %s", what, text);
}

static MPI_Datatype mpi_type(porta_comm_dtype d) {
  return d == PORTA_COMM_F32 ? MPI_FLOAT : d == PORTA_COMM_F64 ? MPI_DOUBLE : MPI_INT64_T;
}
static MPI_Op mpi_op(porta_comm_op op) {
  return op == PORTA_COMM_MAX ? MPI_MAX : op == PORTA_COMM_MIN ? MPI_MIN : MPI_SUM;
}

static mpi_pending *pending_new(porta_comm *c, size_t chunks, const char *what) {
  mpi_pending *p = malloc(sizeof *p + (chunks ? chunks : 1) * sizeof(MPI_Request));
  if (!p)
    porta_comm_fail(c, PORTA_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
  else
    p->count = 0;
  return p;
}

static porta_status finish_start(porta_comm *c, mpi_pending *p, int rc, const char *what,
                                 void **handle) {
  if (rc != MPI_SUCCESS) {
    /* requests already started belong to a job that is about to end; leak them with it */
    free(p);
    return mpi_fail(c, rc, what);
  }
  *handle = p;
  return PORTA_OK;
}

static porta_status mpi_allreduce_start(porta_comm *c, void *buf, size_t count,
                                        porta_comm_dtype dtype, porta_comm_op op, void **handle) {
  mpi_comm *m = c->impl;
  size_t chunks = (count + MPI_CHUNK - 1) / MPI_CHUNK, elem = dtype == PORTA_COMM_F32 ? 4 : 8;
  mpi_pending *p = pending_new(c, chunks, "all-reduce");
  if (!p) return PORTA_ERR_OUT_OF_MEMORY;
  int rc = MPI_SUCCESS;
  for (size_t off = 0; rc == MPI_SUCCESS && off < count; off += MPI_CHUNK) {
    size_t n = count - off < MPI_CHUNK ? count - off : MPI_CHUNK;
    rc = MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + off * elem, (int)n, mpi_type(dtype), mpi_op(op),
                        m->world, &p->requests[p->count]);
    if (rc == MPI_SUCCESS) p->count++;
  }
  return finish_start(c, p, rc, "all-reduce", handle);
}

static porta_status mpi_broadcast_start(porta_comm *c, void *buf, size_t bytes, int root,
                                        void **handle) {
  mpi_comm *m = c->impl;
  size_t chunks = (bytes + MPI_CHUNK - 1) / MPI_CHUNK;
  mpi_pending *p = pending_new(c, chunks, "broadcast");
  if (!p) return PORTA_ERR_OUT_OF_MEMORY;
  int rc = MPI_SUCCESS;
  for (size_t off = 0; rc == MPI_SUCCESS && off < bytes; off += MPI_CHUNK) {
    size_t n = bytes - off < MPI_CHUNK ? bytes - off : MPI_CHUNK;
    rc = MPI_Ibcast((char *)buf + off, (int)n, MPI_BYTE, root, m->world, &p->requests[p->count]);
    if (rc == MPI_SUCCESS) p->count++;
  }
  return finish_start(c, p, rc, "broadcast", handle);
}

static porta_status mpi_barrier_start(porta_comm *c, void **handle) {
  mpi_comm *m = c->impl;
  mpi_pending *p = pending_new(c, 1, "barrier");
  if (!p) return PORTA_ERR_OUT_OF_MEMORY;
  int rc = MPI_Ibarrier(m->world, &p->requests[0]);
  if (rc == MPI_SUCCESS) p->count = 1;
  return finish_start(c, p, rc, "barrier", handle);
}

static porta_status mpi_test(porta_comm *c, void *handle, bool *done) {
  mpi_pending *p = handle;
  int flag = 0;
  int rc = MPI_Testall(p->count, p->requests, &flag, MPI_STATUSES_IGNORE);
  if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "waiting for a collective");
  *done = flag != 0;
  if (*done) free(p);
  return PORTA_OK;
}

/* MPI moves non-blocking collectives along inside MPI calls: a probe is the cheapest one. */
static porta_status mpi_progress(porta_comm *c) {
  mpi_comm *m = c->impl;
  int flag;
  int rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, m->world, &flag, MPI_STATUS_IGNORE);
  return rc == MPI_SUCCESS ? PORTA_OK : mpi_fail(c, rc, "progress");
}

static void mpi_abort(porta_comm *c, int code) {
  mpi_comm *m = c->impl;
  MPI_Abort(m->world, code);
  exit(code); /* MPI_Abort does not return; this is for the compiler and odd MPIs */
}

static void mpi_destroy(porta_comm *c) {
  mpi_comm *m = c->impl;
  if (!m) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    MPI_Comm_free(&m->world);
    if (m->initialised_here) MPI_Finalize();
  }
  free(m);
}

static const porta_comm_vtable mpi_vtable = {
    mpi_allreduce_start, mpi_broadcast_start, mpi_barrier_start, mpi_test,
    mpi_progress,        mpi_abort,           mpi_destroy};

porta_status porta_comm_mpi_init(porta_comm *c, char *err, size_t err_size) {
  int initialised = 0, finalized = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalized);
  if (finalized) {
    if (err)
      snprintf(err, err_size,
               "MPI was already finalised in this process (create one "
               "communicator for the process's lifetime)");
    return PORTA_ERR_STATE;
  }
  mpi_comm *m = calloc(1, sizeof *m);
  if (!m) {
    if (err) snprintf(err, err_size, "out of memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  int rc = MPI_SUCCESS;
  if (!initialised) {
    int provided;
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    m->initialised_here = rc == MPI_SUCCESS;
  }
  if (rc == MPI_SUCCESS) rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->world);
  if (rc != MPI_SUCCESS) {
    if (err) snprintf(err, err_size, "MPI_Init / MPI_Comm_dup failed (code %d)", rc);
    if (m->initialised_here) MPI_Finalize();
    free(m);
    return PORTA_ERR_BACKEND;
  }
  MPI_Comm_set_errhandler(m->world, MPI_ERRORS_RETURN);
  MPI_Comm_rank(m->world, &c->rank);
  MPI_Comm_size(m->world, &c->size);
  /* ranks sharing this host's memory: the local rank picks the device */
  MPI_Comm local;
  if (MPI_Comm_split_type(m->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &local) ==
      MPI_SUCCESS) {
    MPI_Comm_rank(local, &c->local_rank);
    MPI_Comm_size(local, &c->local_size);
    MPI_Comm_free(&local);
  } else {
    c->local_rank = c->rank;
    c->local_size = c->size;
  }
  c->impl = m;
  c->vt = &mpi_vtable;
  return PORTA_OK;
}

/* MPI_Get_library_version and MPI_Get_version may be called before MPI_Init. */
void porta_comm_mpi_version(char *buf, size_t size) {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0, major = 0, minor = 0;
  MPI_Get_library_version(lib, &len);
  MPI_Get_version(&major, &minor);
  lib[strcspn(lib, ",\n")] = '\0'; /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
  snprintf(buf, size, "%s (MPI %d.%d)", lib, major, minor);
}
