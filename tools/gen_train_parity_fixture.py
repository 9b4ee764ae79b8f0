#!/usr/bin/env python3
"""Writes the fixtures of tests/train_parity.cmake:

  tests/data/train/tiny_bert_nodrop/   tests/data/train/tiny_bert with every dropout 0 in config.json
                                       and a seeded classifier (classifier.weight [2, 32] ~ N(0, 0.02),
                                       classifier.bias 0) in model.safetensors, so porta (which keeps a
                                       checkpoint's classifier) and PyTorch (--init-head) start identically
  tests/data/train/parity/torch_losses.json
                                       the 20 per-step losses of tools/train_pytorch.py on that model
                                       (2 epochs of 13 batches cut at 20 steps, batch 16, lr 5e-3, dropout 0, the synthetic rows), which porta's
                                       run must reproduce within 1e-4 (compare_losses.sh)
  tests/data/train/tiny_roberta/       a tiny random RoBERTa with the byte-level BPE of
                                       tests/data/tokenizers/bpe (vocab.json + merges.txt), weights in F16

Run once with torch and transformers installed, after building porta:
    python3 tools/gen_train_parity_fixture.py build/porta
It also runs porta with the same settings and prints both loss columns side by side."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "tests", "data", "train")
TINY = os.path.join(TRAIN, "tiny_bert")
NODROP = os.path.join(TRAIN, "tiny_bert_nodrop")
PARITY = os.path.join(TRAIN, "parity")
ROBERTA = os.path.join(TRAIN, "tiny_roberta")
BPE = os.path.join(ROOT, "tests", "data", "tokenizers", "bpe")
DATA = os.path.join(TRAIN, "synthetic.jsonl")
# the settings shared by both runs (tests/train_parity.cmake repeats them)
SETTINGS = ["--epochs", "2", "--max-steps", "20", "--batch-size", "16", "--lr", "5e-3", "--dropout", "0", "--threads", "1"]


def make_nodrop():
    os.makedirs(NODROP, exist_ok=True)
    for name in ["vocab.txt", "tokenizer_config.json"]:
        shutil.copy(os.path.join(TINY, name), os.path.join(NODROP, name))
    with open(os.path.join(TINY, "config.json")) as f:
        config = json.load(f)
    config["hidden_dropout_prob"] = 0.0
    config["attention_probs_dropout_prob"] = 0.0
    config["classifier_dropout"] = 0.0
    with open(os.path.join(NODROP, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    weights = load_file(os.path.join(TINY, "model.safetensors"))
    gen = torch.Generator().manual_seed(2024)
    weights["classifier.weight"] = torch.randn(2, config["hidden_size"], generator=gen) * 0.02
    weights["classifier.bias"] = torch.zeros(2)
    save_file(weights, os.path.join(NODROP, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(NODROP, "model.safetensors"), 0o644)
    print("wrote", NODROP)


def losses_of(metrics_path):
    with open(metrics_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["loss"] for r in rows if "split" not in r]


def make_parity(porta):
    os.makedirs(PARITY, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        torch_out = os.path.join(tmp, "torch")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train_pytorch.py"), "--model", NODROP,
                        "--data", DATA, "--out", torch_out, "--init-head", NODROP] + SETTINGS,
                       check=True)
        theirs = losses_of(os.path.join(torch_out, "metrics.jsonl"))
        if len(theirs) != 20:
            sys.exit(f"PyTorch ran {len(theirs)} steps, expected 20")
        with open(os.path.join(PARITY, "torch_losses.json"), "w") as f:
            json.dump({"settings": SETTINGS, "model": "tests/data/train/tiny_bert_nodrop",
                       "losses": theirs}, f, indent=1)
            f.write("\n")
        print("wrote", os.path.join(PARITY, "torch_losses.json"))
        if porta:
            porta_out = os.path.join(tmp, "porta")
            env = dict(os.environ, PORTA_CACHE_DIR=os.path.join(tmp, "cache"))
            subprocess.run([porta, "train", "--model", NODROP, "--data", DATA, "--out", porta_out,
                            "--backend", "cpu", "--quiet"] + SETTINGS, check=True, env=env)
            ours = losses_of(os.path.join(porta_out, "metrics.jsonl"))
            worst = 0.0
            for step, (a, b) in enumerate(zip(ours, theirs), 1):
                worst = max(worst, abs(a - b))
                print(f"step {step:2d}  porta {a:.6f}  torch {b:.6f}  diff {a - b:+.2e}")
            print(f"max |porta - torch| = {worst:.2e} over {min(len(ours), len(theirs))} steps")


def make_roberta():
    from transformers import RobertaConfig, RobertaModel
    with open(os.path.join(BPE, "vocab.json")) as f:
        vocab_size = len(json.load(f))
    torch.manual_seed(4321)
    config = RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=37, max_position_embeddings=64 + 2, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2, type_vocab_size=1)
    model = RobertaModel(config, add_pooling_layer=False).half()  # F16 keeps the folder under 200 KB
    if os.path.isdir(ROBERTA):
        shutil.rmtree(ROBERTA)
    model.save_pretrained(ROBERTA, safe_serialization=True)
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
        shutil.copy(os.path.join(BPE, name), os.path.join(ROBERTA, name))
    os.chmod(os.path.join(ROBERTA, "model.safetensors"), 0o644)
    size = sum(os.path.getsize(os.path.join(ROBERTA, n)) for n in os.listdir(ROBERTA))
    print("wrote", ROBERTA, "vocab", vocab_size, f"{size / 1024:.0f} KB")


def main():
    porta = sys.argv[1] if len(sys.argv) > 1 else None
    make_nodrop()
    make_parity(porta)
    make_roberta()
    return 0


if __name__ == "__main__":
    sys.exit(main())
