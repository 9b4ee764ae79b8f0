#!/usr/bin/env python3
"""The PyTorch reference for `porta train`: the same job with transformers, for comparing accuracy
and speed. Same data reading, the same split (porta's xoshiro256** / splitmix64, stratified by
label, repeated texts kept together) and the same batches in the same order (porta's
length-bucketed shuffle), the same head (dropout + linear on token 0), AdamW with transformers'
decay grouping (no decay on biases / LayerNorm weights), linear schedule, gradient clipping.
Dropout masks differ (torch's RNG), so losses agree in distribution, not bit for bit.

    python3 tools/train_pytorch.py --model models/all-MiniLM-L6-v2 \
        --data ../shared/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl --epochs 1 --out runs/torch

Writes <out>/metrics.jsonl in porta's format (tools/plot_metrics.py reads both) and
<out>/split.json; --check-split RUN_DIR compares the split with a porta run's split.json.
Needs torch and transformers (never needed by porta itself)."""
import argparse
import json
import math
import os
import sys
import time

MASK = (1 << 64) - 1


# ---- porta's RNG (src/train/rng.c) --------------------------------------------------------------
class Rng:
    def __init__(self, seed):
        state = seed & MASK
        self.s = []
        for _ in range(4):
            state = (state + 0x9E3779B97F4A7C15) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def below(self, n):
        if n <= 1:
            return 0
        limit = MASK - (MASK % n)
        while True:
            x = self.next()
            if x < limit:
                return x % n

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


# ---- data (src/train/data.c, JSON lines only) ---------------------------------------------------
def load_jsonl(path, text_field, label_field, limit):
    texts, labels, skipped = [], [], 0
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
                text, label = row[text_field], row[label_field]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("empty text")
                label = int(label) if not isinstance(label, str) else label
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                skipped += 1
                continue
            texts.append(text)
            labels.append(label)
            if limit and len(texts) >= limit:
                break
    if all(isinstance(x, int) for x in labels):
        names = [str(i) for i in range(max(2, max(labels) + 1))]
        ids = labels
    else:
        names = sorted({str(x) for x in labels}, key=lambda s: s.encode("utf-8"))
        ids = [names.index(str(x)) for x in labels]
    return texts, ids, names, skipped


# ---- split (src/train/split.c) ------------------------------------------------------------------
def make_split(texts, labels, num_labels, valid_fraction, test_fraction, seed):
    first_of = {}
    group_of = [first_of.setdefault(t, i) for i, t in enumerate(texts)]
    size = [0] * len(texts)
    for g in group_of:
        size[g] += 1
    rng = Rng(seed)
    part_of_group = {}
    for label in range(-1, num_labels):
        groups = [i for i in range(len(texts)) if group_of[i] == i and labels[i] == label]
        if not groups:
            continue
        rows_in_class = sum(size[g] for g in groups)
        rng.shuffle(groups)
        want_test = math.floor(rows_in_class * test_fraction + 0.5)
        want_valid = math.floor(rows_in_class * valid_fraction + 0.5)
        have_test = have_valid = 0
        for g in groups:
            if have_test < want_test:
                part_of_group[g] = 2
                have_test += size[g]
            elif have_valid < want_valid:
                part_of_group[g] = 1
                have_valid += size[g]
            else:
                part_of_group[g] = 0
    parts = [[], [], []]
    for i in range(len(texts)):
        parts[part_of_group[group_of[i]]].append(i)
    return parts


