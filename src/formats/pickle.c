/* The restricted unpickler (see pickle.h for the contract). A loop over opcodes with a value
 * stack, a mark stack and a memo; every value is allocated in an arena freed at once. */
#include <stdlib.h>
#include <string.h>

#include "formats/pickle.h"
#include "formats/weights_internal.h"

typedef struct unpickler {
  const uint8_t *data;
  size_t size, pos;
  const char *what;
  char *err;
  size_t err_size;
  porta_pickle *arena;
  pk_value **stack;
  size_t sp, stack_cap;
  size_t *marks;
  size_t n_marks;
  pk_value **memo;
  size_t memo_len;
} unpickler;

static porta_status fail(unpickler *u, porta_status s, const char *fmt, const char *detail) {
  char msg[768];
  snprintf(msg, sizeof(msg), fmt, detail);
  return porta_io_fail(s, u->err, u->err_size, "%s: %s (pickle offset %zu)", u->what, msg, u->pos);
}

static pk_value *new_value(unpickler *u, pk_kind kind) {
  porta_pickle *a = u->arena;
  if (a->count >= PORTA_PICKLE_MAX_VALUES) return NULL;
  if (a->count == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    pk_value **values = realloc(a->values, cap * sizeof(*values));
    if (values == NULL) return NULL;
    a->values = values;
    a->cap = cap;
  }
  pk_value *v = calloc(1, sizeof(*v));
  if (v == NULL) return NULL;
  v->kind = kind;
  a->values[a->count++] = v;
  return v;
}

void porta_pickle_free(porta_pickle *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->count; i++) {
    free(p->values[i]->s);
    free(p->values[i]->items);
    free(p->values[i]->tensor);
    free(p->values[i]);
  }
  free(p->values);
  memset(p, 0, sizeof(*p));
}

static bool push_item(pk_value *container, pk_value *item) {
  if (container->n == container->cap) {
    int cap = container->cap ? container->cap * 2 : 8;
    pk_value **items = realloc(container->items, sizeof(*items) * (size_t)cap);
    if (items == NULL) return false;
    container->items = items;
    container->cap = cap;
  }
  container->items[container->n++] = item;
  return true;
}

// ---- the stacks --------------------------------------------------------------------------------

