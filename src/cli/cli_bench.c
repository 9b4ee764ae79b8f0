/* porta bench: device peaks, GEMM over the shapes a BERT / MiniLM step issues, attention, and
 * whole training / eval steps, per backend; a table on stdout and, with --json, a file that
 * tools/bench_compare.py merges with other machines' and with bench/pytorch_ref.py's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: porta bench [--backend all|cpu|opencl|vulkan] [--sections "
    "peak,gemm,attention,train,mixed,eval,allreduce]\n"
    "                   [--model DIR] [--batch N] [--seqs 64,128] [--repeat N] [--max-square N]\n"
    "                   [--quick] [--profile] [--json FILE]\n\n"
    "Measures each backend's device after warm-up (median of --repeat runs; device timers where "
    "the\n"
    "backend has them). GEMM shapes: the projections of a MiniLM (hidden 384) and a BERT-base\n"
    "(hidden 768) step at M = batch x seq, forward (NT), input grad (NN) and weight grad (TN), "
    "the\n"
    "batched attention products, and a square sweep 128..--max-square. train/eval: the model of\n"
    "--model's config.json (default: all-MiniLM-L6-v2) with random weights + the seed's head.\n"
    "GFLOP/s rows are also given as a fraction of the achievable peak: the FMA kernel's rate, or "
    "the\n"
    "best GEMM measured before the row when that is higher; train/eval rows as model-FLOPs\n"
    "utilisation (6 x matmul parameters x tokens + attention, over that peak). --profile prints\n"
    "each op's share of the train and eval steps (warm-up included), from the backend's timers.\n"
    "allreduce: under mpirun -np N (only that section then), an f32 sum all-reduce from 4 KiB to\n"
    "256 MiB: the slowest rank's median time and the bus bandwidth, 2(N-1)/N x bytes / time.\n"
    "mixed: 60 training steps whose padded length changes every step like a length-bucketed epoch\n"
    "(8..64 tokens): seq/s and the peak of live and of live + cached device memory.";

typedef struct bench_run {
  FILE *json;
  bool first_backend;
  int rows;
} bench_run;

static bool section_on(const char *sections, const char *name) {
  if (!sections || !strcmp(sections, "all")) return true;
  size_t n = strlen(name);
  for (const char *p = sections; (p = strstr(p, name)); p += n)
    if ((p == sections || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return true;
  return false;
}

static void print_row(const porta_bench_result *r) {
  char peak[32] = "";
  if (r->fraction_of_peak >= 0)
    snprintf(peak, sizeof peak, "%5.1f%% %s", 100 * r->fraction_of_peak,
             strcmp(r->section, "train_step") && strcmp(r->section, "eval_forward") ? "of peak"
                                                                                    : "MFU");
  printf("  %-44s %10.3f ms %10.1f %-8s %s%s\n", r->name, r->median_ms, r->value, r->unit, peak,
         r->device_timer ? "" : " (host clock)");
  if (r->tokens_per_s > 0)
    printf("  %-44s %10s    %10.0f tok/s    peak device memory %.0f MiB live, %.0f MiB held\n", "",
           "", r->tokens_per_s, r->peak_device_mb, r->peak_held_mb);
  fflush(stdout);
}

static void json_row(bench_run *run, const porta_bench_result *r) {
  if (!run->json) return;
  fprintf(run->json, "%s\n    {\"section\": ", run->rows++ ? "," : "");
  cli_json_string(run->json, r->section);
  fprintf(run->json, ", \"name\": ");
  cli_json_string(run->json, r->name);
  fprintf(run->json,
          ", \"m\": %lld, \"n\": %lld, \"k\": %lld, \"batch\": %lld, \"seq\": %lld, "
          "\"median_ms\": %.6g, \"value\": %.6g, \"unit\": \"%s\", \"tokens_per_s\": %.6g, "
          "\"fraction_of_peak\": %.6g, \"peak_device_mb\": %.6g, \"peak_held_mb\": %.6g, "
          "\"device_timer\": %s, "
          "\"repeat\": %d",
          (long long)r->m, (long long)r->n, (long long)r->k, (long long)r->batch, (long long)r->seq,
          r->median_ms, r->value, r->unit, r->tokens_per_s, r->fraction_of_peak, r->peak_device_mb,
          r->peak_held_mb, r->device_timer ? "true" : "false", r->repeat);
  if (!strcmp(r->section, "train_step") || !strcmp(r->section, "eval_forward"))
    fprintf(run->json, ", \"kind\": \"%s\", \"seq_per_s\": %.6g", r->section, r->value);
  fprintf(run->json, "}");
}

/* peak: the achievable f32 rate so far — the FMA kernel's, raised by any GEMM that beat it (a
 * backend's FMA kernel may be less tuned than its GEMM); GFLOP/s rows are given as a fraction. */
