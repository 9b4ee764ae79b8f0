#!/usr/bin/env python3
"""Merges `porta bench --json` files (from any machines) and bench/pytorch_ref.py files into one
comparison: a markdown table on stdout (one row per figure, one column per backend/device) with
porta/PyTorch ratios for the training and eval steps, and optionally a PNG bar chart.

  tools/bench_compare.py bench/cpu.json bench/pytorch-cpu.json [--png bench/compare.png]
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        doc = json.load(f)
    cols = []
    if doc.get("tool") == "pytorch":
        label = f"pytorch {doc.get('version', '')} {doc.get('backend', '')}".strip()
        rows = {}
        for r in doc["results"]:
            key = f"{'train' if r['kind'] == 'train_step' else 'eval'} b{r['batch']} s{r['seq']}"
            rows[key] = (r["seq_per_s"], "seq/s")
        cols.append((label, rows, True))
    else:
        for b in doc.get("backends", []):
            label = f"porta {b['backend']}: {b['device']}"
            rows = {}
            for r in b["results"]:
                name = r["name"]
                if r["section"] in ("train_step", "eval_forward"):
                    # "train bert b32 s64" -> "train b32 s64", the key PyTorch rows use
                    kind = "train" if r["section"] == "train_step" else "eval"
                    name = f"{kind} b{r['batch']} s{r['seq']}"
                rows[name] = (r["value"], r["unit"])
            cols.append((label, rows, False))
    return cols


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--png", default=None, help="write a bar chart of the train/eval rows")
    args = ap.parse_args()
    cols = []
    for f in args.files:
        cols.extend(load(f))
    names = []
    for _, rows, _ in cols:
        for n in rows:
            if n not in names:
                names.append(n)
    torch_cols = [c for c in cols if c[2]]
    header = ["figure"] + [c[0] for c in cols]
    if torch_cols:
        header += [f"{c[0]} / {torch_cols[0][0]}" for c in cols if not c[2]]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in names:
        unit = next((rows[n][1] for _, rows, _ in cols if n in rows), "")
        cells = [f"{n} ({unit})"]
        for _, rows, _ in cols:
            cells.append(f"{rows[n][0]:.1f}" if n in rows else "")
        if torch_cols:
            ref = torch_cols[0][1].get(n)
            for _, rows, is_torch in cols:
                if is_torch:
                    continue
                cells.append(f"{rows[n][0] / ref[0]:.2f}x" if ref and n in rows and ref[0] else "")
        print("| " + " | ".join(cells) + " |")
    if args.png:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no PNG", file=sys.stderr)
            return
        step_rows = [n for n in names if n.startswith(("train ", "eval "))]
        fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(step_rows)), 4))
        width = 0.8 / max(1, len(cols))
        for i, (label, rows, _) in enumerate(cols):
            xs = [j + i * width for j in range(len(step_rows))]
            ax.bar(xs, [rows.get(n, (0, ""))[0] for n in step_rows], width, label=label)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(step_rows))])
        ax.set_xticklabels(step_rows)
        ax.set_ylabel("sequences / s")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print(f"wrote {args.png}", file=sys.stderr)


if __name__ == "__main__":
    main()
