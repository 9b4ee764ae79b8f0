/* The communicator's collectives, with real numbers: run alone (one rank: every collective is
 * the identity) and under `mpirun -np 2` (tests/dist.cmake, with --expect-size 2). With --stall,
 * rank 1 never joins and rank 0's all-reduce must fail after --dist-timeout's 1 s with a message
 * naming it; rank 0 then ends the job (exit code 3), as porta train does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers/check.h"
#include "porta/porta.h"

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int stall_test(void) {
  porta_comm_options o;
  porta_comm_options_init(&o);
  o.timeout_s = 1.0;
  porta_comm *comm;
  char err[512];
  if (porta_comm_create(&comm, &o, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if (porta_comm_size(comm) < 2) {
    printf("--stall needs 2 ranks\n");
    porta_comm_destroy(comm);
    return 1;
  }
  if (porta_comm_rank(comm) == 1) {
    sleep(30); /* never joins; the job must end long before */
    return 0;
  }
  double t0 = seconds();
  float x = 1;
  porta_status st = porta_comm_allreduce(comm, &x, 1, PORTA_COMM_F32, PORTA_COMM_SUM);
  double waited = seconds() - t0;
  printf("rank 0: status %s after %.2f s: %s\n", porta_status_string(st), waited,
         porta_comm_last_error(comm));
  bool ok = st != PORTA_OK && waited >= 0.9 && waited < 10 &&
            strstr(porta_comm_last_error(comm), "rank 0 of 2: all-reduce");
  printf("stall detected: %s\n", ok ? "ok" : "FAIL");
  fflush(stdout);
  porta_comm_abort(comm, ok ? 3 : 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--stall")) return stall_test();
  check_counter c = {0};
  porta_comm *comm;
  char err[512];
  porta_status st = porta_comm_create(&comm, NULL, err, sizeof err);
  if (st != PORTA_OK) {
    fprintf(stderr, "porta_comm_create: %s\n", err);
    return 1;
  }
  int rank = porta_comm_rank(comm), size = porta_comm_size(comm);
  printf("rank %d of %d (%s, local rank %d of %d)\n", rank, size,
         porta_dist_name(porta_comm_kind(comm)), porta_comm_local_rank(comm),
         porta_comm_local_size(comm));
  CHECK(&c, rank >= 0 && rank < size, "rank %d of %d", rank, size);
  if (argc > 2 && !strcmp(argv[1], "--expect-size"))
    check_true(&c, size == atoi(argv[2]), "%d ranks (expected %s)", size, argv[2]);
  CHECK(&c, porta_comm_local_rank(comm) < porta_comm_local_size(comm), "local rank");
  int rank_sum = size * (size - 1) / 2;

  /* f32 sum over 3 M elements (12 MB: more than one MPI pipeline segment) */
  size_t n = 3u << 20;
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = (float)(i % 1000) + (float)rank;
  st = porta_comm_allreduce(comm, x, n, PORTA_COMM_F32, PORTA_COMM_SUM);
  size_t bad = 0;
  for (size_t i = 0; i < n; i++)
    if (x[i] != (float)size * (float)(i % 1000) + (float)rank_sum) bad++;
  check_true(&c, st == PORTA_OK && bad == 0, "all-reduce f32 sum of %zu elements (%zu wrong)", n,
             bad);

  double d[3] = {rank * 0.5, -rank, 1e300};
  st = porta_comm_allreduce(comm, d, 3, PORTA_COMM_F64, PORTA_COMM_MAX);
  check_true(&c, st == PORTA_OK && d[0] == (size - 1) * 0.5 && d[1] == 0 && d[2] == 1e300,
             "all-reduce f64 max: %g %g %g", d[0], d[1], d[2]);
  int64_t k[2] = {(int64_t)1 << 40, rank};
  st = porta_comm_allreduce(comm, k, 2, PORTA_COMM_I64, PORTA_COMM_SUM);
  check_true(&c, st == PORTA_OK && k[0] == ((int64_t)size << 40) && k[1] == rank_sum,
             "all-reduce i64 sum: %lld %lld", (long long)k[0], (long long)k[1]);
  st = porta_comm_allreduce(comm, k, 2, PORTA_COMM_I64, PORTA_COMM_MIN);
  check_true(&c, st == PORTA_OK && k[1] == rank_sum, "all-reduce i64 min");

  /* two asynchronous all-reduces in flight at once, moved along by progress calls */
  float a[1000], b[5];
  for (int i = 0; i < 1000; i++) a[i] = (float)(rank + 1) * (float)i;
  for (int i = 0; i < 5; i++) b[i] = (float)rank;
  porta_comm_request *ra = NULL, *rb = NULL;
  st = porta_comm_allreduce_start(comm, a, 1000, PORTA_COMM_F32, PORTA_COMM_SUM, &ra);
  if (st == PORTA_OK)
    st = porta_comm_allreduce_start(comm, b, 5, PORTA_COMM_F32, PORTA_COMM_MAX, &rb);
  for (int i = 0; st == PORTA_OK && i < 100; i++) st = porta_comm_progress(comm);
  if (st == PORTA_OK) st = porta_comm_wait(comm, rb);
  if (st == PORTA_OK) st = porta_comm_wait(comm, ra);
  float want = (float)(size * (size + 1) / 2);
  check_true(&c, st == PORTA_OK && a[999] == want * 999.0f && b[4] == (float)(size - 1),
             "two asynchronous all-reduces: %g (want %g), %g", a[999], want * 999.0f, b[4]);

  /* broadcast from the last rank */
  char text[64];
  snprintf(text, sizeof text, "from rank %d", rank);
  st = porta_comm_broadcast(comm, text, sizeof text, size - 1);
  char expect[64];
  snprintf(expect, sizeof expect, "from rank %d", size - 1);
  check_true(&c, st == PORTA_OK && !strcmp(text, expect), "broadcast: \"%s\"", text);
  st = porta_comm_broadcast(comm, text, sizeof text, size);
  check_true(&c, st == PORTA_ERR_INVALID_ARGUMENT && strstr(porta_comm_last_error(comm), "root"),
             "broadcast from a rank that does not exist: %s", porta_comm_last_error(comm));
  check_true(&c, porta_comm_barrier(comm) == PORTA_OK, "barrier");

  /* the names */
  porta_dist_kind kind;
  check_true(&c,
             porta_dist_parse("mpi", &kind) == PORTA_OK && kind == PORTA_DIST_MPI &&
                 porta_dist_parse("nccl", &kind) == PORTA_ERR_INVALID_ARGUMENT,
             "porta_dist_parse");
  char version[160];
  bool have_mpi = porta_dist_mpi_version(version, sizeof version);
  check_true(&c, have_mpi == porta_dist_compiled(PORTA_DIST_MPI) && (!have_mpi || version[0]),
             "MPI library: %s", have_mpi ? version : "(not built in)");
  free(x);
  porta_comm_destroy(comm);
  return check_finish(&c);
}