static void report(bench_run *run, porta_context *ctx, porta_status st, porta_bench_result *r,
                   const char *what, double *peak) {
  if (st == PORTA_OK && !strcmp(r->unit, "GFLOP/s")) {
    if (!strcmp(r->section, "gemm") && r->value > *peak) *peak = r->value;
    if (*peak > 0) r->fraction_of_peak = r->value / *peak;
  }
  if (st == PORTA_OK) {
    print_row(r);
    json_row(run, r);
  } else {
    printf("  %-44s %s: %s\n", what, st == PORTA_ERR_UNSUPPORTED ? "unsupported" : "failed",
           porta_last_error(ctx));
  }
}

/* Raises *peak to the best rate of a model step's projection GEMMs at M = batch x seq (hidden ->
 * hidden, hidden -> intermediate, intermediate -> hidden): x·Wᵀ, and for a training step also
 * the input gradient dy·W and the weight gradient dyᵀ·x. */
static void raise_peak_to_step_gemms(porta_context *ctx, const porta_model_config *cfg, int batch,
                                     int seq, bool train, int repeat, double *peak) {
  int64_t m = (int64_t)batch * seq, h = cfg->hidden_size, f = cfg->intermediate_size;
  const int64_t out_in[3][2] = {{h, h}, {f, h}, {h, f}};
  for (int i = 0; i < 3; i++) {
    int64_t o = out_in[i][0], in = out_in[i][1];
    /* {m, n, k, trans_a, trans_b}: forward, input gradient, weight gradient */
    const int64_t shapes[3][5] = {{m, o, in, 0, 1}, {m, in, o, 0, 0}, {o, in, m, 1, 0}};
    for (int v = 0; v < (train ? 3 : 1); v++) {
      const int64_t *g = shapes[v];
      porta_bench_result r;
      if (porta_bench_gemm(ctx, g[0], g[1], g[2], 1, g[3], g[4], repeat, &r) == PORTA_OK &&
          r.value > *peak)
        *peak = r.value;
    }
  }
}

/* Where the device time of the last figure went, op by op. */
static void print_profile(porta_context *ctx) {
  char *buf = malloc(8192);
  if (!buf) return;
  if (porta_profile_report(ctx, buf, 8192) == PORTA_OK) printf("%s\n", buf);
  free(buf);
}

