#!/usr/bin/env python3
"""Writes a copy of a .safetensors file with every F32 tensor stored as F16 (others unchanged), half
the size: tools/gpu_prepare.sh carries all-MiniLM-L6-v2 this way (porta widens F16 to f32 on load).

  python3 tools/safetensors_f16.py IN.safetensors OUT.safetensors
"""
import json
import struct
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop("__metadata__", None)
    out_header, chunks, offset = {}, [], 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = t["data_offsets"]
        raw = body[begin:end]
        dtype = t["dtype"]
        if dtype == "F32":
            raw = np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()
            dtype = "F16"
        out_header[name] = {"dtype": dtype, "shape": t["shape"],
                            "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if meta is not None:
        out_header["__metadata__"] = meta
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


if __name__ == "__main__":
    main()
