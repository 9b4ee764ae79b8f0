#!/usr/bin/env python3
"""Loads folders written by porta_model_save with transformers and compares with porta's outputs.

  python3 tools/check_roundtrip.py DIR [DIR ...]

Each DIR needs DIR_outputs.safetensors beside it (test_bert_save writes both under
<build>/test_bert_save/): the inputs and porta's last_hidden_state and logits. Checks:
  - AutoModel.from_pretrained(DIR) loads the body with no missing or unexpected body weights and
    gives porta's last_hidden_state;
  - the head's logits: "pooler" → AutoModelForSequenceClassification.from_pretrained(DIR) itself
    (BertForSequenceClassification); "cls" / "mean" → the saved classifier.weight/bias applied to
    token 0 / the mask-weighted mean, as porta defines those heads.
Exit status 1 on any mismatch (normalised L2 error > 1e-5).
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForSequenceClassification

TOL = 1e-5


def nerr(got, want):
    return float((got - want).norm() / max(want.norm(), 1e-6))


def check(folder):
    outputs = load_file(folder.rstrip("/") + "_outputs.safetensors")
    ids = outputs["input_ids"].long()
    mask = outputs["attention_mask"].long()
    types = outputs["token_type_ids"].long()
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    head = config.get("porta_head", "none")
    kwargs = {"input_ids": ids, "attention_mask": mask}
    if config.get("type_vocab_size", 0) > 1:
        kwargs["token_type_ids"] = types
    fails = 0

    body, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    body.eval()
    missing = [k for k in info["missing_keys"] if "pooler" not in k]
    if missing or info["mismatched_keys"]:
        print(f"FAIL {folder}: AutoModel missing {missing} mismatched {info['mismatched_keys']}")
        fails += 1
    with torch.no_grad():
        hidden = body(**kwargs).last_hidden_state
    e = nerr(hidden, outputs["last_hidden_state"])
    ok = e <= TOL
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {folder}: AutoModel ({type(body).__name__}) "
          f"last_hidden_state nerr {e:.2e}")

    if head == "pooler":
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        with torch.no_grad():
            logits = model(**kwargs).logits
        where = f"AutoModelForSequenceClassification ({type(model).__name__})"
    else:
        weights = load_file(os.path.join(folder, "model.safetensors"))
        w, b = weights["classifier.weight"], weights["classifier.bias"]
        if head == "mean":
            m = mask.unsqueeze(-1).float()
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        else:
            pooled = hidden[:, 0]
        logits = pooled @ w.T + b
        where = f"classifier.weight/bias on the {head} pooling"
    e = nerr(logits, outputs["logits"])
    ok = e <= TOL
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {folder}: {where} logits nerr {e:.2e}; "
          f"id2label {config.get('id2label')}")
    return fails


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    fails = sum(check(d) for d in sys.argv[1:])
    print(f"check_roundtrip: {fails} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