static void bench_backend(bench_run *run, porta_backend_kind kind, int device, int threads,
                          const char *sections, const porta_model_config *cfg, int batch,
                          const char *seqs, int repeat, int max_square, bool quick, bool profile) {
  porta_context_options o;
  porta_context_options_init(&o);
  o.backend = kind;
  o.device = device;
  o.num_threads = threads;
  o.profile = true;
  o.selftest = PORTA_SELFTEST_RUN;
  porta_context *ctx = NULL;
  char err[1024] = "";
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    printf("%s: skipped: %s\n", porta_backend_name(kind), err);
    return;
  }
  const porta_device_info *d = porta_context_device(ctx);
  printf("%s: %s (%s, driver %s)\n", porta_backend_name(kind), d->name, d->vendor, d->driver);
  if (porta_context_selftest_note(ctx)[0]) printf("  %s\n", porta_context_selftest_note(ctx));
  if (run->json) {
    fprintf(run->json, "%s\n  {\"backend\": \"%s\", \"device\": ", run->first_backend ? "" : ",",
            porta_backend_name(kind));
    cli_json_string(run->json, d->name);
    fprintf(run->json, ", \"vendor\": ");
    cli_json_string(run->json, d->vendor);
    fprintf(run->json, ", \"driver\": ");
    cli_json_string(run->json, d->driver);
    fprintf(run->json, ", \"api_version\": ");
    cli_json_string(run->json, d->api_version);
    fprintf(run->json, ", \"results\": [");
    run->first_backend = false;
    run->rows = 0;
  }
  porta_bench_result r, r2;
  porta_status st;
  double peak = 0;
  if (section_on(sections, "peak")) {
    printf(" peak\n");
    st = porta_bench_peak(ctx, repeat, &r, &r2);
    if (st == PORTA_OK) {
      peak = strcmp(r.unit, "n/a") ? r.value : 0;
      print_row(&r);
      json_row(run, &r);
      print_row(&r2);
      json_row(run, &r2);
    } else {
      report(run, ctx, st, &r, "peak", &peak);
    }
  }
  if (section_on(sections, "gemm")) {
    printf(" gemm (M = batch x seq = %d x 128)\n", batch);
    int64_t m = (int64_t)batch * 128;
    static const int64_t hidden[2] = {384, 768};
    for (int h = 0; h < (quick ? 1 : 2); h++) {
      int64_t H = hidden[h], I = 4 * H;
      int64_t shapes[6][3] = {{m, H, H}, {m, I, H}, {m, H, I}}; /* qkv/out, ffn up, ffn down */
      for (int s = 0; s < 3; s++) {
        int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        st = porta_bench_gemm(ctx, M, N, K, 1, false, true, repeat, &r); /* y = x Wᵀ */
        report(run, ctx, st, &r, "gemm", &peak);
        if (quick) continue;
        st = porta_bench_gemm(ctx, M, K, N, 1, false, false, repeat, &r); /* dx = dy W */
        report(run, ctx, st, &r, "gemm", &peak);
        st = porta_bench_gemm(ctx, N, K, M, 1, true, false, repeat, &r); /* dW = dyᵀ x */
        report(run, ctx, st, &r, "gemm", &peak);
      }
    }
    /* Attention products of a MiniLM step: B·H = batch·12 matrices, S = 128, D = 32. */
    st = porta_bench_gemm(ctx, 128, 128, 32, (int64_t)batch * 12, false, true, repeat, &r);
    report(run, ctx, st, &r, "gemm", &peak);
    st = porta_bench_gemm(ctx, 128, 32, 128, (int64_t)batch * 12, false, false, repeat, &r);
    report(run, ctx, st, &r, "gemm", &peak);
    for (int64_t n = 128; n <= max_square; n *= 2) {
      st = porta_bench_gemm(ctx, n, n, n, 1, false, false, repeat, &r);
      report(run, ctx, st, &r, "gemm", &peak);
    }
  }
  if (section_on(sections, "attention")) {
    printf(" attention\n");
    static const int64_t cfgs[3][4] = {{32, 12, 64, 32}, {32, 12, 128, 32}, {8, 12, 128, 64}};
    for (int c = 0; c < (quick ? 1 : 3); c++)
      for (int bwd = 0; bwd < 2; bwd++) {
        st = porta_bench_attention(ctx, cfgs[c][0], cfgs[c][1], cfgs[c][2], cfgs[c][3], bwd, repeat,
                                   &r);
        report(run, ctx, st, &r, "attention", &peak);
      }
  }
  bool train = section_on(sections, "train") || section_on(sections, "mixed"),
       eval = section_on(sections, "eval");
  if ((train || eval) && cfg && !section_on(sections, "gemm")) {
    /* MFU is over the achievable peak: where the FMA kernel is slower than the backend's GEMM
     * (the CPU's is), a 1024³ GEMM measured here sets it, as the gemm section would */
    st = porta_bench_gemm(ctx, 1024, 1024, 1024, 1, false, false, repeat, &r);
    if (st == PORTA_OK && r.value > peak) peak = r.value;
  }
  if ((train || eval) && cfg) {
    /* The step runs its projections at M = batch x seq, which can beat every shape measured so
     * far (a host with a small L2 ran eval at "110.9% MFU"): measure the step's own products too,
     * so the peak a row divides by is never below what its GEMMs reach. */
    char *list = strdup(seqs);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
      if (train) raise_peak_to_step_gemms(ctx, cfg, batch, atoi(tok), true, repeat, &peak);
    free(list);
    if (eval) raise_peak_to_step_gemms(ctx, cfg, batch, 32, false, repeat, &peak);
  }
  if ((train || eval) && cfg) {
    printf(" model steps (%s, %lld layers, hidden %lld)\n", cfg->model_type,
           (long long)cfg->num_hidden_layers, (long long)cfg->hidden_size);
    char *list = strdup(seqs);
    bool fixed = section_on(sections, "train");
    for (char *tok = strtok(list, ","); tok && fixed; tok = strtok(NULL, ",")) {
      porta_profile_reset(ctx);
      st = porta_bench_model_step(ctx, cfg, batch, atoi(tok), true, repeat, peak, &r);
      report(run, ctx, st, &r, "train step", &peak);
      if (profile && st == PORTA_OK) print_profile(ctx);
    }
    free(list);
    if (section_on(sections, "mixed")) {
      porta_profile_reset(ctx);
      st = porta_bench_mixed_slice(ctx, cfg, batch, 60, &r);
      report(run, ctx, st, &r, "train mixed lengths", &peak);
    }
    if (eval) {
      porta_profile_reset(ctx);
      st = porta_bench_model_step(ctx, cfg, batch, 32, false, repeat, peak, &r);
      report(run, ctx, st, &r, "eval forward", &peak);
      if (profile && st == PORTA_OK) print_profile(ctx);
    }
  }
  if (run->json) fprintf(run->json, "\n  ]}");
  porta_context_destroy(ctx);
}

