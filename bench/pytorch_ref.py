#!/usr/bin/env python3
"""PyTorch side of `porta bench`: the same training step (body + the seed's head: dropout 0.1 on
token 0 + linear, cross-entropy, AdamW) and eval forward, on the same machine, written with the same
JSON fields as `porta bench --json`, so tools/bench_compare prints porta/PyTorch ratios per row.

  python3 bench/pytorch_ref.py --model models/all-MiniLM-L6-v2 --json bench/pytorch-cpu.json
  (--device cuda on an NVIDIA GPU; TF32 is switched off so the comparison is fp32 against fp32;
   --autocast bf16 runs the forward passes under torch.autocast in bfloat16, the mixed-precision
   figure a GPU user would otherwise reach for)

Each configuration runs in a fresh process so max RSS belongs to it alone.
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def run_one(args):
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # f32 weights whatever the file holds (tools/gpu_prepare.sh carries them as F16)
    body = AutoModel.from_pretrained(args.model, attn_implementation="eager",
                                     torch_dtype=torch.float32).to(dev)
    head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(body.config.hidden_size, 2)).to(dev)
    params = list(body.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.01)
    b, s = args.batch, args.seq
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, body.config.vocab_size, (b, s), generator=g).to(dev)
    ids[:, 0] = 101
    mask = torch.ones(b, s, dtype=torch.long, device=dev)
    labels = torch.randint(0, 2, (b,), generator=g).to(dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def autocast():
        if args.autocast == "bf16":
            return torch.autocast(device_type=dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step():
        body.train(); head.train()
        with autocast():
            h = body(input_ids=ids, attention_mask=mask).last_hidden_state
            loss = torch.nn.functional.cross_entropy(head(h[:, 0]), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def eval_forward():
        body.eval(); head.eval()
        with torch.no_grad(), autocast():
            h = body(input_ids=ids, attention_mask=mask).last_hidden_state
            return head(h[:, 0])

    fn = train_step if args.kind == "train_step" else eval_forward
    for _ in range(args.warmup):
        fn()
    sync()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "kind": args.kind, "model": os.path.basename(os.path.normpath(args.model)),
        "batch": b, "seq": s, "median_s": med, "seq_per_s": b / med, "tokens_per_s": b * s / med,
        "repeat": args.repeat, "peak_rss_mb": rss_mb, "autocast": args.autocast,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/all-MiniLM-L6-v2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seqs", default="32,64,128")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--autocast", choices=["off", "bf16"], default="off")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--kind", default="train_step", help=argparse.SUPPRESS)
    ap.add_argument("--seq", type=int, default=32, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args)))
        return
    import torch
    results = []
    configs = [("train_step", int(s)) for s in args.seqs.split(",")] + [("eval_forward", 32)]
    for kind, seq in configs:
        cmd = [sys.executable, __file__, "--one", "--kind", kind, "--seq", str(seq), "--model", args.model,
               "--device", args.device, "--threads", str(args.threads), "--batch", str(args.batch),
               "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--autocast", args.autocast]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        results.append(r)
        print(f"pytorch {kind:12s} batch {r['batch']:3d} seq {seq:4d}: {r['seq_per_s']:8.1f} seq/s "
              f"{r['tokens_per_s']:9.0f} tok/s  max RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    doc = {
        "tool": "pytorch", "version": torch.__version__, "backend": args.device,
        "autocast": args.autocast,
        "device": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