static porta_status push(unpickler *u, pk_value *v) {
  if (v == NULL && u->arena->count >= PORTA_PICKLE_MAX_VALUES) {
    return fail(u, PORTA_ERR_LIMIT, "%s", "more values than the limit of 1048576");
  }
  if (v == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
  if (u->sp >= PORTA_PICKLE_MAX_STACK)
    return fail(u, PORTA_ERR_LIMIT, "%s", "stack over the limit");
  if (u->sp == u->stack_cap) {
    size_t cap = u->stack_cap ? u->stack_cap * 2 : 64;
    pk_value **stack = realloc(u->stack, cap * sizeof(*stack));
    if (stack == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
    u->stack = stack;
    u->stack_cap = cap;
  }
  u->stack[u->sp++] = v;
  return PORTA_OK;
}

// Stack depth above the innermost mark (everything when there is no mark).
static size_t floor_of_stack(const unpickler *u) {
  return u->n_marks ? u->marks[u->n_marks - 1] : 0;
}

static pk_value *pop(unpickler *u) {
  if (u->sp <= floor_of_stack(u)) return NULL;
  return u->stack[--u->sp];
}

static pk_value *top(unpickler *u) {
  return u->sp > floor_of_stack(u) ? u->stack[u->sp - 1] : NULL;
}

// Pops the innermost mark; *first receives the index of the first item above it.
static bool pop_mark(unpickler *u, size_t *first) {
  if (u->n_marks == 0) return false;
  *first = u->marks[--u->n_marks];
  return true;
}

// ---- reading bytes
// --------------------------------------------------------------------------------

static bool need(unpickler *u, size_t n) { return n <= u->size - u->pos; }

static uint64_t read_le(unpickler *u, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | u->data[u->pos + (size_t)i];
  u->pos += (size_t)n;
  return v;
}

static porta_status push_string(unpickler *u, pk_kind kind, size_t len) {
  if (!need(u, len))
    return fail(u, PORTA_ERR_FORMAT, "%s", "string runs past the end (truncated?)");
  pk_value *v = new_value(u, kind);
  if (v != NULL) {
    v->s = malloc(len + 1);
    if (v->s == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
    memcpy(v->s, u->data + u->pos, len);
    v->s[len] = '\0';
    v->len = len;
  }
  u->pos += len;
  return push(u, v);
}

// A newline-terminated line of GLOBAL's operand (at most 255 bytes).
static bool read_line(unpickler *u, char *out, size_t cap) {
  size_t i = 0;
  while (u->pos < u->size && u->data[u->pos] != '\n') {
    if (i + 1 >= cap) return false;
    out[i++] = (char)u->data[u->pos++];
  }
  if (u->pos >= u->size) return false;
  u->pos++;
  out[i] = '\0';
  return true;
}

// ---- globals ---------------------------------------------------------------------------------

static const struct {
  const char *name;
  porta_weight_dtype dtype;
} STORAGE_TYPES[] = {
    {"FloatStorage", PORTA_WEIGHT_F32},
    {"HalfStorage", PORTA_WEIGHT_F16},
    {"BFloat16Storage", PORTA_WEIGHT_BF16},
    {"DoubleStorage", PORTA_WEIGHT_F64},
    {"LongStorage", PORTA_WEIGHT_I64},
    {"IntStorage", PORTA_WEIGHT_I32},
    {"ShortStorage", PORTA_WEIGHT_I16},
    {"CharStorage", PORTA_WEIGHT_I8},
    {"ByteStorage", PORTA_WEIGHT_U8},
    {"BoolStorage", PORTA_WEIGHT_BOOL},
    {"UntypedStorage", PORTA_WEIGHT_U8},
    {"float32", PORTA_WEIGHT_F32},
    {"float", PORTA_WEIGHT_F32},
    {"float16", PORTA_WEIGHT_F16},
    {"half", PORTA_WEIGHT_F16},
    {"bfloat16", PORTA_WEIGHT_BF16},
    {"float64", PORTA_WEIGHT_F64},
    {"double", PORTA_WEIGHT_F64},
    {"int64", PORTA_WEIGHT_I64},
    {"long", PORTA_WEIGHT_I64},
    {"int32", PORTA_WEIGHT_I32},
    {"int", PORTA_WEIGHT_I32},
    {"int16", PORTA_WEIGHT_I16},
    {"short", PORTA_WEIGHT_I16},
    {"int8", PORTA_WEIGHT_I8},
    {"uint8", PORTA_WEIGHT_U8},
    {"bool", PORTA_WEIGHT_BOOL},
};

static porta_status push_global(unpickler *u, const char *module, const char *name) {
  pk_value *v = new_value(u, PK_GLOBAL);
  if (v == NULL) return push(u, NULL);
  bool ok = true;
  if (strcmp(module, "collections") == 0 && strcmp(name, "OrderedDict") == 0) {
    v->global = PKG_ORDERED_DICT;
  } else if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_tensor_v2") == 0) {
    v->global = PKG_REBUILD_TENSOR_V2;
  } else if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_tensor") == 0) {
    v->global = PKG_REBUILD_TENSOR;
  } else if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_parameter") == 0) {
    v->global = PKG_REBUILD_PARAMETER;
  } else if (strcmp(module, "torch") == 0 && strcmp(name, "device") == 0) {
    v->global = PKG_DEVICE;
  } else {
    ok = false;
    if (strcmp(module, "torch") == 0) {
      for (size_t i = 0; i < sizeof(STORAGE_TYPES) / sizeof(STORAGE_TYPES[0]); i++) {
        if (strcmp(name, STORAGE_TYPES[i].name) == 0) {
          v->global = PKG_STORAGE_TYPE;
          v->dtype = STORAGE_TYPES[i].dtype;
          ok = true;
        }
      }
    }
  }
  if (!ok) {
    char full[520];
    snprintf(full, sizeof(full), "%s.%s", module, name);
    return fail(u, PORTA_ERR_FORMAT,
                "refusing global %s (only tensors, storages and OrderedDict may be loaded, as "
                "torch.load(weights_only=True))",
                full);
  }
  return push(u, v);
}

// ---- REDUCE, BUILD, BINPERSID ----------------------------------------------------------------