/* The all-reduce section: every rank takes part, rank 0 prints. */
static int bench_allreduce(bench_run *run, porta_comm *comm, int repeat, bool quick) {
  bool root = porta_comm_rank(comm) == 0;
  char mpi[160];
  porta_dist_mpi_version(mpi, sizeof mpi);
  if (root) printf("allreduce: %d ranks, %s\n", porta_comm_size(comm), mpi);
  for (size_t bytes = 4096; bytes <= ((size_t)256 << 20); bytes *= quick ? 16 : 4) {
    porta_bench_result r;
    if (porta_bench_allreduce(comm, bytes, repeat, &r) != PORTA_OK) {
      cli_dist_fail(comm, CLI_FAILED, "bench: %s", porta_comm_last_error(comm));
      return CLI_FAILED;
    }
    if (root) {
      print_row(&r);
      json_row(run, &r);
    }
  }
  return CLI_OK;
}

int cli_bench(int argc, char **argv) {
  const char *backend = "all", *sections = "all", *model = NULL, *json = NULL, *seqs = "64,128";
  int device = -1, threads = 0, batch = 32, repeat = 5, max_square = 2048;
  bool quick = false, profile = false;
  cli_dist_flags dist;
  cli_dist_flags_init(&dist);
  cli_flag flags[] = {
      {"backend", CLI_STRING, &backend, "all (default) | cpu | opencl | vulkan"},
      {"device", CLI_INT, &device, "device index within the backend"},
      {"threads", CLI_INT, &threads, "CPU threads (default: all cores)"},
      {"sections", CLI_STRING, &sections,
       "comma list of peak,gemm,attention,train,mixed,eval (default all)"},
      {"model", CLI_STRING, &model, "model folder whose config.json sizes the train/eval steps"},
      {"batch", CLI_INT, &batch, "batch size of GEMM shapes and steps (default 32)"},
      {"seqs", CLI_STRING, &seqs, "sequence lengths of the training steps (default 64,128)"},
      {"repeat", CLI_INT, &repeat, "timed runs per figure, after 2 warm-up runs (default 5)"},
      {"max-square", CLI_INT, &max_square, "largest square GEMM of the sweep (default 2048)"},
      {"quick", CLI_BOOL, &quick, "fewer shapes (a smoke run)"},
      {"profile", CLI_BOOL, &profile, "print each op's share of the train / eval steps"},
      {"json", CLI_STRING, &json, "also write every figure to this JSON file"},
      CLI_DIST_FLAGS(dist),
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  if (batch < 1 || repeat < 1) {
    fprintf(stderr, "porta bench: --batch and --repeat must be positive\n");
    return CLI_USAGE;
  }
  porta_backend_kind only = PORTA_BACKEND_AUTO;
  if (strcmp(backend, "all") && cli_parse_backend(backend, &only) != CLI_OK) return CLI_USAGE;
  porta_comm *comm = NULL;
  rc = cli_dist_begin(&dist, only, &device, &threads, &comm);
  if (rc != CLI_OK) return rc;
  if (porta_comm_size(comm) > 1) { /* under mpirun: the all-reduce section alone */
    bench_run ranks = {NULL, true, 0};
    if (json && porta_comm_rank(comm) == 0) {
      ranks.json = fopen(json, "w");
      if (ranks.json)
        fprintf(ranks.json, "{\"tool\": \"porta\", \"commit\": \"%s\", \"rows\": [",
                PORTA_GIT_COMMIT);
    }
    rc = bench_allreduce(&ranks, comm, repeat, quick);
    if (ranks.json) {
      fprintf(ranks.json, "\n]}\n");
      fclose(ranks.json);
    }
    porta_comm_destroy(comm);
    return rc;
  }
  porta_comm_destroy(comm);
  if (section_on(sections, "allreduce") && strcmp(sections, "all"))
    printf("allreduce: one process; run it as mpirun -np N porta bench --sections allreduce\n");

  porta_model_config cfg;
  bool have_cfg = false;
  char buf[4096], err[1024] = "";
  if (!model) model = cli_default_model(buf, sizeof buf);
  if (model && porta_config_load(&cfg, model, err, sizeof err) == PORTA_OK) {
    have_cfg = true;
  } else if (porta_config_init(&cfg, "bert", err, sizeof err) == PORTA_OK) {
    /* all-MiniLM-L6-v2's sizes, so the steps run without the model folder. */
    cfg.hidden_size = 384, cfg.num_hidden_layers = 6, cfg.num_attention_heads = 12;
    cfg.intermediate_size = 1536, cfg.vocab_size = 30522;
    have_cfg = true;
  }

  bench_run run = {NULL, true, 0};
  if (json) {
    run.json = fopen(json, "w");
    if (!run.json) {
      fprintf(stderr, "porta bench: cannot write %s\n", json);
      if (have_cfg) porta_config_free(&cfg);
      return CLI_FAILED;
    }
    char date[32];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    fprintf(run.json,
            "{\"tool\": \"porta\", \"version\": \"%s\", \"commit\": \"%s\", \"date\": \"%s\", "
            "\"host\": ",
            PORTA_VERSION, PORTA_GIT_COMMIT, date);
    cli_json_string(run.json, host);
    fprintf(run.json, ", \"batch\": %d, \"repeat\": %d, \"backends\": [", batch, repeat);
  }
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    if (only != PORTA_BACKEND_AUTO && only != kinds[k]) continue;
    if (!porta_backend_compiled(kinds[k])) {
      printf("%s: not built into this porta\n", porta_backend_name(kinds[k]));
      continue;
    }
    bench_backend(&run, kinds[k], device, threads, sections, have_cfg ? &cfg : NULL, batch, seqs,
                  repeat, max_square, quick, profile);
  }
  if (run.json) {
    fprintf(run.json, "\n]}\n");
    fclose(run.json);
    printf("wrote %s\n", json);
  }
  if (have_cfg) porta_config_free(&cfg);
  return CLI_OK;
}
