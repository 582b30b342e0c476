"""Obviously-correct loops the segmentation tests compare against (slow; for small inputs only)."""

import math

import torch


def counts_loop(pred, target, num_classes, ignore_index=None):
    """Per class: (intersection, |pred = c|, |target = c|) over the pixels of Python lists."""
    inter, size_p, size_t = [0] * num_classes, [0] * num_classes, [0] * num_classes
    for p, t in zip(pred.reshape(-1).tolist(), target.reshape(-1).tolist()):
        if t == ignore_index:
            continue
        size_p[p] += 1
        size_t[t] += 1
        inter[t] += p == t
    return inter, size_p, size_t


def iou_loop(pred, target, num_classes, ignore_index=None):
    """IoU per class as Python floats, NaN for a class absent from both maps."""
    inter, size_p, size_t = counts_loop(pred, target, num_classes, ignore_index)
    return [i / (a + b - i) if a + b > 0 else math.nan for i, a, b in zip(inter, size_p, size_t)]


def dice_loop(pred, target, num_classes, ignore_index=None):
    """Dice per class as Python floats, NaN for a class absent from both maps."""
    inter, size_p, size_t = counts_loop(pred, target, num_classes, ignore_index)
    return [2 * i / (a + b) if a + b > 0 else math.nan for i, a, b in zip(inter, size_p, size_t)]


def dice_loss_loop(logits, target, eps=1.0, ignore_background=False, ignore_index=None):
    """Soft Dice loss pixel by pixel: softmax written out with exp, sums accumulated per class."""
    N, K = logits.shape[:2]
    inter, size_p, size_t = [0.0] * K, [0.0] * K, [0.0] * K
    flat, labels = logits.reshape(N, K, -1), target.reshape(N, -1)
    for n in range(N):
        for j in range(flat.shape[2]):
            t = int(labels[n, j])
            if t == ignore_index:
                continue
            e = [torch.exp(flat[n, c, j]) for c in range(K)]
            total = sum(e)
            for c in range(K):
                p = e[c] / total
                size_p[c] = size_p[c] + p
                if c == t:
                    inter[c] = inter[c] + p
                    size_t[c] += 1
    classes = range(1, K) if ignore_background else range(K)
    dice = [(2 * inter[c] + eps) / (size_p[c] + size_t[c] + eps) for c in classes]
    return 1 - sum(dice) / len(dice)
