#!/usr/bin/env python3
"""Writes the BERT/RoBERTa parity fixtures under tests/data/bert/ (run once; the output is committed).

  python3 tools/gen_bert_fixtures.py [--minilm DIR]

tiny_bert/      a random BertForSequenceClassification (vocab 99, hidden 32, 2 layers, 4 heads,
                intermediate 37, max_pos 64, type_vocab 2, 3 labels) saved as a Hub folder: names
                with the "bert." prefix, a pooler and a "classifier" (the cls head starts from it).
tiny_roberta/   a random RobertaForSequenceClassification (pad_token_id 1, type_vocab 1, hidden_act
                gelu_new, no pooler, RoBERTa's classifier.dense + classifier.out_proj).
*_expected.safetensors  fixed inputs (batch 3, seq 7, padding) and PyTorch's outputs in eval mode:
                hidden_states.<i> (i = 0 embeddings .. N = last_hidden_state), attentions.<i>,
                logits / loss of the cls head (dropout off: classifier(h[:, 0])) and the gradient of
                that loss for every parameter, named "grad.<name>" with porta's parameter names
                (the names porta_model_save writes: "bert."/"roberta." prefix, "classifier.*").
                tiny_bert_expected also holds the pooler head (BertForSequenceClassification) and
                the mean head (mask-weighted mean of last_hidden_state + classifier): "pooler.*",
                "mean.*". tiny_roberta_expected holds RobertaForSequenceClassification's outputs
                as "pooler.*" (porta's pooler head for the RoBERTa family).
minilm_expected.safetensors  ids from the Hub tokenizer for 3 sentences and all-MiniLM-L6-v2's
                last_hidden_state for them.

Weights are perturbed away from transformers' init (std 0.15, random biases and LayerNorm
affines) so that attention is peaked and a wrong transposition cannot hide behind near-uniform
probabilities.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import (AutoModel, AutoTokenizer, BertConfig, BertForSequenceClassification,
                          RobertaConfig, RobertaForSequenceClassification)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "bert")
BATCH, SEQ, LABELS = 3, 7, 3


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias") or "LayerNorm" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=gen))


def tiny_vocab(path, size):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words = special + letters + ["##" + c for c in letters]
    words += [f"w{i}" for i in range(size - len(words))]
    with open(path, "w") as f:
        f.write("\n".join(words[:size]) + "\n")


def inputs(pad_id, gen, first_id, lengths, with_types):
    ids = torch.full((BATCH, SEQ), pad_id, dtype=torch.long)
    mask = torch.zeros((BATCH, SEQ), dtype=torch.long)
    types = torch.zeros((BATCH, SEQ), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(5, 99, (n,), generator=gen)
        ids[b, 0] = first_id
        mask[b, :n] = 1
        if with_types:
            types[b, n // 2:n] = 1
    return ids, mask, types


def body_outputs(body, ids, mask, types):
    out = body(input_ids=ids, attention_mask=mask, token_type_ids=types,
               output_hidden_states=True, output_attentions=True)
    return out


def grads_of(model, prefix, head_params):
    """Gradients named as porta names its parameters."""
    grads = {}
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        grads["grad." + prefix + name] = p.grad.detach().clone()
    for name, p in head_params.items():
        grads["grad." + name] = p.grad.detach().clone()
    return grads


def add_body(record, out, ids, mask, types):
    record["input_ids"] = ids.to(torch.int32)
    record["attention_mask"] = mask.to(torch.int32)
    record["token_type_ids"] = types.to(torch.int32)
    for i, h in enumerate(out.hidden_states):
        record[f"hidden_states.{i}"] = h.detach().clone()
    for i, a in enumerate(out.attentions):
        record[f"attentions.{i}"] = a.detach().clone()


def save(record, path):
    record = {k: v.contiguous() for k, v in record.items()}
    # one metadata key: safetensors writes several in a random order
    generator = f"tools/gen_bert_fixtures.py, torch {torch.__version__}"
    save_file(record, path, metadata={"generator": generator})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(record)} tensors)")


def tiny_bert():
    gen = torch.Generator().manual_seed(1234)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
                        hidden_act="gelu", num_labels=LABELS, pad_token_id=0,
                        attn_implementation="eager")
    torch.manual_seed(1234)
    model = BertForSequenceClassification(config).eval()
    perturb(model, gen)
    folder = os.path.join(OUT, "tiny_bert")
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tiny_vocab(os.path.join(folder, "vocab.txt"), config.vocab_size)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64,
                   "tokenizer_class": "BertTokenizer"}, f, indent=2)

    ids, mask, types = inputs(0, gen, 2, [7, 5, 3], True)
    labels = torch.tensor([1, 0, 2])
    body, clf = model.bert, model.classifier
    record = {"labels": labels.to(torch.int32)}

    # cls head: dropout (off) on token 0 + classifier
    out = body_outputs(body, ids, mask, types)
    logits = clf(out.last_hidden_state[:, 0])
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    add_body(record, out, ids, mask, types)
    record["logits"] = logits.detach().clone()
    record["loss"] = loss.detach().reshape(1).clone()
    # the pooler takes no part in the cls head: torch leaves its grad None
    record.update(grads_of(body, "bert.", {"classifier.weight": clf.weight,
                                            "classifier.bias": clf.bias}))
    model.zero_grad(set_to_none=True)

    # pooler head: BertForSequenceClassification itself
    res = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    res.loss.backward()
    record["pooler.logits"] = res.logits.detach().clone()
    record["pooler.loss"] = res.loss.detach().reshape(1).clone()
    for name in ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight",
                 "classifier.bias", "bert.embeddings.word_embeddings.weight"]:
        record["pooler.grad." + name] = dict(model.named_parameters())[name].grad.detach().clone()
    model.zero_grad(set_to_none=True)

    # mean head: attention-mask-weighted mean of last_hidden_state + classifier
    out = body_outputs(body, ids, mask, types)
    m = mask.unsqueeze(-1).to(torch.float32)
    pooled = (out.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1e-9)
    logits = clf(pooled)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    record["mean.logits"] = logits.detach().clone()
    record["mean.loss"] = loss.detach().reshape(1).clone()
    for name in ["classifier.weight", "classifier.bias", "bert.embeddings.word_embeddings.weight"]:
        record["mean.grad." + name] = dict(model.named_parameters())[name].grad.detach().clone()
    save(record, os.path.join(OUT, "tiny_bert_expected.safetensors"))


def tiny_roberta():
    gen = torch.Generator().manual_seed(4321)
    config = RobertaConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=37, max_position_embeddings=64, type_vocab_size=1,
                           hidden_act="gelu_new", pad_token_id=1, bos_token_id=0, eos_token_id=2,
                           layer_norm_eps=1e-5, num_labels=LABELS, attn_implementation="eager")
    torch.manual_seed(4321)
    model = RobertaForSequenceClassification(config).eval()
    perturb(model, gen)
    folder = os.path.join(OUT, "tiny_roberta")
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    body = model.roberta

    ids, mask, types = inputs(1, gen, 0, [7, 4, 6], False)
    labels = torch.tensor([2, 1, 0])
    # cls head: a linear on <s> whose weights the fixture holds (the checkpoint's classifier is
    # RoBERTa's dense + out_proj, which is porta's "pooler" head for this family)
    clf = torch.nn.Linear(config.hidden_size, LABELS)
    with torch.no_grad():
        clf.weight.copy_(0.3 * torch.randn(clf.weight.shape, generator=gen))
        clf.bias.copy_(0.1 * torch.randn(clf.bias.shape, generator=gen))
    out = body_outputs(body, ids, mask, types)
    logits = clf(out.last_hidden_state[:, 0])
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    record = {"labels": labels.to(torch.int32)}
    add_body(record, out, ids, mask, types)
    record["classifier.weight"] = clf.weight.detach().clone()
    record["classifier.bias"] = clf.bias.detach().clone()
    record["logits"] = logits.detach().clone()
    record["loss"] = loss.detach().reshape(1).clone()
    record.update(grads_of(body, "roberta.", {"classifier.weight": clf.weight,
                                               "classifier.bias": clf.bias}))
    model.zero_grad(set_to_none=True)

    # pooler head: RobertaForSequenceClassification itself (dense + tanh + out_proj on <s>)
    res = model(input_ids=ids, attention_mask=mask, labels=labels)
    res.loss.backward()
    record["pooler.logits"] = res.logits.detach().clone()
    record["pooler.loss"] = res.loss.detach().reshape(1).clone()
    for name in ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                 "classifier.out_proj.bias", "roberta.embeddings.word_embeddings.weight"]:
        record["pooler.grad." + name] = dict(model.named_parameters())[name].grad.detach().clone()
    save(record, os.path.join(OUT, "tiny_roberta_expected.safetensors"))


def minilm(folder):
    if not os.path.isfile(os.path.join(folder, "model.safetensors")):
        print(f"skipped MiniLM: no model in {folder}")
        return
    sentences = ["The quick brown fox jumps over the lazy dog.",
                 "Scientists discover water on Mars!",
                 "porta runs BERT on any GPU"]
    tok = AutoTokenizer.from_pretrained(folder)
    enc = tok(sentences, padding=True, truncation=True, max_length=128, return_tensors="pt")
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(**enc)
    record = {"input_ids": enc["input_ids"].to(torch.int32),
              "attention_mask": enc["attention_mask"].to(torch.int32),
              "token_type_ids": enc["token_type_ids"].to(torch.int32),
              "last_hidden_state": out.last_hidden_state.clone()}
    save(record, os.path.join(OUT, "minilm_expected.safetensors"))


def main():
    torch.set_num_threads(1)  # the same bytes on every run (no thread-order rounding)
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", default=os.environ.get(
        "PORTA_MINILM_DIR", os.path.join(HERE, "..", "models", "all-MiniLM-L6-v2")))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    tiny_bert()
    tiny_roberta()
    minilm(args.minilm)


if __name__ == "__main__":
    main()
