#!/usr/bin/env python3
"""PyTorch side of bench/graph_profile.c: the same MiniLM training step (body + dropout 0.1 on token
0 + linear to 2, cross-entropy, AdamW) or eval forward, printing wall and process CPU time per step.
On a loaded machine, CPU time with one thread on both sides is the steadier measure of work.

  python3 bench/graph_profile_torch.py models/all-MiniLM-L6-v2 train 32 5 [threads]
"""
import sys
import time

import torch
from transformers import AutoModel


def main():
    model_dir, kind, seq, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if len(sys.argv) > 5:
        torch.set_num_threads(int(sys.argv[5]))
    torch.manual_seed(0)
    body = AutoModel.from_pretrained(model_dir, attn_implementation="eager")
    head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(body.config.hidden_size, 2))
    params = list(body.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.01)
    b = 32
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, body.config.vocab_size, (b, seq), generator=g)
    mask = torch.ones(b, seq, dtype=torch.long)
    labels = torch.randint(0, 2, (b,), generator=g)
    best, best_cpu = 1e30, 1e30
    for s in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        if kind == "train":
            body.train(); head.train()
            h = body(input_ids=ids, attention_mask=mask).last_hidden_state
            loss = torch.nn.functional.cross_entropy(head(h[:, 0]), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
        else:
            body.eval(); head.eval()
            with torch.no_grad():
                h = body(input_ids=ids, attention_mask=mask).last_hidden_state
                head(h[:, 0])
        ms, cms = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
        if s >= 2:
            best, best_cpu = min(best, ms), min(best_cpu, cms)
        print(f"step {s}: {ms:.1f} ms ({b / ms * 1e3:.1f} seq/s), cpu {cms:.1f} ms")
    print(f"steps 2..: best {best:.1f} ms ({b / best * 1e3:.1f} seq/s), best cpu {best_cpu:.1f} ms")


if __name__ == "__main__":
    main()
