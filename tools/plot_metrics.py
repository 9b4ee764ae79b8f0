#!/usr/bin/env python3
"""Plots a run's metrics.jsonl (porta train or tools/train_pytorch.py): training loss and learning
rate by step, and valid accuracy / precision / recall / F1 by epoch, into <run>/metrics.png.

    python3 tools/plot_metrics.py runs/20250101-120000 [--out plot.png] [--compare runs/pytorch]

Needs matplotlib; without it, prints a text summary instead (and exits 0)."""
import argparse
import json
import os
import sys


def read(run):
    path = run if run.endswith(".jsonl") else os.path.join(run, "metrics.jsonl")
    steps, evals = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "memory" in rec:  # the run's peaks, written once at its end
                continue
            (evals if "split" in rec else steps).append(rec)
    return path, steps, evals


def smooth(values, window):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def summary(name, steps, evals):
    print(f"{name}: {len(steps)} steps", end="")
    if steps:
        print(f", loss {steps[0]['loss']:.4f} -> {steps[-1]['loss']:.4f}", end="")
        rates = [s["seq_per_s"] for s in steps[1:]] or [steps[0]["seq_per_s"]]
        print(f", median {sorted(rates)[len(rates) // 2]:.1f} seq/s", end="")
    print()
    for e in evals:
        print(f"  {e['split']:5} epoch {e['epoch'] + 1}: accuracy {e['accuracy']:.4f} precision {e['precision']:.4f} "
              f"recall {e['recall']:.4f} F1 {e['f1']:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="run folder (or a metrics.jsonl)")
    ap.add_argument("--out", help="PNG path (default: <run>/metrics.png)")
    ap.add_argument("--compare", help="a second run drawn in the same axes (e.g. tools/train_pytorch.py's)")
    ap.add_argument("--smooth", type=int, default=20, help="moving-average window of the loss curve (20)")
    args = ap.parse_args()
    runs = [args.run] + ([args.compare] if args.compare else [])
    data = [(r,) + read(r)[1:] for r in runs]
    for r, steps, evals in data:
        summary(r, steps, evals)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return 0
    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax_lr = ax_loss.twinx()
    for i, (r, steps, evals) in enumerate(data):
        label = os.path.basename(os.path.normpath(r))
        x = [s["step"] for s in steps]
        loss = [s["loss"] for s in steps]
        ax_loss.plot(x, loss, alpha=0.25, color=f"C{i}")
        ax_loss.plot(x, smooth(loss, args.smooth), color=f"C{i}", label=f"{label} loss")
        if i == 0:
            ax_lr.plot(x, [s["lr"] for s in steps], color="gray", linestyle=":", label="lr")
        valid = [e for e in evals if e["split"] == "valid"]
        for k, metric in enumerate(["accuracy", "precision", "recall", "f1"]):
            ax_eval.plot([e["epoch"] + 1 for e in valid], [e[metric] for e in valid], marker="o",
                         color=f"C{k}", linestyle="-" if i == 0 else "--", label=f"{label} {metric}")
        for e in evals:
            if e["split"] == "test":
                ax_eval.scatter([e["epoch"] + 1], [e["f1"]], marker="*", s=120, color=f"C{4 + i}",
                                label=f"{label} test F1 {e['f1']:.3f}")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    ax_lr.set_ylabel("learning rate")
    ax_loss.legend(loc="upper right")
    ax_eval.set_xlabel("epoch")
    ax_eval.set_ylabel("valid metric")
    ax_eval.legend(fontsize=8)
    ax_eval.grid(alpha=0.3)
    fig.tight_layout()
    out = args.out or os.path.join(args.run if os.path.isdir(args.run) else os.path.dirname(args.run), "metrics.png")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
