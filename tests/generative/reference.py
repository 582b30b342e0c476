"""Obviously-correct references the generative tests compare against (slow; for small inputs only).

Masks written as the rule in words ("rows above the centre, and left of it on its row"), the
input gradient of one output pixel by autograd, and the pixels an output can reach, composed
layer by layer from the masks' offsets with Python sets.
"""

import torch


def mask_loop(k, mask_type):
    """The k x k raster-order mask as nested lists: 1 above the centre row, left of the centre on it."""
    c = k // 2
    return [[1.0 if a < c or (a == c and b < c) or (a == c and b == c and mask_type == "B") else 0.0
             for b in range(k)] for a in range(k)]


def offsets(mask):
    """The (row, column) offsets from an output to the inputs a 2-D 0/1 mask keeps."""
    rows, cols = len(mask), len(mask[0])
    return [(a - rows // 2, b - cols // 2) for a in range(rows) for b in range(cols) if mask[a][b]]


def shift(positions, offs):
    return {(i + di, j + dj) for i, j in positions for di, dj in offs}


def pixelcnn_reach(i, j, kernel_size, block_kernel_size, num_layers, H, W):
    """The input pixels PixelCNN's output at (i, j) can depend on: masks composed through the layers."""
    s = {(i, j)}                                            # the 1x1 head reads the top features at (i, j)
    for _ in range(num_layers):                             # h + convB(relu(h)): identity and the mask B
        s = s | shift(s, offsets(mask_loop(block_kernel_size, "B")))
    s = shift(s, offsets(mask_loop(kernel_size, "A")))
    return {(a, b) for a, b in s if 0 <= a < H and 0 <= b < W}


def gated_reach(i, j, kernel_size, num_layers, H, W):
    """The same for the gated PixelCNN: h reads h (1 x k), v (k x k via the link) and itself (residual)."""
    k = kernel_size
    full = [[1.0] * k for _ in range(k)]
    hs, vs = {(i, j)}, set()
    for layer in range(num_layers, 0, -1):                  # from the top layer down to the image
        t = "A" if layer == 1 else "B"
        v_mask = [row if (a < k // 2 or (a == k // 2 and t == "B")) else [0.0] * k for a, row in enumerate(full)]
        h_mask = [mask_loop(k, t)[k // 2]]
        new_h = shift(hs, offsets(h_mask)) | (hs if layer > 1 else set())
        vs = shift(vs | hs, offsets(v_mask))
        hs = new_h
    return {(a, b) for a, b in hs | vs if 0 <= a < H and 0 <= b < W}


def input_gradient(model, x, i, j, channel=None, labels=None):
    """d(sum of the logits at (i, j) [of one colour]) / d x, by autograd: a tensor like x."""
    x = x.clone().requires_grad_()
    logits = model(x) if labels is None else model(x, labels)
    out = logits[:, :, ..., i, j] if channel is None else logits[:, channel, ..., i, j]
    (grad,) = torch.autograd.grad(out.sum(), x)
    return grad


def randomise(model, std=0.3, seed=0):
    """Every parameter drawn from N(0, std) (class embeddings too), so no test relies on an init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
    return model
