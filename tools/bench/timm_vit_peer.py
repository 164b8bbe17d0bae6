#!/usr/bin/env python3
"""The peer of attune's Fashion-MNIST ViT: timm's VisionTransformer of the same size,
trained on the same schedule as tools/configs/fashion_mnist.json: a random 5000-image
validation hold-out, pixels normalised by the training set's mean and spread, random
crop after zero padding of the normalised image and horizontal flips (as attune's
augment), AdamW (decay on matrices only, as attune's optimizer), cosine schedule with
linear warm-up per step, gradient clipping at 1.0, bf16 autocast, the best epoch by
validation accuracy evaluated on the test set. Prints one JSON line of results.

usage: timm_vit_peer.py FASHION_DIR [--epochs N] [--seed S] [--pooling token|avg]
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F


def read_idx(path):
    data = Path(path).read_bytes()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def augment(x, padding, generator):
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), device=x.device, generator=generator)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (n, h)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (n, w)
    out = padded[torch.arange(n, device=x.device)[:, None, None], 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)
    flip = torch.rand(n, device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup-ratio", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pooling", default="token")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    dev = torch.device("cuda")
    d = Path(args.data)
    images = torch.from_numpy(read_idx(d / "train-images-idx3-ubyte").copy())
    labels = torch.from_numpy(read_idx(d / "train-labels-idx1-ubyte").astype(np.int64))
    test_x = torch.from_numpy(read_idx(d / "t10k-images-idx3-ubyte").copy())
    test_y = torch.from_numpy(read_idx(d / "t10k-labels-idx1-ubyte").astype(np.int64))
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(args.seed))
    valid_idx, train_idx = order[:5000], order[5000:]
    train_x, train_y = images[train_idx], labels[train_idx]
    valid_x, valid_y = images[valid_idx], labels[valid_idx]
    pixels = train_x.double() / 255.0
    mean, std = pixels.mean().item(), pixels.std().item()

    def to_input(x):
        return ((x.to(dev).float() / 255.0 - mean) / std).unsqueeze(1)

    model = timm.models.vision_transformer.VisionTransformer(
        img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=192, depth=6, num_heads=3, mlp_ratio=4.0,
        qkv_bias=True, global_pool=args.pooling, class_token=True).to(dev)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, fused=True)
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = round(args.warmup_ratio * total)

    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    gen = torch.Generator(device=dev).manual_seed(args.seed)
    gx, gy = train_x.to(dev), train_y.to(dev)

    @torch.no_grad()
    def accuracy(x, y):
        model.eval()
        correct = 0
        for i in range(0, len(x), 512):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(to_input(x[i:i + 512]))
            correct += (logits.argmax(1).cpu() == y[i:i + 512]).sum().item()
        model.train()
        return correct / len(x)

    best, best_state = -1.0, None
    torch.cuda.synchronize()
    start = time.time()
    train_seconds = 0.0
    for epoch in range(args.epochs):
        t0 = time.time()
        perm = torch.randperm(len(gx), device=dev, generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            x = augment(((gx[idx].float() / 255.0 - mean) / std).unsqueeze(1), 2, gen)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x).float(), gy[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        torch.cuda.synchronize()
        train_seconds += time.time() - t0
        acc = accuracy(valid_x, valid_y)
        if acc > best:
            best = acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} valid accuracy {acc:.4f}", flush=True)
    model.load_state_dict(best_state)
    result = {"system": "timm", "variant": f"timm-{args.pooling}", "seed": args.seed, "parameters": params,
              "valid_accuracy": best, "test_accuracy": accuracy(test_x, test_y),
              "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.time() - start, 1),
              "train_images_per_second": round(len(train_x) * args.epochs / train_seconds, 1)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