# ---- batches (src/train/batch.c) ----------------------------------------------------------------
def epoch_plan(lengths, batch_size, seed, epoch, chunk_batches=100):
    n = len(lengths)
    rows = list(range(n))
    rng = Rng(seed ^ ((0xA0761D6478BD642F * (epoch + 1)) & MASK))
    rng.shuffle(rows)
    chunk = batch_size * chunk_batches
    for start in range(0, n, chunk):
        part = rows[start:start + chunk]
        order = sorted(range(len(part)), key=lambda i: (-lengths[part[i]], i))
        rows[start:start + chunk] = [part[i] for i in order]
    batches = [rows[b:b + batch_size] for b in range(0, n, batch_size)]
    ids = list(range(len(batches)))
    rng.shuffle(ids)
    return [batches[i] for i in ids]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="runs/pytorch")
    ap.add_argument("--text-field", default="headline")
    ap.add_argument("--label-field", default="is_sarcastic")
    ap.add_argument("--limit-rows", type=int, default=0)
    ap.add_argument("--valid-fraction", type=float, default=0.1)
    ap.add_argument("--test-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.0, help="steps, or a fraction of the total when < 1")
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--max-len", type=int, default=0)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--init-head", metavar="CHECKPOINT",
                    help="start the classifier from a checkpoint's classifier.weight/bias (e.g. porta's, for parity)")
    ap.add_argument("--check-split", metavar="RUN_DIR", help="compare the split with a porta run's split.json")
    args = ap.parse_args()

    texts, labels, names, skipped = load_jsonl(args.data, args.text_field, args.label_field, args.limit_rows)
    parts = make_split(texts, labels, len(names), args.valid_fraction, args.test_fraction, args.seed)
    print(f"data: {len(texts)} rows ({skipped} skipped), split train {len(parts[0])} valid {len(parts[1])} "
          f"test {len(parts[2])}", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "split.json"), "w") as f:
        json.dump({"seed": args.seed, "train": parts[0], "valid": parts[1], "test": parts[2]}, f)
    if args.check_split:
        with open(os.path.join(args.check_split, "split.json")) as f:
            theirs = json.load(f)
        same = all(theirs[k] == parts[i] for i, k in enumerate(["train", "valid", "test"]))
        print(f"split vs {args.check_split}: {'identical' if same else 'DIFFERENT'}", file=sys.stderr)
        if not same:
            return 1

    import torch
    from transformers import AutoModel, AutoTokenizer
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.model)
    body = AutoModel.from_pretrained(args.model, add_pooling_layer=False)
    max_len = args.max_len or min(tok.model_max_length, body.config.max_position_embeddings)
    enc = [tok(t, truncation=True, max_length=max_len)["input_ids"] for t in texts]
    head = torch.nn.Sequential(torch.nn.Dropout(args.dropout), torch.nn.Linear(body.config.hidden_size, len(names)))
    torch.nn.init.normal_(head[1].weight, std=0.02)
    torch.nn.init.zeros_(head[1].bias)
    if args.init_head:
        from safetensors.torch import load_file
        weights = load_file(os.path.join(args.init_head, "model.safetensors"))
        with torch.no_grad():
            head[1].weight.copy_(weights["classifier.weight"])
            head[1].bias.copy_(weights["classifier.bias"])
    named = list(body.named_parameters()) + [("classifier." + n, p) for n, p in head.named_parameters()]
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n
    opt = torch.optim.AdamW([
        {"params": [p for n, p in named if not no_decay(n)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(parts[0]) / args.batch_size)
    total = steps_per_epoch * args.epochs
    if args.max_steps and args.max_steps < total:
        total = args.max_steps
    warmup = int(round(args.warmup * total)) if args.warmup < 1 else int(args.warmup)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    pad = tok.pad_token_id or 0

    def batch(rows):
        n = max(len(enc[r]) for r in rows)
        ids = torch.full((len(rows), n), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(enc[r])] = torch.tensor(enc[r])
            mask[i, :len(enc[r])] = 1
        return ids, mask, torch.tensor([labels[r] for r in rows])

    def evaluate(rows, split, epoch, step, log):
        body.eval(), head.eval()
        C = len(names)
        confusion = [[0] * C for _ in range(C)]
        loss_sum = 0.0
        with torch.no_grad():
            for b in range(0, len(rows), 64):
                ids, mask, y = batch(rows[b:b + 64])
                logits = head(body(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0])
                loss_sum += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
                for t, p in zip(y.tolist(), logits.argmax(-1).tolist()):
                    confusion[t][p] += 1
        body.train(), head.train()
        n = sum(map(sum, confusion))
        prec, rec, f1 = [], [], []
        for c in range(C):
            tp, pred, act = confusion[c][c], sum(confusion[k][c] for k in range(C)), sum(confusion[c])
            p = tp / pred if pred else 0.0
            r = tp / act if act else 0.0
            prec.append(p), rec.append(r), f1.append(2 * p * r / (p + r) if p + r else 0.0)
        pick = (lambda v: v[1]) if C == 2 else (lambda v: sum(v) / C)
        m = {"split": split, "epoch": epoch, "step": step, "loss": loss_sum / max(n, 1),
             "accuracy": sum(confusion[c][c] for c in range(C)) / max(n, 1),
             "precision": pick(prec), "recall": pick(rec), "f1": pick(f1), "confusion": confusion}
        log.write(json.dumps(m) + "\n")
        log.flush()
        print(f"{split} epoch {epoch + 1}: accuracy {m['accuracy']:.4f} precision {m['precision']:.4f} "
              f"recall {m['recall']:.4f} F1 {m['f1']:.4f}", file=sys.stderr)
        return m

    lengths = [len(enc[r]) for r in parts[0]]
    step, best_f1, best_state, started = 0, -1.0, None, time.time()
    log = open(os.path.join(args.out, "metrics.jsonl"), "w")
    body.train(), head.train()
    for epoch in range(args.epochs):
        for positions in epoch_plan(lengths, args.batch_size, args.seed, epoch):
            if step >= total:
                break
            t0 = time.time()
            ids, mask, y = batch([parts[0][p] for p in positions])
            logits = head(body(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0])
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in named], args.max_grad_norm)
            lr = sched.get_last_lr()[0]
            opt.step(), sched.step(), opt.zero_grad()
            step += 1
            dt = time.time() - t0
            log.write(json.dumps({"step": step, "epoch": epoch, "loss": round(loss.item(), 6), "lr": lr,
                                  "seq_per_s": round(len(positions) / dt, 2)}) + "\n")
            if step % 50 == 0 or step == total:
                print(f"epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {loss.item():.4f} "
                      f"{len(positions) / dt:.1f} seq/s", file=sys.stderr)
        if parts[1]:
            m = evaluate(parts[1], "valid", epoch, step, log)
            if m["f1"] > best_f1:
                best_f1 = m["f1"]
                best_state = ({k: v.clone() for k, v in body.state_dict().items()},
                              {k: v.clone() for k, v in head.state_dict().items()}, epoch)
        if step >= total:
            break
    if parts[2]:
        if best_state:
            body.load_state_dict(best_state[0]), head.load_state_dict(best_state[1])
        evaluate(parts[2], "test", best_state[2] if best_state else epoch, step, log)
    print(f"done in {time.time() - started:.1f} s: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
