/* The CPU backend's thread pool: one set of worker threads that runs every parallel op, GEMM
 * included (OpenBLAS is kept on one thread per call, so two pools never fight over the cores).
 *
 * Why not OpenMP: libgomp's idle threads spin for ~300k iterations after every parallel region
 * and OpenBLAS's own threads yield-spin after every GEMM; on 2 cores the two pools stole each
 * other's time slices, and on a busy machine a spinning thread that waits for a descheduled peer
 * burns its whole slice. Measured here on MiniLM training steps under load: 3 seq/s with
 * OpenMP's default wait policy, 13-19 seq/s with OMP_WAIT_POLICY=passive. This pool spins only
 * briefly (PORTA_CPU_SPIN_NS), then sleeps on a condition variable, and hands out work in chunks
 * that any thread may take, so a descheduled worker delays nobody: the caller takes its chunks.
 *
 * A job: fn(arg, begin, end) over the chunks of [0, n). Which thread runs a chunk never changes
 * what it computes (each output element belongs to one chunk), so results do not depend on the
 * thread count or on the timing. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "backend/cpu/cpu_backend.h"

/* How long an idle worker polls for the next job before it sleeps: long enough to catch the
 * next op of a training step (a few µs of core bookkeeping apart), short enough not to steal a
 * busy machine's cores. */
#define PORTA_CPU_SPIN_NS 50000

/* Chunks per thread: > 1 so a late worker's share is taken by the others. */
#define PORTA_CPU_CHUNKS_PER_THREAD 4

struct porta_cpu_pool {
  int threads; /* workers + the calling thread */
  pthread_t *workers;
  int started; /* workers actually running */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  /* The current job, written by the caller before `generation` is bumped and left alone until
   * every chunk is done. Atomic (relaxed) because a late worker may read them while the caller
   * writes the next job's: it then fails to claim a chunk and never uses what it read. */
  _Atomic(porta_cpu_range_fn) fn;
  _Atomic(void *) arg;
  atomic_int_fast64_t n, chunks;
  /* (job number << 32) | chunks not yet taken. A worker takes chunks only while the job number
   * is the one it woke for, so a late worker can never take a chunk of the next job with this
   * job's fields. */
  atomic_uint_fast64_t claim;
  atomic_int_fast64_t done_chunks;
  atomic_uint_fast64_t generation; /* job number, bumped once per job */
  atomic_int sleeping;             /* workers waiting on `wake` (or about to) */
  atomic_bool stop;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static uint64_t pool_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Takes chunks of job `job` until none is left (or a newer job has started). */
static void run_chunks(porta_cpu_pool *pool, uint64_t job) {
  porta_cpu_range_fn fn = atomic_load_explicit(&pool->fn, memory_order_relaxed);
  void *arg = atomic_load_explicit(&pool->arg, memory_order_relaxed);
  int64_t chunks = atomic_load_explicit(&pool->chunks, memory_order_relaxed);
  int64_t n = atomic_load_explicit(&pool->n, memory_order_relaxed);
  uint64_t tag = (job & 0xffffffffu) << 32;
  uint_fast64_t v = atomic_load(&pool->claim);
  for (;;) {
    if ((v & ~(uint_fast64_t)0xffffffffu) != tag || (v & 0xffffffffu) == 0) return;
    if (!atomic_compare_exchange_weak(&pool->claim, &v, v - 1)) continue; /* v reloaded */
    int64_t c = chunks - (int64_t)(v & 0xffffffffu);
    fn(arg, c * n / chunks, (c + 1) * n / chunks);
    atomic_fetch_add(&pool->done_chunks, 1);
    v = atomic_load(&pool->claim);
  }
}

static void *worker_main(void *p) {
  porta_cpu_pool *pool = p;
  uint_fast64_t seen = 0;
  for (;;) {
    /* Poll briefly, then sleep. sleeping is raised before the last look at generation, so the
     * caller either sees a sleeper (and signals under the lock) or this thread sees the job. */
    uint64_t start = pool_now_ns();
    for (int spin = 1; atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop);
         spin++) {
      cpu_relax();
      if (spin % 64 == 0 && pool_now_ns() - start > PORTA_CPU_SPIN_NS) break;
    }
    if (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
      pthread_mutex_lock(&pool->lock);
      atomic_fetch_add(&pool->sleeping, 1);
      while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->wake, &pool->lock);
      atomic_fetch_sub(&pool->sleeping, 1);
      pthread_mutex_unlock(&pool->lock);
    }
    if (atomic_load(&pool->stop)) return NULL;
    seen = atomic_load(&pool->generation);
    run_chunks(pool, seen);
  }
}

