#!/usr/bin/env python3
"""Writes tests/data/optim/optim.txt: reference numbers from PyTorch for tests/test_optim.c.

- AdamW (torch.optim.AdamW, foreach=False): two parameters, weight decay on the first only (two
  param groups), three steps with given gradients and a per-step learning rate; then a second
  run with beta1 < 0.5 (the other branch of torch's lerp for exp_avg) and 37 elements (vector
  widths 8 and 16 plus a tail).
- SGD with momentum and weight decay (torch.optim.SGD): three steps.
- clip_grad_norm_ (torch.nn.utils.clip_grad_norm_): the total norm and clipped gradients, once
  clipping and once not.
- get_linear_schedule_with_warmup (transformers): the learning rate at steps 0..12.

Format: one record per line, "name count v1 v2 ..." with float32 values printed with 9
significant digits (exact round trip). Run from the repository root:
    python3 tools/gen_optim_fixture.py
"""
import os

import torch
from transformers import get_linear_schedule_with_warmup

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "optim", "optim.txt")


def values(t):
    return [float(v) for v in t.detach().reshape(-1).to(torch.float32).tolist()]


def main():
    g = torch.Generator().manual_seed(1234)
    lines = []

    def put(name, vals):
        lines.append(f"{name} {len(vals)} " + " ".join(f"{v:.9g}" for v in vals))

    # ---- AdamW --------------------------------------------------------------------------------
    p0 = torch.randn(3, 4, generator=g)
    p1 = torch.randn(5, generator=g)
    put("adamw_p0_init", values(p0))
    put("adamw_p1_init", values(p1))
    p0 = p0.clone().requires_grad_(True)
    p1 = p1.clone().requires_grad_(True)
    opt = torch.optim.AdamW(
        [{"params": [p0], "weight_decay": 0.01}, {"params": [p1], "weight_decay": 0.0}],
        lr=1e-2, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    lrs = [1e-2, 5e-3, 2e-3]
    put("adamw_lr", lrs)
    for step, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        g0 = torch.randn(3, 4, generator=g)
        g1 = torch.randn(5, generator=g) * 0.1
        put(f"adamw_g0_step{step}", values(g0))
        put(f"adamw_g1_step{step}", values(g1))
        p0.grad = g0.clone()
        p1.grad = g1.clone()
        opt.step()
        put(f"adamw_p0_step{step}", values(p0))
        put(f"adamw_p1_step{step}", values(p1))
    for name, p in (("adamw_p0", p0), ("adamw_p1", p1)):
        put(f"{name}_exp_avg", values(opt.state[p]["exp_avg"]))
        put(f"{name}_exp_avg_sq", values(opt.state[p]["exp_avg_sq"]))

    # ---- AdamW, beta1 < 0.5 ---------------------------------------------------------------------
    g2 = torch.Generator().manual_seed(5678)  # its own stream: the records below stay as they were
    r = torch.randn(37, generator=g2)
    put("adamw2_init", values(r))
    r = r.clone().requires_grad_(True)
    opt = torch.optim.AdamW([r], lr=3e-2, betas=(0.3, 0.95), eps=1e-6, weight_decay=0.1,
                            foreach=False)
    lrs = [3e-2, 2e-2, 1e-2]
    put("adamw2_lr", lrs)
    for step, lr in enumerate(lrs):
        opt.param_groups[0]["lr"] = lr
        gr = torch.randn(37, generator=g2)
        put(f"adamw2_g_step{step}", values(gr))
        r.grad = gr.clone()
        opt.step()
        put(f"adamw2_p_step{step}", values(r))
    put("adamw2_exp_avg", values(opt.state[r]["exp_avg"]))
    put("adamw2_exp_avg_sq", values(opt.state[r]["exp_avg_sq"]))

    # ---- SGD with momentum ---------------------------------------------------------------------
    q = torch.randn(6, generator=g)
    put("sgd_init", values(q))
    q = q.clone().requires_grad_(True)
    sgd = torch.optim.SGD([q], lr=0.1, momentum=0.9, weight_decay=0.01, foreach=False)
    for step in range(3):
        gq = torch.randn(6, generator=g)
        put(f"sgd_g_step{step}", values(gq))
        q.grad = gq.clone()
        sgd.step()
        put(f"sgd_p_step{step}", values(q))

    # ---- clip_grad_norm_ -----------------------------------------------------------------------
    for name, max_norm in (("clip", 1.0), ("noclip", 100.0)):
        a = torch.zeros(4, 3, requires_grad=True)
        b = torch.zeros(7, requires_grad=True)
        a.grad = torch.randn(4, 3, generator=g)
        b.grad = torch.randn(7, generator=g) * 2
        put(f"{name}_ga", values(a.grad))
        put(f"{name}_gb", values(b.grad))
        total = torch.nn.utils.clip_grad_norm_([a, b], max_norm)
        put(f"{name}_max_norm", [max_norm])
        put(f"{name}_total", [float(total)])
        put(f"{name}_ga_after", values(a.grad))
        put(f"{name}_gb_after", values(b.grad))

    # ---- linear warm-up / decay ----------------------------------------------------------------
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    sched = get_linear_schedule_with_warmup(dummy, num_warmup_steps=3, num_training_steps=10)
    put("lr_linear_w3_t10_base1e-3", [1e-3 * sched.lr_lambdas[0](s) for s in range(13)])

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# generated by tools/gen_optim_fixture.py (torch %s)\n" % torch.__version__)
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.normpath(OUT), len(lines), "records")


if __name__ == "__main__":
    main()