static bool int_tuple(const pk_value *t, int64_t *out, int max) {
  if (t->kind != PK_TUPLE || t->n > max) return false;
  for (int i = 0; i < t->n; i++) {
    if (t->items[i]->kind != PK_INT) return false;
    out[i] = t->items[i]->i;
  }
  return true;
}

static porta_status reduce(unpickler *u) {
  pk_value *args = pop(u), *callable = pop(u);
  if (args == NULL || callable == NULL)
    return fail(u, PORTA_ERR_FORMAT, "%s", "REDUCE on an empty stack");
  if (callable->kind != PK_GLOBAL)
    return fail(u, PORTA_ERR_FORMAT, "%s", "REDUCE of something not callable");
  if (args->kind != PK_TUPLE)
    return fail(u, PORTA_ERR_FORMAT, "%s", "REDUCE arguments are not a tuple");
  switch (callable->global) {
  case PKG_ORDERED_DICT:
    if (args->n != 0) return fail(u, PORTA_ERR_FORMAT, "%s", "OrderedDict with arguments");
    return push(u, new_value(u, PK_DICT));
  case PKG_DEVICE:
    return push(u, new_value(u, PK_INERT));
  case PKG_REBUILD_PARAMETER:
    // _rebuild_parameter(data, requires_grad, backward_hooks) is the tensor itself to us.
    if (args->n < 1 || args->items[0]->kind != PK_TENSOR) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "_rebuild_parameter without a tensor");
    }
    return push(u, args->items[0]);
  case PKG_REBUILD_TENSOR_V2:
  case PKG_REBUILD_TENSOR: {
    // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
    pk_tensor t = {0};
    if (args->n < 4 || args->items[0]->kind != PK_STORAGE || args->items[1]->kind != PK_INT) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "tensor rebuild with unexpected arguments");
    }
    const pk_value *size = args->items[2], *stride = args->items[3];
    if (!int_tuple(size, t.shape, PORTA_WEIGHTS_MAX_DIMS) ||
        !int_tuple(stride, t.stride, PORTA_WEIGHTS_MAX_DIMS) || size->n != stride->n) {
      return fail(u, PORTA_ERR_FORMAT, "%s",
                  "tensor size/stride are not matching tuples of at most 8 integers");
    }
    t.storage = args->items[0];
    t.offset = args->items[1]->i;
    t.ndim = size->n;
    pk_value *v = new_value(u, PK_TENSOR);
    if (v != NULL) {
      v->tensor = malloc(sizeof(*v->tensor));
      if (v->tensor == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
      *v->tensor = t;
      v->dtype = t.storage->dtype;
    }
    return push(u, v);
  }
  case PKG_STORAGE_TYPE:
    break;
  }
  return fail(u, PORTA_ERR_FORMAT, "%s", "refusing to call a storage type or dtype");
}

static porta_status build(unpickler *u) {
  pk_value *state = pop(u), *obj = top(u);
  if (state == NULL || obj == NULL)
    return fail(u, PORTA_ERR_FORMAT, "%s", "BUILD on an empty stack");
  // A state_dict carries its _metadata as OrderedDict state: accepted and ignored.
  if (obj->kind != PK_DICT)
    return fail(u, PORTA_ERR_FORMAT, "%s", "BUILD on an object that is not an OrderedDict");
  return PORTA_OK;
}