porta_status porta_cpu_pool_create(porta_cpu_pool **out, int threads) {
  *out = NULL;
  porta_cpu_pool *pool = calloc(1, sizeof *pool);
  if (!pool) return PORTA_ERR_OUT_OF_MEMORY;
  pool->threads = threads > 1 ? threads : 1;
  atomic_init(&pool->fn, NULL);
  atomic_init(&pool->arg, NULL);
  atomic_init(&pool->n, 0);
  atomic_init(&pool->chunks, 0);
  atomic_init(&pool->claim, 0);
  atomic_init(&pool->done_chunks, 0);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->sleeping, 0);
  atomic_init(&pool->stop, false);
  if (pthread_mutex_init(&pool->lock, NULL) != 0) {
    free(pool);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  if (pthread_cond_init(&pool->wake, NULL) != 0) {
    pthread_mutex_destroy(&pool->lock);
    free(pool);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  if (pool->threads > 1) {
    pool->workers = calloc((size_t)pool->threads - 1, sizeof *pool->workers);
    if (!pool->workers) {
      porta_cpu_pool_destroy(pool);
      return PORTA_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < pool->threads - 1; i++) {
      if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) break;
      pool->started++;
    }
    /* Fewer threads than asked (a process limit): run with those that started. */
    pool->threads = pool->started + 1;
  }
  *out = pool;
  return PORTA_OK;
}

void porta_cpu_pool_destroy(porta_cpu_pool *pool) {
  if (!pool) return;
  pthread_mutex_lock(&pool->lock);
  atomic_store(&pool->stop, true);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (int i = 0; i < pool->started; i++) pthread_join(pool->workers[i], NULL);
  free(pool->workers);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->lock);
  free(pool);
}

int porta_cpu_pool_threads(const porta_cpu_pool *pool) { return pool ? pool->threads : 1; }

void porta_cpu_parallel_chunks(porta_cpu_backend *cpu, int64_t n, int64_t chunks,
                               porta_cpu_range_fn fn, void *arg) {
  porta_cpu_pool *pool = cpu->pool;
  if (n <= 0) return;
  if (chunks > n) chunks = n;
  if (!pool || pool->threads == 1 || chunks <= 1) {
    fn(arg, 0, n);
    return;
  }
  if (chunks > 0xffffffff) chunks = 0xffffffff;
  atomic_store_explicit(&pool->fn, fn, memory_order_relaxed);
  atomic_store_explicit(&pool->arg, arg, memory_order_relaxed);
  atomic_store_explicit(&pool->n, n, memory_order_relaxed);
  atomic_store_explicit(&pool->chunks, chunks, memory_order_relaxed);
  uint64_t job = atomic_load(&pool->generation) + 1;
  atomic_store(&pool->done_chunks, 0);
  atomic_store(&pool->claim, ((job & 0xffffffffu) << 32) | (uint64_t)chunks);
  atomic_store(&pool->generation, job); /* publishes the job (seq_cst) */
  if (atomic_load(&pool->sleeping) > 0) {
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
  }
  run_chunks(pool, job);
  /* Wait for chunks other threads took; yield now and then, so a descheduled worker can run. */
  for (int spin = 1; atomic_load(&pool->done_chunks) < chunks; spin++) {
    cpu_relax();
    if (spin % 256 == 0) sched_yield();
  }
}

void porta_cpu_for(porta_cpu_backend *cpu, int64_t n, int64_t work, porta_cpu_range_fn fn,
                   void *arg) {
  int threads = porta_cpu_pool_threads(cpu->pool);
  if (threads == 1 || work < PORTA_CPU_PARALLEL_MIN) {
    if (n > 0) fn(arg, 0, n);
    return;
  }
  porta_cpu_parallel_chunks(cpu, n, (int64_t)threads * PORTA_CPU_CHUNKS_PER_THREAD, fn, arg);
}
