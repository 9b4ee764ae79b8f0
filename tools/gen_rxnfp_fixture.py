#!/usr/bin/env python3
"""Writes tests/data/rxnfp/rxnfp_hidden.safetensors for tests/test_rxnfp.c (run once; committed).

  python3 tools/gen_rxnfp_fixture.py [RXNFP_DIR]   (default $PORTA_RXNFP_DIR, else models/rxnfp)

RXNFP_DIR holds rxnfp/models/transformers/{bert_ft, bert_ft_10k_25s, bert_pretrained}: the three
legacy pytorch_model.bin BERT checkpoints that the PyPI package rxnfp ships (hidden 256, 12
layers, vocab 591). Stored, for one fixed batch (2 x 9, the second row padded after 5 tokens):
  input_ids, attention_mask           int64 [2, 9]
  <folder>.last_hidden_state          f32 [2, 9, 256]: BertModel.from_pretrained(folder), eval
  bert_ft_10k_25s.logits              f32 [2, 50]: BertForSequenceClassification (pooler + classifier)
  bert_ft_10k_25s.classifier.weight   f32 [50, 256]: first row only ("..._row0", [256])
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "rxnfp", "rxnfp_hidden.safetensors")
FOLDERS = ["bert_ft", "bert_ft_10k_25s", "bert_pretrained"]
CLASSIFIER = "bert_ft_10k_25s"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "PORTA_RXNFP_DIR", os.path.join(HERE, "..", "models", "rxnfp"))
    base = os.path.join(root, "rxnfp", "models", "transformers")
    gen = torch.Generator().manual_seed(1234)
    # [CLS]=12 ... [SEP]=13 in rxnfp's vocab (0-based lines of vocab.txt); ordinary tokens
    # in [16, 591) in between, [PAD]=0 after the second row's [SEP]
    ids = torch.randint(16, 591, (2, 9), generator=gen, dtype=torch.int64)
    ids[:, 0] = 12
    ids[0, 8] = 13
    ids[1, 4] = 13
    ids[1, 5:] = 0
    mask = torch.ones(2, 9, dtype=torch.int64)
    mask[1, 5:] = 0
    out = {"input_ids": ids, "attention_mask": mask}
    for name in FOLDERS:
        folder = os.path.join(base, name)
        # legacy configs lack model_type: BertConfig directly
        cfg = BertConfig.from_pretrained(folder)
        body = BertModel.from_pretrained(folder, config=cfg).eval()
        with torch.no_grad():
            h = body(input_ids=ids, attention_mask=mask).last_hidden_state
        out[f"{name}.last_hidden_state"] = h.contiguous().float()
        print(f"{name}: last_hidden_state {list(h.shape)} sum {h.sum().item():.6f}")
    folder = os.path.join(base, CLASSIFIER)
    cls = BertForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = cls(input_ids=ids, attention_mask=mask).logits
    out[f"{CLASSIFIER}.logits"] = logits.contiguous().float()
    out[f"{CLASSIFIER}.classifier.weight_row0"] = cls.classifier.weight[0].detach().clone().float()
    print(f"{CLASSIFIER}: classifier.weight {list(cls.classifier.weight.shape)}, "
          f"logits {list(logits.shape)}")
    save_file(out, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