static porta_status persistent_load(unpickler *u) {
  pk_value *pid = pop(u);
  if (pid == NULL) return fail(u, PORTA_ERR_FORMAT, "%s", "BINPERSID on an empty stack");
  // ('storage', storage_type, key, location, numel[, view_metadata])
  if (pid->kind != PK_TUPLE || pid->n < 5 || pid->n > 6 || pid->items[0]->kind != PK_STR ||
      strcmp(pid->items[0]->s, "storage") != 0) {
    return fail(u, PORTA_ERR_FORMAT, "%s", "persistent id is not a ('storage', ...) tuple");
  }
  const pk_value *type = pid->items[1], *key = pid->items[2], *numel = pid->items[4];
  if (type->kind != PK_GLOBAL || type->global != PKG_STORAGE_TYPE) {
    return fail(u, PORTA_ERR_FORMAT, "%s", "persistent id without a storage type");
  }
  if (key->kind != PK_STR || numel->kind != PK_INT || numel->i < 0 ||
      numel->i > ((int64_t)1 << 56)) {
    return fail(u, PORTA_ERR_FORMAT, "%s", "persistent id with a bad key or element count");
  }
  if (pid->n == 6 && pid->items[5]->kind != PK_NONE) {
    return fail(u, PORTA_ERR_UNSUPPORTED, "%s", "storage views of the pre-1.0 legacy format");
  }
  pk_value *v = new_value(u, PK_STORAGE);
  if (v != NULL) {
    v->s = strdup(key->s);
    if (v->s == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
    v->len = key->len;
    v->dtype = type->dtype;
    v->i = numel->i;
  }
  return push(u, v);
}

// ---- containers ------------------------------------------------------------------------------

static porta_status make_tuple(unpickler *u, size_t first) {
  pk_value *t = new_value(u, PK_TUPLE);
  if (t == NULL) return push(u, NULL);
  for (size_t i = first; i < u->sp; i++) {
    if (!push_item(t, u->stack[i])) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
  }
  u->sp = first;
  return push(u, t);
}

// SETITEMS / APPENDS / DICT / LIST: items u->stack[first..sp) into container.
static porta_status fill(unpickler *u, pk_value *container, size_t first) {
  if (container->kind == PK_DICT && (u->sp - first) % 2 != 0) {
    return fail(u, PORTA_ERR_FORMAT, "%s", "odd number of items for a dict");
  }
  for (size_t i = first; i < u->sp; i++) {
    if (!push_item(container, u->stack[i]))
      return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
  }
  u->sp = first;
  return PORTA_OK;
}

// ---- the opcode loop -------------------------------------------------------------------------

static porta_status memo_put(unpickler *u, uint64_t index) {
  pk_value *v = top(u);
  if (v == NULL) return fail(u, PORTA_ERR_FORMAT, "%s", "memo put on an empty stack");
  if (index >= PORTA_PICKLE_MAX_MEMO || index > u->memo_len + 4096) {
    return fail(u, PORTA_ERR_LIMIT, "%s", "memo index over the limit");
  }
  if (index >= u->memo_len) {
    pk_value **memo = realloc(u->memo, sizeof(*memo) * (size_t)(index + 1));
    if (memo == NULL) return fail(u, PORTA_ERR_OUT_OF_MEMORY, "%s", "out of memory");
    for (size_t i = u->memo_len; i <= index; i++) memo[i] = NULL;
    u->memo = memo;
    u->memo_len = (size_t)index + 1;
  }
  u->memo[index] = v;
  return PORTA_OK;
}

static porta_status memo_get(unpickler *u, uint64_t index) {
  if (index >= u->memo_len || u->memo[index] == NULL) {
    char detail[32];
    snprintf(detail, sizeof(detail), "%llu", (unsigned long long)index);
    return fail(u, PORTA_ERR_FORMAT, "memo index %s was never stored", detail);
  }
  return push(u, u->memo[index]);
}

static porta_status step(unpickler *u, uint8_t op, bool *stop) {
  pk_value *v;
  size_t first = 0;
  uint64_t n;
  switch (op) {
  case 0x80: // PROTO
    if (!need(u, 1)) break;
    if (u->data[u->pos++] > 5) return fail(u, PORTA_ERR_FORMAT, "%s", "unknown pickle protocol");
    return PORTA_OK;
  case 0x95: // FRAME: a length hint; the data is all in memory
    if (!need(u, 8)) break;
    u->pos += 8;
    return PORTA_OK;
  case '.': // STOP
    *stop = true;
    return PORTA_OK;
  case '(': // MARK
    if (u->n_marks >= PORTA_PICKLE_MAX_MARKS) {
      return fail(u, PORTA_ERR_LIMIT, "%s", "nesting deeper than the limit of 1000 marks");
    }
    u->marks[u->n_marks++] = u->sp;
    return PORTA_OK;
  case '0': // POP
    if (pop(u) == NULL) return fail(u, PORTA_ERR_FORMAT, "%s", "POP on an empty stack");
    return PORTA_OK;
  case '1': // POP_MARK
    if (!pop_mark(u, &first)) return fail(u, PORTA_ERR_FORMAT, "%s", "POP_MARK without a mark");
    u->sp = first;
    return PORTA_OK;
  case '2': // DUP
    if ((v = top(u)) == NULL) return fail(u, PORTA_ERR_FORMAT, "%s", "DUP on an empty stack");
    return push(u, v);
  case 'N':
    return push(u, new_value(u, PK_NONE));
  case 0x88: // NEWTRUE
  case 0x89: // NEWFALSE
    if ((v = new_value(u, PK_BOOL)) != NULL) v->i = op == 0x88;
    return push(u, v);
  case 'J': // BININT
    if (!need(u, 4)) break;
    if ((v = new_value(u, PK_INT)) == NULL) return push(u, NULL);
    v->i = (int32_t)(uint32_t)read_le(u, 4);
    return push(u, v);
  case 'K': // BININT1
  case 'M': // BININT2
    if (!need(u, op == 'K' ? 1 : 2)) break;
    if ((v = new_value(u, PK_INT)) == NULL) return push(u, NULL);
    v->i = (int64_t)read_le(u, op == 'K' ? 1 : 2);
    return push(u, v);
  case 0x8a: { // LONG1: n bytes of little-endian two's complement
    if (!need(u, 1)) break;
    int len = u->data[u->pos++];
    if (!need(u, (size_t)len)) break;
    if (len > 8) return push_string(u, PK_BIGINT, (size_t)len);
    if ((v = new_value(u, PK_INT)) == NULL) return push(u, NULL);
    uint64_t raw = len ? read_le(u, len) : 0;
    if (len > 0 && len < 8 && (raw >> (8 * len - 1)) & 1) raw |= ~(uint64_t)0 << (8 * len);
    v->i = (int64_t)raw;
    return push(u, v);
  }
  case 'G': { // BINFLOAT: big-endian double
    if (!need(u, 8)) break;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = (bits << 8) | u->data[u->pos++];
    if ((v = new_value(u, PK_FLOAT)) == NULL) return push(u, NULL);
    memcpy(&v->f, &bits, 8);
    return push(u, v);
  }
  case 0x8c: // SHORT_BINUNICODE
  case 'C':  // SHORT_BINBYTES
    if (!need(u, 1)) break;
    return push_string(u, op == 'C' ? PK_BYTES : PK_STR, u->data[u->pos++]);
  case 'X': // BINUNICODE
  case 'B': // BINBYTES
    if (!need(u, 4)) break;
    n = read_le(u, 4);
    return push_string(u, op == 'B' ? PK_BYTES : PK_STR, (size_t)n);
  case 0x8d: // BINUNICODE8
  case 0x8e: // BINBYTES8
    if (!need(u, 8)) break;
    n = read_le(u, 8);
    if (n > u->size) return fail(u, PORTA_ERR_FORMAT, "%s", "string longer than the file");
    return push_string(u, op == 0x8e ? PK_BYTES : PK_STR, (size_t)n);
  case '}':
    return push(u, new_value(u, PK_DICT));
  case ']':
    return push(u, new_value(u, PK_LIST));
  case ')':
    return push(u, new_value(u, PK_TUPLE));
  case 't': // TUPLE
    if (!pop_mark(u, &first)) return fail(u, PORTA_ERR_FORMAT, "%s", "TUPLE without a mark");
    return make_tuple(u, first);
  case 0x85: // TUPLE1
  case 0x86: // TUPLE2
  case 0x87: // TUPLE3
    n = (uint64_t)(op - 0x84);
    if (u->sp - floor_of_stack(u) < n)
      return fail(u, PORTA_ERR_FORMAT, "%s", "TUPLEn on a short stack");
    return make_tuple(u, u->sp - (size_t)n);
  case 'l': // LIST
  case 'd': // DICT
    if (!pop_mark(u, &first)) return fail(u, PORTA_ERR_FORMAT, "%s", "LIST/DICT without a mark");
    if ((v = new_value(u, op == 'l' ? PK_LIST : PK_DICT)) == NULL) return push(u, NULL);
    {
      porta_status fs = fill(u, v, first);
      if (fs != PORTA_OK) return fs;
    }
    return push(u, v);
  case 'a':   // APPEND
  case 's': { // SETITEM
    size_t k = op == 'a' ? 1 : 2;
    if (u->sp - floor_of_stack(u) < k + 1)
      return fail(u, PORTA_ERR_FORMAT, "%s", "APPEND/SETITEM on a short stack");
    v = u->stack[u->sp - k - 1];
    if (v->kind != (op == 'a' ? PK_LIST : PK_DICT)) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "APPEND/SETITEM on the wrong kind of object");
    }
    return fill(u, v, u->sp - k);
  }
  case 'e': // APPENDS
  case 'u': // SETITEMS
    if (!pop_mark(u, &first))
      return fail(u, PORTA_ERR_FORMAT, "%s", "APPENDS/SETITEMS without a mark");
    if (first == 0 || first <= floor_of_stack(u))
      return fail(u, PORTA_ERR_FORMAT, "%s", "APPENDS/SETITEMS without a target");
    v = u->stack[first - 1];
    if (v->kind != (op == 'e' ? PK_LIST : PK_DICT)) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "APPENDS/SETITEMS on the wrong kind of object");
    }
    return fill(u, v, first);
  case 'q': // BINPUT
    if (!need(u, 1)) break;
    return memo_put(u, read_le(u, 1));
  case 'r': // LONG_BINPUT
    if (!need(u, 4)) break;
    return memo_put(u, read_le(u, 4));
  case 0x94: // MEMOIZE
    return memo_put(u, u->memo_len);
  case 'h': // BINGET
    if (!need(u, 1)) break;
    return memo_get(u, read_le(u, 1));
  case 'j': // LONG_BINGET
    if (!need(u, 4)) break;
    return memo_get(u, read_le(u, 4));
  case 'c': { // GLOBAL "module\nname\n"
    char module[256], name[256];
    if (!read_line(u, module, sizeof(module)) || !read_line(u, name, sizeof(name))) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "GLOBAL operand is not two short lines");
    }
    return push_global(u, module, name);
  }
  case 0x93: { // STACK_GLOBAL
    pk_value *name = pop(u), *module = pop(u);
    if (name == NULL || module == NULL || name->kind != PK_STR || module->kind != PK_STR ||
        name->len > 255 || module->len > 255) {
      return fail(u, PORTA_ERR_FORMAT, "%s", "STACK_GLOBAL needs two short strings");
    }
    return push_global(u, module->s, name->s);
  }
  case 'R':
    return reduce(u);
  case 'b':
    return build(u);
  case 'Q':
    return persistent_load(u);
  default: {
    char detail[8];
    snprintf(detail, sizeof(detail), "0x%02x", op);
    return fail(u, PORTA_ERR_FORMAT, "unsupported pickle opcode %s (not needed for a state dict)",
                detail);
  }
  }
  return fail(u, PORTA_ERR_FORMAT, "%s", "operand runs past the end (truncated?)");
}

