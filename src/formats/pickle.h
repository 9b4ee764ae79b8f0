/* A restricted unpickler for PyTorch checkpoints, with the contract of
 * torch.load(weights_only=True): it understands the opcodes a state_dict needs and only the
 * globals that rebuild tensors (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter, torch.*Storage, torch dtypes, torch.device). Any other global
 * is refused by name ("refusing global os.system"); nothing is ever called or executed: REDUCE on
 * an allowed global builds an inert value. Persistent ids become storage references (key, dtype,
 * element count) that the caller resolves against the file's storages. Limits bound the mark
 * depth, the stack, the memo and the number of values, so a hostile pickle costs little.
 * No recursion anywhere (a deeply nested pickle cannot overflow the C stack). */
#ifndef PORTA_FORMATS_PICKLE_H
#define PORTA_FORMATS_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"

#define PORTA_PICKLE_MAX_MARKS 1000
#define PORTA_PICKLE_MAX_STACK (1 << 20)
#define PORTA_PICKLE_MAX_MEMO (1 << 22)
#define PORTA_PICKLE_MAX_VALUES (1 << 20) /* a BERT-large state dict needs ~10k */

typedef enum pk_kind {
  PK_NONE,
  PK_BOOL,
  PK_INT,     /* i */
  PK_BIGINT,  /* a LONG1 wider than 8 bytes: raw little-endian two's complement in s/len */
  PK_FLOAT,   /* f */
  PK_STR,     /* s/len, NUL-terminated */
  PK_BYTES,   /* s/len */
  PK_TUPLE,   /* items[0..n) */
  PK_LIST,    /* items[0..n) */
  PK_DICT,    /* items[0..n): key, value, key, value... (n is even; insertion order) */
  PK_GLOBAL,  /* an allowed global (global, dtype) */
  PK_STORAGE, /* a persistent storage reference: key in s, dtype, numel */
  PK_TENSOR,  /* tensor: a view into storage */
  PK_INERT,   /* the result of an allowed call that porta does not need (torch.device("cpu")) */
} pk_kind;

typedef enum pk_global {
  PKG_ORDERED_DICT,
  PKG_REBUILD_TENSOR_V2,
  PKG_REBUILD_TENSOR,
  PKG_REBUILD_PARAMETER,
  PKG_STORAGE_TYPE, /* torch.FloatStorage, torch.float32, torch.UntypedStorage...: dtype */
  PKG_DEVICE,
} pk_global;

typedef struct pk_tensor {
  struct pk_value *storage; /* PK_STORAGE */
  int64_t offset;           /* in elements */
  int ndim;
  int64_t shape[PORTA_WEIGHTS_MAX_DIMS];
  int64_t stride[PORTA_WEIGHTS_MAX_DIMS];
} pk_tensor;

typedef struct pk_value {
  pk_kind kind;
  pk_global global;
  porta_weight_dtype dtype; /* PK_GLOBAL storage type, PK_STORAGE */
  int64_t i;                /* PK_INT, PK_BOOL; element count of PK_STORAGE */
  double f;
  char *s;
  size_t len;
  struct pk_value **items;
  int n, cap;
  pk_tensor *tensor; /* PK_TENSOR */
} pk_value;

/* A parsed pickle: every value lives in the arena and is freed with it. */
typedef struct porta_pickle {
  pk_value **values;
  size_t count, cap;
  pk_value *root;
} porta_pickle;

/* Unpickles data[0..size) up to its STOP opcode; *consumed (may be NULL) receives the bytes read
 * (the legacy format has several pickles in a row). what names the stream in messages
 * ("pytorch_model.bin: archive/data.pkl"). On failure the arena is freed. */
porta_status porta_pickle_load(porta_pickle *out, const uint8_t *data, size_t size,
                               size_t *consumed, const char *what, char *err, size_t err_size);
void porta_pickle_free(porta_pickle *p);

#endif
