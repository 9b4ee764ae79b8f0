#!/usr/bin/env python3
"""Writes tests/data/train/tiny_bert_bin/ and tiny_bert_legacy/: the tiny training BERT with its
weights only as pytorch_model.bin (zip format, torch >= 1.6, and the legacy pre-1.6 format), for the
CLI tests that train and embed from a folder holding no safetensors file."""
import os
import shutil

import torch
from safetensors.torch import load_file

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "train")
src = os.path.join(root, "tiny_bert")
state = load_file(os.path.join(src, "model.safetensors"))
for name, legacy in (("tiny_bert_bin", False), ("tiny_bert_legacy", True)):
    dst = os.path.join(root, name)
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    torch.save(state, os.path.join(dst, "pytorch_model.bin"), _use_new_zipfile_serialization=not legacy)
    print("wrote", dst)