porta_status porta_pickle_load(porta_pickle *out, const uint8_t *data, size_t size,
                               size_t *consumed, const char *what, char *err, size_t err_size) {
  memset(out, 0, sizeof(*out));
  unpickler u = {
      .data = data, .size = size, .what = what, .err = err, .err_size = err_size, .arena = out};
  u.marks = malloc(sizeof(*u.marks) * PORTA_PICKLE_MAX_MARKS);
  if (u.marks == NULL)
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  porta_status s = PORTA_OK;
  bool stop = false;
  while (s == PORTA_OK && !stop) {
    if (u.pos >= u.size) {
      s = fail(&u, PORTA_ERR_FORMAT, "%s", "pickle ends without STOP (truncated?)");
      break;
    }
    s = step(&u, u.data[u.pos++], &stop);
  }
  if (s == PORTA_OK) {
    // STOP returns the top of the stack; marks left open are tolerated like CPython does.
    out->root = u.sp > 0 ? u.stack[u.sp - 1] : NULL;
    if (out->root == NULL) s = fail(&u, PORTA_ERR_FORMAT, "%s", "STOP on an empty stack");
  }
  if (s == PORTA_OK && consumed != NULL) *consumed = u.pos;
  free(u.marks);
  free(u.stack);
  free(u.memo);
  if (s != PORTA_OK) porta_pickle_free(out);
  return s;
}
