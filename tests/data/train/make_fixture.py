"""Writes tests/data/train/tiny_bert: a tiny random BERT (BertModel, no task head) with a
WordPiece vocabulary of whole words, for the training tests (test_train_tiny.c, tests/cli.cmake),
and tests/data/train/synthetic.jsonl: 256 separable rows (one sentiment word decides the label,
40 % positive, CRLF line ends like the sarcasm file) for the CLI tests.
Run once with transformers installed:  python3 tests/data/train/make_fixture.py"""
import json
import os
import random

import torch
from transformers import BertConfig, BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny_bert")

# The synthetic data sets in the tests use these words: one sentiment word decides the label.
WORDS = ["good", "great", "happy", "fun", "bad", "sad", "awful", "dull",
         "the", "a", "movie", "day", "was", "is", "very", "so", "and", "this", "that", "it",
         "book", "song", "game", "show", "really", "quite", "my", "your", "today", "again"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main():
    torch.manual_seed(1234)
    vocab = SPECIALS + WORDS + list("abcdefghijklmnopqrstuvwxyz") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    vocab += [".", ",", "!", "?", "'"]
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=48, max_position_embeddings=64,
                        type_vocab_size=2, pad_token_id=0)
    model = BertModel(config, add_pooling_layer=True)
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer",
                   "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]"}, f, indent=2)
    print("wrote", OUT, "vocab", len(vocab))
    write_synthetic(os.path.join(HERE, "synthetic.jsonl"))


def write_synthetic(path):
    r = random.Random(7)
    pos, neg = WORDS[0:4], WORDS[4:8]
    fill = ["the", "a", "movie", "day", "was", "is", "very", "so", "this", "book", "song", "today"]
    with open(path, "w", newline="") as f:
        for _ in range(256):
            label = 1 if r.random() < 0.4 else 0
            words = [r.choice(fill) for _ in range(r.randint(2, 6))]
            words.insert(r.randint(0, len(words)), r.choice(pos if label else neg))
            f.write(json.dumps({"headline": " ".join(words), "is_sarcastic": label}) + "\r\n")


if __name__ == "__main__":
    main()
