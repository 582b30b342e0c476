"""The registry of graded assignments and their mutants, read by the generic grading checks.

A new assignment adds one :class:`Assignment` entry to ``ASSIGNMENTS``, nothing else: the checks
of ``test_registry.py`` (fast) and ``test_grading.py`` (the real nbgrader) then cover it.

Each :class:`Mutant` is a plausible wrong answer to one graded function: exact text replacements
in that function's solution cell (each ``old`` text must occur exactly once, so a mutant can
neither silently become the solution nor change more than intended), and the test cells
(grade_ids) that must then lose points. A mutant is graded as a student whose id is the mutant's
id, in the same ``nbgrader autograde`` run as the solution and the broken submissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mutant:
    id: str  # the student id it is graded under: lower case, digits and "-"
    cell: str  # grade_id of the solution cell it changes
    replace: tuple[tuple[str, str], ...]  # (old, new) exact replacements in that cell's source
    loses: tuple[str, ...]  # grade_ids of the test cells that must score below full marks
    why: str  # the mistake, in words


@dataclass(frozen=True)
class Assignment:
    name: str  # folder under solutions/ and exercises/
    notebook: str  # notebook file name in that folder
    total_points: float
    functions: tuple[tuple[str, str], ...]  # (solution grade_id, exact signature from the course spec)
    mutants: tuple[Mutant, ...] = field(default_factory=tuple)
    # Graded functions the book adds beyond the course spec: questions on the chapter's ideas
    # (sparse interactions, receptive fields, ...), answered by code. (solution grade_id, signature)
    questions: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def notebook_id(self) -> str:
        return self.notebook.removesuffix(".ipynb")

    @property
    def graded(self) -> tuple[tuple[str, str], ...]:
        """Every graded function: those of the course spec, then the added questions."""
        return self.functions + self.questions


def mutant(id: str, cell: str, why: str, *replace: tuple[str, str], loses: tuple[str, ...] | None = None) -> Mutant:
    """A mutant of solution cell ``cell`` that loses ``loses`` (default: that cell's own test, ``test_<cell>``)."""
    return Mutant(id, cell, tuple(replace), loses if loses is not None else (f"test_{cell}",), why)


# ----------------------------------------------------------------------------------------------
# 01 Convolution
# ----------------------------------------------------------------------------------------------

_IM2COL_BY_OFFSET = """    slices = [xp[:, :, m:m + stride * (H_out - 1) + 1:stride, k:k + stride * (W_out - 1) + 1:stride]
              for m in range(f) for k in range(f)]
    cols = torch.stack(slices, dim=2)  # (N, C, f*f, H_out, W_out)
    return cols.reshape(N, C * f * f, H_out * W_out)"""
_IM2COL_BY_PIXEL = """    windows = [xp[:, :, i * stride:i * stride + f, j * stride:j * stride + f].reshape(N, C * f * f)
               for i in range(H_out) for j in range(W_out)]
    return torch.stack(windows, dim=2)  # (N, C*f*f, L), one Python step per output pixel"""

_MATRIX_ZEROS = "    M = torch.zeros(C_out, H_out, W_out, C_in, H, W, dtype=w.dtype, device=w.device)"
_MATRIX_BY_UNIT_IMAGES = """    from torch.nn.functional import conv2d as conv2d_pytorch
    unit_images = torch.eye(C_in * H * W, dtype=w.dtype, device=w.device).reshape(-1, C_in, H, W)
    out = {conv}(unit_images, w, torch.zeros(C_out, dtype=w.dtype), stride=stride, padding=padding)
    out = out[0] if isinstance(out, tuple) else out  # (C_in*H*W, C_out, H_out, W_out): column by column
    return out.reshape(C_in * H * W, C_out * H_out * W_out).T
"""

CONVOLUTION = Assignment(
    name="01-convolution",
    notebook="convolution.ipynb",
    total_points=26,
    functions=(
        ("zero_pad", "zero_pad(x, p)"),
        ("pad2d", "pad2d(x, p, mode)"),
        ("conv_output_size", "conv_output_size(n, f, p=0, s=1, d=1)"),
        ("conv_single_step", "conv_single_step(patch, w, b)"),
        ("conv2d_forward", "conv2d_forward(x, w, b, stride=1, padding=0, dilation=1)"),
        ("conv2d_backward", "conv2d_backward(dout, cache)"),
        ("pool2d_forward", "pool2d_forward(x, f, stride, mode='max')"),
        ("pool2d_backward", "pool2d_backward(dout, cache)"),
        ("im2col", "im2col(x, f, stride, padding)"),
        ("conv2d_im2col", "conv2d_im2col(x, w, b, stride, padding)"),
        ("count_params_dense", "count_params_dense(in_features, units)"),
        ("count_params_conv", "count_params_conv(f, c_in, n_filters)"),
    ),
    questions=(
        ("conv_as_matrix", "conv_as_matrix(w, H, W, stride=1, padding=0)"),
    ),
    mutants=(
        mutant("pad-channel-axis", "zero_pad", "padding applied to the channel axis too",
               ("torch.zeros(N, C, H + 2 * p", "torch.zeros(N, C + 2 * p, H + 2 * p"),
               ("out[:, :, p:p + H, p:p + W] = x", "out[:, p:p + C, p:p + H, p:p + W] = x")),
        mutant("zero-pad-calls-f-pad", "zero_pad", "calls F.pad instead of writing the padding",
               ("    out[:, :, p:p + H, p:p + W] = x\n    return out", "    return torch.nn.functional.pad(x, (p, p, p, p))")),
        mutant("reflect-as-replicate", "pad2d", "reflect repeats the edge pixel (that is replicate)",
               ("i = i.abs()  # reflect\n        return torch.where(i > n - 1, 2 * (n - 1) - i, i)",
                "return i.clamp(0, n - 1)  # reflect (wrong: repeats the edge)")),
        mutant("pad2d-imports-pad", "pad2d", "calls PyTorch's pad, imported under another name when the cell runs",
               ("def pad2d(x, p, mode):", "from torch.nn.functional import pad as library_pad\n\n\ndef pad2d(x, p, mode):"),
               ('    if mode == "zeros":\n        return zero_pad(x, p)',
                '    return library_pad(x, (p, p, p, p), mode="constant" if mode == "zeros" else mode)')),
        mutant("pad2d-calls-cnnlib", "pad2d", "calls the book's library instead of writing the padding",
               ('    if mode == "zeros":\n        return zero_pad(x, p)',
                '    import cnnlib.ops\n    return cnnlib.ops.pad2d(x, p, mode)')),
        mutant("size-ceil", "conv_output_size", "ceil instead of floor",
               ("return (n + 2 * p - d * (f - 1) - 1) // s + 1", "return math.ceil((n + 2 * p - d * (f - 1) - 1) / s) + 1")),
        mutant("size-no-dilation", "conv_output_size", "dilation ignored",
               ("return (n + 2 * p - d * (f - 1) - 1) // s + 1", "return (n + 2 * p - f) // s + 1")),
        mutant("single-step-no-bias", "conv_single_step", "bias forgotten",
               ("return (patch * w).sum() + b", "return (patch * w).sum()")),
        mutant("forward-flipped-kernel", "conv2d_forward", "true convolution (kernel flipped) instead of correlation",
               ('torch.einsum("nchw,ochw->no", patch, w)', 'torch.einsum("nchw,ochw->no", patch, w.flip(-1, -2))')),
        mutant("forward-calls-aten", "conv2d_forward", "reaches the convolution kernel through torch.ops.aten, past the function-level guard",
               ("    xp = zero_pad(x, padding)\n",
                "    return (torch.ops.aten.convolution(x, w, b, [stride] * 2, [padding] * 2, [dilation] * 2, False, [0, 0], 1),\n"
                "            (x, w, b, stride, padding, dilation))\n")),
        mutant("forward-disables-torch-function", "conv2d_forward", "calls torch.conv2d inside DisableTorchFunction, which hides it from a TorchFunctionMode",
               ("    xp = zero_pad(x, padding)\n",
                "    with torch._C.DisableTorchFunction():\n"
                "        return torch.conv2d(x, w, b, stride, padding, dilation), (x, w, b, stride, padding, dilation)\n")),
        mutant("forward-calls-conv2d", "conv2d_forward", "calls PyTorch's conv2d (imported when the cell runs) instead of the loops",
               ("def conv2d_forward(", "from torch.nn.functional import conv2d\n\n\ndef conv2d_forward("),
               ("    xp = zero_pad(x, padding)\n",
                "    return conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation), (x, w, b, stride, padding, dilation)\n")),
        mutant("backward-db-mean", "conv2d_backward", "db averaged instead of summed",
               ("db = dout.sum(dim=(0, 2, 3))", "db = dout.mean(dim=(0, 2, 3))")),
        mutant("backward-dx-overwrites", "conv2d_backward", "overlapping windows overwrite dx instead of adding up",
               ("dxp[window] += torch.einsum", "dxp[window] = torch.einsum")),
        mutant("backward-uses-autograd", "conv2d_backward", "autograd through the forward pass instead of the formulas",
               ("    xp = zero_pad(x, padding)\n",
                "    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))\n"
                "    conv2d_forward(x, w, b, stride, padding, dilation)[0].backward(dout)\n"
                "    return x.grad, w.grad, b.grad\n")),
        mutant("avg-pool-divides-by-f", "pool2d_forward", "average divided by f instead of f*f",
               ("window.sum(dim=(2, 3)) / (f * f)", "window.sum(dim=(2, 3)) / f")),
        mutant("pool-forward-calls-max-pool2d", "pool2d_forward", "calls PyTorch's pooling functions",
               ("    N, C, H, W = x.shape\n",
                "    pool = torch.max_pool2d if mode == \"max\" else torch.nn.AvgPool2d(f, stride)\n"
                "    return (pool(x, f, stride) if mode == \"max\" else pool(x)), (x, f, stride, mode)\n")),
        mutant("max-pool-backward-to-all", "pool2d_backward", "max-pool gradient sent to every cell of the window",
               ("mask = window == window.amax(dim=(2, 3), keepdim=True)", "mask = torch.ones_like(window)")),
        mutant("avg-pool-backward-no-divide", "pool2d_backward", "avg-pool gradient not divided by f*f",
               ("dx[:, :, rows, cols] += g / (f * f)", "dx[:, :, rows, cols] += g")),
        mutant("pool-backward-uses-autograd", "pool2d_backward", "autograd through the forward pass instead of routing by hand",
               ("    dx = torch.zeros_like(x)\n",
                "    x = x.detach().requires_grad_()\n"
                "    return torch.autograd.grad(pool2d_forward(x, f, stride, mode)[0], x, dout)[0]\n")),
        mutant("im2col-kernel-major", "im2col", "rows ordered kernel offset first instead of channel first",
               ("cols = torch.stack(slices, dim=2)", "cols = torch.stack(slices, dim=1)")),
        mutant("im2col-calls-c-nn", "im2col", "calls the im2col kernel as torch._C._nn.im2col, past the function-level guard",
               ("    xp = zero_pad(x, padding)\n",
                "    return torch._C._nn.im2col(x, (f, f), (1, 1), (padding, padding), (stride, stride))\n")),
        mutant("im2col-calls-unfold", "im2col", "calls nn.Unfold instead of building the columns",
               ("    xp = zero_pad(x, padding)\n",
                "    return torch.nn.Unfold(f, padding=padding, stride=stride)(x)\n")),
        mutant("im2col-loops-over-pixels", "im2col", "a Python loop over the output pixels",
               (_IM2COL_BY_OFFSET, _IM2COL_BY_PIXEL)),
        mutant("im2col-conv-no-bias", "conv2d_im2col", "bias forgotten",
               ("@ cols + b.reshape(1, -1, 1)", "@ cols")),
        mutant("conv2d-im2col-calls-conv2d", "conv2d_im2col", "calls torch.conv2d instead of im2col and a matmul",
               ("    cols = im2col(x, f, stride, padding)  # (N, C*f*f, L)\n",
                "    return torch.conv2d(x, w, b, stride, padding)\n")),
        mutant("dense-no-bias", "count_params_dense", "biases not counted",
               ("return (in_features + 1) * units", "return in_features * units")),
        mutant("conv-params-no-bias", "count_params_conv", "biases not counted",
               ("return f * f * c_in * n_filters + n_filters", "return f * f * c_in * n_filters")),
        mutant("matrix-flipped-kernel", "conv_as_matrix", "true convolution (kernel flipped) instead of correlation",
               ("= w[:, :, m, k]", "= w[:, :, kH - 1 - m, kW - 1 - k]")),
        mutant("matrix-padding-not-subtracted", "conv_as_matrix", "tap (m, k) of output (i, j) placed at pixel (i*s + m, j*s + k) of the unpadded image",
               ("i * stride + m - padding, j * stride + k - padding", "i * stride + m, j * stride + k")),
        mutant("matrix-values-as-numbers", "conv_as_matrix", "kernel values copied as Python numbers: M is not differentiable in w",
               ("= w[:, :, m, k]", "= torch.tensor(w[:, :, m, k].tolist(), dtype=w.dtype)")),
        mutant("matrix-from-unit-images", "conv_as_matrix", "M read off the student's own conv2d_forward run on unit images",
               (_MATRIX_ZEROS, _MATRIX_BY_UNIT_IMAGES.format(conv="conv2d_forward") + _MATRIX_ZEROS)),
        mutant("matrix-conv2d-on-unit-images", "conv_as_matrix", "M read off PyTorch's conv2d run on unit images",
               (_MATRIX_ZEROS, _MATRIX_BY_UNIT_IMAGES.format(conv="conv2d_pytorch") + _MATRIX_ZEROS)),
    ),
)

# ----------------------------------------------------------------------------------------------
# 02 CNN architectures
# ----------------------------------------------------------------------------------------------

_TRAIN_WITH_CNNLIB_FIT = """    import cnnlib.train
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    h = cnnlib.train.fit(model, train_loader, val_loader, epochs, optimizer, progress=False)
    return {"train_loss": h.train_loss, "val_acc": h.val_acc}
"""

ARCHITECTURES = Assignment(
    name="02-architectures",
    notebook="architectures.ipynb",
    total_points=21,
    functions=(
        # A class is checked by its constructor's signature (without self).
        ("LeNet5", "LeNet5(num_classes=10)"),
        ("train_classifier", "train_classifier(model, train_loader, val_loader, epochs, lr)"),
        ("ResidualBlock", "ResidualBlock(c_in, c_out, stride=1)"),
        ("DepthwiseSeparableConv", "DepthwiseSeparableConv(c_in, c_out, stride=1)"),
        ("count_params", "count_params(module)"),
        ("InvertedResidual", "InvertedResidual(c_in, c_out, stride, expand_ratio)"),
        ("grad_cam", "grad_cam(model, x, target_class, layer)"),
    ),
    questions=(
        ("receptive_field", "receptive_field(layers)"),
    ),
    mutants=(
        mutant("lenet-no-padding", "LeNet5", "conv1 without padding (fc1 then reads 16 x 4 x 4 features)",
               ("nn.Conv2d(1, 6, kernel_size=5, padding=2)", "nn.Conv2d(1, 6, kernel_size=5)"),
               ("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 4 * 4, 120)")),
        mutant("lenet-average-pooling", "LeNet5", "average pooling after conv1 instead of max pooling",
               ("x = F.max_pool2d(F.relu(self.conv1(x)), 2)", "x = F.avg_pool2d(F.relu(self.conv1(x)), 2)")),
        mutant("train-no-zero-grad", "train_classifier", "never calls optimizer.zero_grad(): gradients accumulate",
               ("            optimizer.zero_grad()\n", "")),
        mutant("train-no-step", "train_classifier", "never calls optimizer.step(): nothing is learnt",
               ("            optimizer.step()\n", "")),
        mutant("train-validates-in-train-mode", "train_classifier", "validation without model.eval()",
               ("        model.eval()\n", "")),
        mutant("train-mode-set-once", "train_classifier", "model.train() once before the loop: epochs after the first train in eval mode",
               ("    for epoch in range(epochs):\n        model.train()\n", "    model.train()\n    for epoch in range(epochs):\n")),
        mutant("train-loss-summed", "train_classifier", "train_loss is the sum of the batch losses, not their mean",
               ('history["train_loss"].append(total_loss / seen)', 'history["train_loss"].append(total_loss)')),
        mutant("train-calls-cnnlib-fit", "train_classifier", "calls the book's cnnlib.train.fit instead of writing the loop",
               ("    device = next(model.parameters()).device\n", _TRAIN_WITH_CNNLIB_FIT)),
        mutant("resblock-identity-shortcut", "ResidualBlock", "no projection shortcut: always adds x itself",
               ("if stride != 1 or c_in != c_out:", "if False:")),
        mutant("resblock-shortcut-without-bn", "ResidualBlock", "projection shortcut without its batch norm",
               ("nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))",
                "nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))")),
        mutant("resblock-relu-before-add", "ResidualBlock", "ReLU on the residual branch before the addition, none after",
               ("out = self.bn2(self.conv2(out))\n        return F.relu(out + self.shortcut(x))",
                "out = F.relu(self.bn2(self.conv2(out)))\n        return out + self.shortcut(x)")),
        mutant("dsconv-no-groups", "DepthwiseSeparableConv", "depthwise conv without groups: a full 3x3 conv",
               (", groups=c_in, bias=False)", ", bias=False)")),
        mutant("dsconv-no-relu-after-depthwise", "DepthwiseSeparableConv", "no ReLU between depthwise and pointwise",
               ("x = F.relu(self.bn1(self.depthwise(x)))", "x = self.bn1(self.depthwise(x))")),
        mutant("count-trainable-only", "count_params", "counts only the trainable parameters",
               ("for p in module.parameters())", "for p in module.parameters() if p.requires_grad)")),
        mutant("count-tied-twice", "count_params", "counts a shared (tied) parameter once per use",
               ("p.numel() for p in module.parameters())", "p.numel() for _, p in module.named_parameters(remove_duplicate=False))")),
        mutant("ir-residual-when-strided", "InvertedResidual", "adds the input also when stride is 2",
               ("self.use_residual = stride == 1 and c_in == c_out", "self.use_residual = c_in == c_out")),
        mutant("ir-relu6-after-projection", "InvertedResidual", "ReLU6 after the projection (no linear bottleneck)",
               ("nn.BatchNorm2d(c_out)]", "nn.BatchNorm2d(c_out), nn.ReLU6()]")),
        mutant("ir-relu-not-relu6", "InvertedResidual", "ReLU instead of ReLU6 after the depthwise conv",
               ("nn.BatchNorm2d(hidden), nn.ReLU6(),\n", "nn.BatchNorm2d(hidden), nn.ReLU(),\n")),
        mutant("gradcam-no-relu", "grad_cam", "no ReLU on the weighted sum: negative evidence kept",
               ("cam = F.relu((alpha * A).sum(dim=1, keepdim=True))", "cam = (alpha * A).sum(dim=1, keepdim=True)")),
        mutant("gradcam-after-softmax", "grad_cam", "gradient of the softmax probability instead of the score",
               ("torch.autograd.grad(scores[0, target_class], A)",
                "torch.autograd.grad(scores.softmax(dim=1)[0, target_class], A)")),
        mutant("gradcam-hook-left-on", "grad_cam", "the forward hook is never removed",
               ("    finally:\n        handle.remove()\n", "    finally:\n        pass\n")),
        mutant("gradcam-no-spatial-mean", "grad_cam", "weights each position by its own gradient instead of the channel's mean",
               ("alpha = grads.mean(dim=(2, 3), keepdim=True)", "alpha = grads")),
        mutant("rf-ignores-stride", "receptive_field", "every layer adds d(k-1), whatever the strides below it",
               ("r += d * (k - 1) * jump", "r += d * (k - 1)")),
        mutant("rf-ignores-dilation", "receptive_field", "a dilated kernel counted as spanning k units",
               ("r += d * (k - 1) * jump", "r += (k - 1) * jump")),
        mutant("rf-own-stride", "receptive_field", "the growth multiplied by the layer's own stride, not by the product of the strides below",
               ("r += d * (k - 1) * jump", "r += d * (k - 1) * s")),
        mutant("rf-calls-cnnlib", "receptive_field", "returns the book's cnnlib.ops.receptive_field instead of computing it",
               ("    r, jump = 1, 1", "    import cnnlib.ops\n    return cnnlib.ops.receptive_field(layers)[-1].size if layers else 1\n    r, jump = 1, 1")),
        mutant("gradcam-calls-cnnlib", "grad_cam", "returns the book's cnnlib.interpret.grad_cam instead of writing it",
               ("    captured = {}\n",
                "    import cnnlib.interpret\n    return cnnlib.interpret.grad_cam(model, x, target_class, layer)[0]\n")),
    ),
)

# ----------------------------------------------------------------------------------------------
# 03 Object detection
# ----------------------------------------------------------------------------------------------

_IOU_BROADCAST = """    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # (N, M, 2), 0 where the boxes do not overlap
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))"""
_IOU_BY_BOX = """    rows = []
    for b in boxes1:  # one Python step per box of boxes1
        wh = (torch.minimum(b[2:], boxes2[:, 2:]) - torch.maximum(b[:2], boxes2[:, :2])).clamp(min=0)  # (M, 2)
        inter = wh[:, 0] * wh[:, 1]
        union = (b[2] - b[0]) * (b[3] - b[1]) + (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1]) - inter
        rows.append(torch.where(union > 0, inter / union, torch.zeros_like(inter)))
    return torch.stack(rows) if rows else boxes1.new_zeros(0, len(boxes2))"""
_CENTRE_TO_CORNERS = "cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2"
_AP_MATCH = """candidates = iou[k].masked_fill(matched, -1.0)  # a ground truth already used cannot match again
        g = int(candidates.argmax())
        hit = bool(candidates[g] >= iou_threshold)"""
_AP_MATCH_VOC = """candidates = iou[k]
        g = int(candidates.argmax())  # the best ground truth, whether used up or not
        hit = bool(candidates[g] >= iou_threshold) and not bool(matched[g])"""

_FC_WEIGHT = "linear.weight.reshape(out_features, in_channels, k, k)"

DETECTION = Assignment(
    name="03-detection",
    notebook="detection.ipynb",
    total_points=23,
    functions=(
        ("box_iou", "box_iou(boxes1, boxes2)"),
        ("xywh_to_xyxy", "xywh_to_xyxy(boxes)"),
        ("xyxy_to_xywh", "xyxy_to_xywh(boxes)"),
        ("nms", "nms(boxes, scores, iou_threshold)"),
        ("yolo_filter_boxes", "yolo_filter_boxes(box_confidence, boxes, class_probs, threshold)"),
        ("yolo_encode", "yolo_encode(boxes, labels, grid_size, anchors, num_classes)"),
        ("yolo_decode", "yolo_decode(pred, anchors, conf_threshold)"),
        ("yolo_loss", "yolo_loss(pred, target, lambda_coord=5.0, lambda_noobj=0.5)"),
        ("average_precision", "average_precision(pred_boxes, pred_scores, gt_boxes, iou_threshold=0.5)"),
    ),
    questions=(
        ("fc_to_conv", "fc_to_conv(linear, in_channels, kernel_size)"),
    ),
    mutants=(
        mutant("iou-no-clamp", "box_iou", "negative overlaps not clamped to zero (disjoint boxes get an area)",
               ("wh = (bottom_right - top_left).clamp(min=0)  # (N, M, 2), 0 where the boxes do not overlap",
                "wh = bottom_right - top_left  # (N, M, 2)")),
        mutant("iou-plus-one-pixel", "box_iou", "the +1 pixel convention for widths and heights",
               ("(boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])",
                "(boxes1[:, 2] - boxes1[:, 0] + 1) * (boxes1[:, 3] - boxes1[:, 1] + 1)"),
               ("(boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])",
                "(boxes2[:, 2] - boxes2[:, 0] + 1) * (boxes2[:, 3] - boxes2[:, 1] + 1)"),
               ("(bottom_right - top_left).clamp(min=0)", "(bottom_right - top_left + 1).clamp(min=0)")),
        mutant("iou-nan-for-zero-area", "box_iou", "0/0 = NaN for two zero-area boxes",
               ("return torch.where(union > 0, inter / union, torch.zeros_like(inter))", "return inter / union")),
        mutant("iou-loops-over-boxes", "box_iou", "a Python loop over the boxes instead of broadcasting",
               (_IOU_BROADCAST, _IOU_BY_BOX)),
        mutant("iou-calls-cnnlib", "box_iou", "calls the book's library instead of computing the IoU",
               ("    if not boxes1.is_floating_point():\n",
                "    import cnnlib.detection.boxes\n    return cnnlib.detection.boxes.box_iou(boxes1, boxes2)\n"
                "    if not boxes1.is_floating_point():\n")),
        mutant("xywh-full-size", "xywh_to_xyxy", "w/2 and h/2 forgotten: corners a whole width from the centre",
               (_CENTRE_TO_CORNERS, "cx - w, cy - h, cx + w, cy + h")),
        mutant("xyxy-centre-brackets", "xyxy_to_xywh", "x1 + x2 / 2: the centre without brackets",
               ("(x1 + x2) / 2, (y1 + y2) / 2", "x1 + x2 / 2, y1 + y2 / 2")),
        mutant("xyxy-height-before-width", "xyxy_to_xywh", "b_h before b_w, in the order of the lectures' vector",
               ("x2 - x1, y2 - y1), dim=-1)", "y2 - y1, x2 - x1), dim=-1)")),
        mutant("nms-suppresses-at-threshold", "nms", "suppresses at IoU >= threshold instead of >",
               ("suppressed |= iou[i] > iou_threshold", "suppressed |= iou[i] >= iou_threshold")),
        mutant("nms-unsorted", "nms", "goes through the boxes in input order, not by score",
               ("order = torch.sort(scores, descending=True, stable=True).indices", "order = torch.arange(len(scores))")),
        mutant("nms-suppressed-boxes-suppress", "nms", "a suppressed box still suppresses the boxes after it",
               ("        if suppressed[i]:\n            continue\n        keep.append(i)\n",
                "        if not suppressed[i]:\n            keep.append(i)\n")),
        mutant("filter-keeps-at-threshold", "yolo_filter_boxes", "keeps scores >= threshold instead of >",
               ("keep = scores > threshold", "keep = scores >= threshold")),
        mutant("filter-forgets-confidence", "yolo_filter_boxes", "scores are the class probabilities, without p_c",
               ("class_scores = box_confidence * class_probs", "class_scores = class_probs")),
        mutant("encode-ignores-anchors", "yolo_encode", "assigns the cell but always anchor 0",
               ("a = int((inter / (w * h + anchor_area - inter)).argmax())", "a = 0")),
        mutant("encode-centre-in-image", "yolo_encode", "b_x, b_y relative to the image instead of the cell",
               ("x * S - j, y * S - i", "x, y")),
        mutant("encode-rows-columns-swapped", "yolo_encode", "the row from x and the column from y",
               ("i, j = min(int(y * S), S - 1), min(int(x * S), S - 1)",
                "i, j = min(int(x * S), S - 1), min(int(y * S), S - 1)")),
        mutant("encode-size-of-image", "yolo_encode", "b_w, b_h as fractions of the image, not relative to the anchor",
               ("w / wa, h / ha", "w, h")),
        mutant("encode-later-box-wins", "yolo_encode", "the later of two boxes on one cell and anchor wins, not the larger",
               ("        if area_in_slot.get((i, j, a), -1.0) >= w * h:\n            continue  # a box at least as large holds this slot already\n", "")),
        mutant("decode-ignores-anchors", "yolo_decode", "b_w, b_h used as sizes without the anchor's size",
               ("p[..., 3] * anchor_w, p[..., 4] * anchor_h", "p[..., 3], p[..., 4]")),
        mutant("decode-no-cell-offset", "yolo_decode", "the cell offset (j, i) not added to b_x, b_y",
               ("x = (cols + p[..., 1]) / S", "x = p[..., 1] / S"), ("y = (rows + p[..., 2]) / S", "y = p[..., 2] / S")),
        mutant("decode-rows-columns-swapped", "yolo_decode", "x from the row index and y from the column index",
               ("(cols + p[..., 1])", "(rows + p[..., 1])"), ("(rows + p[..., 2])", "(cols + p[..., 2])")),
        mutant("loss-no-sqrt", "yolo_loss", "squared errors of w and h instead of their square roots",
               ("(p[:, 3:5].sqrt() - t[:, 3:5].sqrt())", "(p[:, 3:5] - t[:, 3:5])")),
        mutant("loss-no-lambda-noobj", "yolo_loss", "the no-object confidence term not weighted by lambda_noobj",
               ("lambda_noobj * conf_noobj", "conf_noobj")),
        mutant("loss-counts-empty-predictors", "yolo_loss", "box and class errors counted where p_c = 0 ('don't care')",
               ("p, t = pred[obj], target[obj]  # (n_obj, 5 + K)",
                "p, t = pred.reshape(-1, pred.shape[-1]), target.reshape(-1, target.shape[-1])  # every predictor")),
        mutant("ap-no-envelope", "average_precision", "the raw precision at each recall step instead of its envelope",
               ("envelope = precision.flip(0).cummax(0).values.flip(0)", "envelope = precision")),
        mutant("ap-matches-a-ground-truth-twice", "average_precision", "a ground truth can be matched again",
               ("candidates = iou[k].masked_fill(matched, -1.0)", "candidates = iou[k]")),
        mutant("ap-unsorted", "average_precision", "detections matched in input order, not by score",
               ("order = torch.sort(pred_scores, descending=True, stable=True).indices", "order = torch.arange(len(pred_scores))")),
        mutant("ap-strict-threshold", "average_precision", "IoU > iou_threshold instead of >= for a true positive",
               ("candidates[g] >= iou_threshold", "candidates[g] > iou_threshold")),
        mutant("ap-voc-matching", "average_precision", "PASCAL devkit matching (best ground truth, used or not) instead of the best unused one",
               (_AP_MATCH, _AP_MATCH_VOC)),
        mutant("fc-conv-channels-last", "fc_to_conv", "weights read as if flattened channels last, (k, k, C)",
               (_FC_WEIGHT, "linear.weight.reshape(out_features, k, k, in_channels).permute(0, 3, 1, 2)")),
        mutant("fc-conv-window-transposed", "fc_to_conv", "rows and columns of each window swapped",
               (_FC_WEIGHT, f"{_FC_WEIGHT}.transpose(2, 3)")),
        mutant("fc-conv-bias-dropped", "fc_to_conv", "the bias not copied: the conv keeps its random initial bias",
               ("            conv.bias.copy_(linear.bias)\n", "            pass\n")),
        mutant("fc-conv-shares-memory", "fc_to_conv", "the conv's weight is a view of the linear layer's: changing one changes the other",
               (f"conv.weight.copy_({_FC_WEIGHT})", f"conv.weight = torch.nn.Parameter({_FC_WEIGHT})")),
    ),
)

# ----------------------------------------------------------------------------------------------
# 04 Segmentation and restoration
# ----------------------------------------------------------------------------------------------

_DOUBLE_CONV = """        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
"""
_IOU_DATASET = """    p = pred.reshape(1, -1) == classes  # (K, P): pixel predicted as class c, P = every pixel of every image
    t = target.reshape(1, -1) == classes  # (K, P): pixel of class c
    inter = (p & t).sum(dim=1).double()  # (K,)
    union = (p | t).sum(dim=1).double()  # (K,)
    return inter / union  # 0 / 0 = NaN for a class absent from both"""
_IOU_PER_IMAGE = """    p = pred.reshape(len(pred), 1, -1) == classes  # (N, K, H*W)
    t = target.reshape(len(target), 1, -1) == classes  # (N, K, H*W)
    inter = (p & t).sum(dim=2).double()  # (N, K)
    union = (p | t).sum(dim=2).double()  # (N, K)
    return (inter / union).nanmean(dim=0)  # the mean of each image's IoU, over the images that have the class"""
_WINDOW_DRAW = """    top, left = (i - 2).clamp(min=0), (j - 2).clamp(min=0)
    R = (i + 2).clamp(max=H - 1) - top + 1  # (M,)
    Q = (j + 2).clamp(max=W - 1) - left + 1  # (M,)
    # a pixel of the window other than the centre: one of the R * Q - 1 others, numbered row by row
    u = torch.rand(len(n), generator=generator, device=x.device, dtype=torch.float64)
    k = (u * (R * Q - 1)).long()  # 0 ... R * Q - 2
    centre = (i - top) * Q + (j - left)
    k = k + (k >= centre).long()  # skip the centre
    i2, j2 = top + k // Q, left + k % Q  # (M,): the source pixels"""
_CLAMPED_OFFSETS = """    offsets = torch.tensor([(a, b) for a in range(-2, 3) for b in range(-2, 3) if (a, b) != (0, 0)], device=x.device)
    pick = offsets[torch.randint(0, 24, (len(n),), generator=generator, device=x.device)]  # (M, 2)
    i2, j2 = (i + pick[:, 0]).clamp(0, H - 1), (j + pick[:, 1]).clamp(0, W - 1)  # clamped into the image"""
_MASK_BY_PIXEL = """    masked = x.clone()
    for a in range(len(n)):  # one Python step per masked pixel
        masked[n[a], c[a], i[a], j[a]] = x[n[a], c[a], i2[a], j2[a]]
    return masked, mask"""

SEGMENTATION = Assignment(
    name="04-segmentation",
    notebook="segmentation.ipynb",
    total_points=17,
    functions=(
        ("conv_transpose_output_size", "conv_transpose_output_size(n, f, s=1, p=0, output_padding=0)"),
        ("double_conv", "double_conv(c_in, c_out)"),
        ("UNet", "UNet(in_channels, num_classes, base=16, depth=3)"),
        ("pixel_accuracy", "pixel_accuracy(pred, target)"),
        ("iou_per_class", "iou_per_class(pred, target, num_classes)"),
        ("dice_coefficient", "dice_coefficient(pred, target, eps=1e-06)"),  # 1e-6, as ast.unparse writes it
        ("blind_spot_mask", "blind_spot_mask(x, ratio, generator)"),
    ),
    mutants=(
        mutant("tsize-no-output-padding", "conv_transpose_output_size", "output_padding ignored",
               (" + output_padding + 1", " + 1")),
        mutant("tsize-single-padding", "conv_transpose_output_size", "the padding removed from one side only: -p instead of -2p",
               ("- 2 * p", "- p")),
        mutant("tsize-conv-rule", "conv_transpose_output_size", "the output-size rule of the convolution, not of its transpose",
               ("return (n - 1) * s - 2 * p + (f - 1) + output_padding + 1", "return (n + 2 * p - f) // s + 1")),
        mutant("tsize-padding-before-stride", "conv_transpose_output_size", "stride and padding read in the order of conv_output_size(n, f, p, s)",
               ("(n - 1) * s - 2 * p", "(n - 1) * p - 2 * s")),
        mutant("tsize-runs-conv-transpose", "conv_transpose_output_size", "runs a transposed convolution and reads off its size",
               ("    return (n - 1) * s - 2 * p + (f - 1) + output_padding + 1",
                "    out = F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p,\n"
                "                             output_padding=output_padding)\n"
                "    return out.shape[-1]")),
        mutant("dconv-no-batchnorm", "double_conv", "no batch norm (and still no bias)",
               (_DOUBLE_CONV, _DOUBLE_CONV.replace("        nn.BatchNorm2d(c_out),\n", ""))),
        mutant("dconv-one-conv", "double_conv", "one convolution instead of two",
               (_DOUBLE_CONV, _DOUBLE_CONV.split("        nn.Conv2d(c_out")[0])),
        mutant("dconv-with-bias", "double_conv", "convolutions with a bias in front of the batch norms",
               (_DOUBLE_CONV, _DOUBLE_CONV.replace("bias=False", "bias=True"))),
        mutant("dconv-relu-before-bn", "double_conv", "ReLU before the batch norm",
               (_DOUBLE_CONV, _DOUBLE_CONV.replace("        nn.BatchNorm2d(c_out),\n        nn.ReLU(),\n",
                                                   "        nn.ReLU(),\n        nn.BatchNorm2d(c_out),\n"))),
        mutant("dconv-no-padding", "double_conv", "unpadded convolutions, as in the paper: the map shrinks",
               (_DOUBLE_CONV, _DOUBLE_CONV.replace("padding=1, ", ""))),
        mutant("dconv-calls-cnnlib", "double_conv", "returns the book's cnnlib.segmentation.double_conv",
               ("    return nn.Sequential(\n", "    import cnnlib.segmentation\n    return cnnlib.segmentation.double_conv(c_in, c_out)\n    return nn.Sequential(\n")),
        mutant("unet-skips-added", "UNet", "the skip added to the upsampled map instead of concatenated",
               ("double_conv(2 * widths[k], widths[k])", "double_conv(widths[k], widths[k])"),
               ("conv(torch.cat([skip, up(h)], dim=1))", "conv(skip + up(h))")),
        mutant("unet-no-skips", "UNet", "no skip connections: an encoder-decoder",
               ("double_conv(2 * widths[k], widths[k])", "double_conv(widths[k], widths[k])"),
               ("conv(torch.cat([skip, up(h)], dim=1))", "conv(up(h))")),
        mutant("unet-upsampled-first", "UNet", "concatenated in the other order: upsampled map first, then the skip",
               ("torch.cat([skip, up(h)], dim=1)", "torch.cat([up(h), skip], dim=1)")),
        mutant("unet-plain-list", "UNet", "the down stages in a plain Python list: their parameters are not registered",
               ("self.downs = nn.ModuleList(double_conv(widths[k - 1], widths[k]) for k in range(1, depth + 1))",
                "self.downs = [double_conv(widths[k - 1], widths[k]) for k in range(1, depth + 1)]")),
        mutant("unet-no-head-bias", "UNet", "the 1x1 head without its bias",
               ("nn.Conv2d(widths[0], num_classes, kernel_size=1)", "nn.Conv2d(widths[0], num_classes, kernel_size=1, bias=False)")),
        mutant("unet-calls-cnnlib", "UNet", "wraps the book's cnnlib.segmentation.UNet",
               ("        widths = [base * 2 ** k for k in range(depth + 1)]  # channels of levels 0 ... depth\n",
                "        import cnnlib.segmentation\n        self.book = cnnlib.segmentation.UNet(in_channels, num_classes, base, depth)\n"
                "        return\n"),
               ("        levels = [self.inc(x)]", "        return self.book(x)\n        levels = [self.inc(x)]")),
        mutant("acc-foreground-only", "pixel_accuracy", "counts only the pixels whose target is not background",
               ("return (pred == target).double().mean().item()", "return (pred == target)[target > 0].double().mean().item()")),
        mutant("acc-integer-division", "pixel_accuracy", "integer division of the count of equal pixels",
               ("return (pred == target).double().mean().item()", "return (pred == target).sum().item() // pred.numel()")),
        mutant("iou-per-image-mean", "iou_per_class", "the mean of the images' IoUs instead of the IoU of the data set",
               (_IOU_DATASET, _IOU_PER_IMAGE)),
        mutant("iou-absent-as-zero", "iou_per_class", "a class absent from both maps scores 0 instead of NaN",
               ("    return inter / union  #", "    return torch.nan_to_num(inter / union, nan=0.0)  #")),
        mutant("iou-absent-as-one", "iou_per_class", "a class absent from both maps scores 1 instead of NaN",
               ("    return inter / union  #", "    return torch.where(union > 0, inter / union, torch.ones_like(union))  #")),
        mutant("iou-union-as-sum", "iou_per_class", "the union counted as |P| + |T|, the intersection twice",
               ("union = (p | t).sum(dim=1).double()", "union = (p.sum(dim=1) + t.sum(dim=1)).double()")),
        mutant("iou-calls-cnnlib", "iou_per_class", "returns the book's cnnlib.segmentation.iou_per_class",
               ("    classes = torch.arange(", "    import cnnlib.segmentation\n    return cnnlib.segmentation.iou_per_class(pred, target, num_classes)\n    classes = torch.arange(")),
        mutant("dice-no-factor-2", "dice_coefficient", "the factor 2 forgotten",
               ("(2 * (a * b).sum() /", "((a * b).sum() /")),
        mutant("dice-as-iou", "dice_coefficient", "the IoU formula |A and B| / |A or B| instead of Dice",
               ("(2 * (a * b).sum() / (a.sum() + b.sum() + eps))", "((a * b).sum() / (a.sum() + b.sum() - (a * b).sum() + eps))")),
        mutant("dice-ignores-eps", "dice_coefficient", "eps fixed at 1e-6 whatever the argument",
               ("+ b.sum() + eps)", "+ b.sum() + 1e-6)")),
        mutant("dice-calls-cnnlib", "dice_coefficient", "returns the book's cnnlib.segmentation.dice_coefficient",
               ("    a, b = pred.double(), target.double()\n",
                "    import cnnlib.segmentation\n    return cnnlib.segmentation.dice_coefficient(pred, target, eps).item()\n")),
        mutant("mask-may-pick-itself", "blind_spot_mask", "the source drawn from the whole window, centre included: a masked pixel may keep its value",
               ("k = (u * (R * Q - 1)).long()  # 0 ... R * Q - 2", "k = (u * (R * Q)).long()  # 0 ... R * Q - 1"),
               ("    k = k + (k >= centre).long()  # skip the centre\n", "")),
        mutant("mask-fills-zero", "blind_spot_mask", "masked pixels set to 0 instead of a neighbour's value",
               ("masked[n, c, i, j] = x[n, c, i2, j2]", "masked[n, c, i, j] = 0")),
        mutant("mask-in-place", "blind_spot_mask", "writes into x itself instead of a copy",
               ("masked = x.clone()", "masked = x")),
        mutant("mask-global-rng", "blind_spot_mask", "the mask drawn from the global random generator, not from generator",
               ("torch.rand(x.shape, generator=generator, device=x.device)", "torch.rand(x.shape, device=x.device)")),
        mutant("mask-clamped-offsets", "blind_spot_mask", "a random offset clamped into the image: at the border it can land on the pixel itself",
               (_WINDOW_DRAW, _CLAMPED_OFFSETS)),
        mutant("mask-3x3-window", "blind_spot_mask", "a 3x3 window instead of 5x5",
               ("(i - 2).clamp(min=0), (j - 2).clamp(min=0)", "(i - 1).clamp(min=0), (j - 1).clamp(min=0)"),
               ("(i + 2).clamp(max=H - 1)", "(i + 1).clamp(max=H - 1)"), ("(j + 2).clamp(max=W - 1)", "(j + 1).clamp(max=W - 1)")),
        mutant("mask-loops-over-pixels", "blind_spot_mask", "a Python loop over the masked pixels",
               ("    masked = x.clone()\n    masked[n, c, i, j] = x[n, c, i2, j2]\n    return masked, mask", _MASK_BY_PIXEL)),
        mutant("mask-calls-cnnlib", "blind_spot_mask", "returns the book's cnnlib.restoration.blind_spot_mask",
               ("    N, C, H, W = x.shape\n", "    import cnnlib.restoration\n    return cnnlib.restoration.blind_spot_mask(x, ratio, generator)\n")),
    ),
)


# ----------------------------------------------------------------------------------------------
# 06 Generative models: PixelCNN and GANs
# ----------------------------------------------------------------------------------------------

_RASTER_LOOPS = """        for i in range(H):  # raster order: row by row,
            for j in range(W):  # left to right,"""
_COLUMN_LOOPS = """        for j in range(W):  # column by column (wrong: not raster order),
            for i in range(H):  # top to bottom,"""
_DRAW = "(u[:, c, i, j] < torch.sigmoid(logits[:, c, i, j]))"
_ONE_PASS = """    with torch.no_grad():
        logits = model(x)  # one pass on the blank canvas: every pixel drawn independently
        for i in range(H):"""

GENERATIVE = Assignment(
    name="06-generative",
    notebook="generative.ipynb",
    total_points=13,
    functions=(
        ("causal_mask", "causal_mask(kernel_size, mask_type)"),
        ("MaskedConv2d", "MaskedConv2d(c_in, c_out, kernel_size, mask_type)"),
        ("bits_per_dim", "bits_per_dim(nll_nats, num_dims)"),
        ("sample_pixelcnn", "sample_pixelcnn(model, n, shape, generator)"),
        ("discriminator_loss", "discriminator_loss(d_real_logits, d_fake_logits)"),
        ("generator_loss", "generator_loss(d_fake_logits)"),
    ),
    mutants=(
        mutant("cmask-types-swapped", "causal_mask", "types A and B swapped: A reads the centre, B does not",
               ('float(mask_type == "B")', 'float(mask_type == "A")'), loses=("test_causal_mask", "test_MaskedConv2d")),
        mutant("cmask-row-below-open", "causal_mask", "the row just below the centre left unmasked (off by one)",
               ("mask[c + 1:] = 0", "mask[c + 2:] = 0"), loses=("test_causal_mask", "test_MaskedConv2d")),
        mutant("cmask-centre-row-right-open", "causal_mask", "the centre row right of the centre left unmasked",
               ("    mask[c, c + 1:] = 0  # the centre row, right of the centre\n", ""),
               loses=("test_causal_mask", "test_MaskedConv2d")),
        mutant("cmask-transposed", "causal_mask", "column-major causality: the columns left of the centre and the pixels above it",
               ("    return mask\n", "    return mask.T.contiguous()\n"), loses=("test_causal_mask", "test_MaskedConv2d")),
        mutant("cmask-even-size-accepted", "causal_mask", "an even kernel_size accepted (it has no centre)",
               (" or kernel_size % 2 == 0:", ":")),
        mutant("cmask-calls-cnnlib", "causal_mask", "returns the book's cnnlib.generative.causal_mask",
               ("    c = kernel_size // 2  # the centre\n",
                "    import cnnlib.generative\n    return cnnlib.generative.causal_mask(kernel_size, mask_type)\n"),
               loses=("test_causal_mask", "test_MaskedConv2d")),
        mutant("mconv-masked-at-init-only", "MaskedConv2d", "the weights masked once in __init__, the plain convolution in forward",
               ('        self.register_buffer("mask", causal_mask(kernel_size, mask_type))  # (k, k), the same for every channel pair\n',
                '        self.register_buffer("mask", causal_mask(kernel_size, mask_type))\n'
                "        with torch.no_grad():\n            self.weight *= self.mask  # masked once, at initialisation\n"),
               ("F.conv2d(x, self.weight * self.mask, self.bias", "F.conv2d(x, self.weight, self.bias")),
        mutant("mconv-mask-attribute", "MaskedConv2d", "the mask a plain tensor attribute, not a buffer: it stays behind on .to(device)",
               ('self.register_buffer("mask", causal_mask(kernel_size, mask_type))', "self.mask = causal_mask(kernel_size, mask_type)")),
        mutant("mconv-mask-parameter", "MaskedConv2d", "the mask an nn.Parameter: the optimiser trains it",
               ('self.register_buffer("mask", causal_mask(kernel_size, mask_type))',
                "self.mask = nn.Parameter(causal_mask(kernel_size, mask_type))")),
        mutant("mconv-no-padding", "MaskedConv2d", "no padding: the output shrinks and is shifted",
               ("super().__init__(c_in, c_out, kernel_size, padding=kernel_size // 2)", "super().__init__(c_in, c_out, kernel_size)")),
        mutant("mconv-always-type-a", "MaskedConv2d", "mask_type ignored: mask A in every layer",
               ("causal_mask(kernel_size, mask_type)", 'causal_mask(kernel_size, "A")')),
        mutant("mconv-calls-cnnlib", "MaskedConv2d", "wraps the book's cnnlib.generative.MaskedConv2d",
               ('        self.register_buffer("mask", causal_mask(kernel_size, mask_type))  # (k, k), the same for every channel pair\n',
                "        import cnnlib.generative\n"
                "        self.book = cnnlib.generative.MaskedConv2d(c_in, c_out, kernel_size, mask_type)\n"
                '        self.weight, self.bias = self.book.weight, self.book.bias\n        self.register_buffer("mask", self.book.mask)\n'),
               ("        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)",
                "        return self.book(x)")),
        mutant("bpd-nats-per-dim", "bits_per_dim", "nats per dimension: not converted to bits",
               ("/ (num_dims * math.log(2))", "/ num_dims")),
        mutant("bpd-times-ln2", "bits_per_dim", "multiplied by ln 2 instead of divided",
               ("float(nll_nats) / (num_dims * math.log(2))", "float(nll_nats) * math.log(2) / num_dims")),
        mutant("bpd-log2-of-nll", "bits_per_dim", "log base 2 taken of the NLL itself instead of converting its unit",
               ("float(nll_nats) / (num_dims * math.log(2))", "math.log2(float(nll_nats)) / num_dims")),
        mutant("bpd-per-image", "bits_per_dim", "not divided by the number of dimensions: bits per image",
               ("/ (num_dims * math.log(2))", "/ math.log(2)")),
        mutant("bpd-calls-cnnlib", "bits_per_dim", "returns the book's cnnlib.generative.bits_per_dim",
               ("    return float(nll_nats)", "    import cnnlib.generative\n    return cnnlib.generative.bits_per_dim(nll_nats, num_dims)\n    return float(nll_nats)")),
        mutant("sample-column-order", "sample_pixelcnn", "pixels drawn column by column instead of row by row",
               (_RASTER_LOOPS, _COLUMN_LOOPS)),
        mutant("sample-argmax", "sample_pixelcnn", "the most likely value (sigmoid > 1/2) instead of a draw",
               (_DRAW, "(logits[:, c, i, j] > 0)")),
        mutant("sample-draws-wrong-side", "sample_pixelcnn", "1 where u > p: each pixel is 1 with probability 1 - p",
               (_DRAW, "(u[:, c, i, j] > torch.sigmoid(logits[:, c, i, j]))")),
        mutant("sample-global-rng", "sample_pixelcnn", "the uniforms drawn from the global generator, not from generator",
               ("torch.rand((n, C, H, W), generator=generator, ", "torch.rand((n, C, H, W), ")),
        mutant("sample-one-pass", "sample_pixelcnn", "one forward pass on the blank canvas: independent pixels, not autoregressive",
               ("    with torch.no_grad():\n        for i in range(H):", _ONE_PASS),
               ("                    logits = model(x)  # (n, C, H, W): a full forward pass on the canvas so far\n", "")),
        mutant("sample-training-mode", "sample_pixelcnn", "the model left in training mode (dropout on)",
               ("    model.eval()\n", "")),
        mutant("sample-calls-cnnlib", "sample_pixelcnn", "returns the book's cnnlib.generative.sample_pixelcnn",
               ("    C, H, W = shape\n", "    import cnnlib.generative\n    return cnnlib.generative.sample_pixelcnn(model, n, shape, generator)\n")),
        mutant("dloss-labels-swapped", "discriminator_loss", "real images labelled 0 and generated ones 1",
               ("F.binary_cross_entropy_with_logits(d_real_logits, torch.ones_like(d_real_logits))",
                "F.binary_cross_entropy_with_logits(d_real_logits, torch.zeros_like(d_real_logits))"),
               ("F.binary_cross_entropy_with_logits(d_fake_logits, torch.zeros_like(d_fake_logits))",
                "F.binary_cross_entropy_with_logits(d_fake_logits, torch.ones_like(d_fake_logits))")),
        mutant("dloss-log-sigmoid", "discriminator_loss", "log of sigmoid: -inf and NaN gradients for confident logits",
               ("    return real + fake",
                "    return -torch.log(torch.sigmoid(d_real_logits)).mean() - torch.log(1 - torch.sigmoid(d_fake_logits)).mean()")),
        mutant("dloss-pooled-mean", "discriminator_loss", "one mean over the real and generated logits together",
               ("    return real + fake",
                "    logits = torch.cat([d_real_logits.flatten(), d_fake_logits.flatten()])\n"
                "    labels = torch.cat([torch.ones(d_real_logits.numel()), torch.zeros(d_fake_logits.numel())]).to(logits)\n"
                "    return F.binary_cross_entropy_with_logits(logits, labels)")),
        mutant("dloss-calls-cnnlib", "discriminator_loss", "returns the book's cnnlib.generative.discriminator_loss",
               ("    real = F.binary_cross_entropy_with_logits(",
                "    import cnnlib.generative\n    return cnnlib.generative.discriminator_loss(d_real_logits, d_fake_logits)\n"
                "    real = F.binary_cross_entropy_with_logits(")),
        mutant("gloss-saturating", "generator_loss", "the saturating minimax loss mean log(1 - D(G(z)))",
               ("return F.binary_cross_entropy_with_logits(d_fake_logits, torch.ones_like(d_fake_logits))",
                "return -F.binary_cross_entropy_with_logits(d_fake_logits, torch.zeros_like(d_fake_logits))")),
        mutant("gloss-fake-label", "generator_loss", "the generated images labelled 0, as in the discriminator's loss",
               ("torch.ones_like(d_fake_logits)", "torch.zeros_like(d_fake_logits)")),
        mutant("gloss-log-sigmoid", "generator_loss", "log of sigmoid: infinite for a confidently rejected image",
               ("return F.binary_cross_entropy_with_logits(d_fake_logits, torch.ones_like(d_fake_logits))",
                "return -torch.log(torch.sigmoid(d_fake_logits)).mean()")),
        mutant("gloss-calls-cnnlib", "generator_loss", "returns the book's cnnlib.generative.generator_loss",
               ("    return F.binary_cross_entropy_with_logits(",
                "    import cnnlib.generative\n    return cnnlib.generative.generator_loss(d_fake_logits)\n"
                "    return F.binary_cross_entropy_with_logits(")),
    ),
)


# ----------------------------------------------------------------------------------------------
# 05 Face recognition and neural style transfer
# ----------------------------------------------------------------------------------------------

_PDIST = """    sq = a.pow(2).sum(dim=1)[:, None] + b.pow(2).sum(dim=1)[None, :] - 2 * a @ b.T  # (N, M)
    return sq.clamp_min(0)"""
_PDIST_BY_ROW = """    rows = []
    for i in range(len(a)):  # one Python step per row of a
        rows.append((a[i] - b).pow(2).sum(dim=1))
    return torch.stack(rows)"""
_BH_BY_ANCHOR = """    losses = []
    for i in range(len(labels)):  # one Python step per anchor
        if keep[i]:
            losses.append(F.relu(hardest_positive[i] - hardest_negative[i] + margin))
    return torch.stack(losses).mean()"""
_STYLE_ONE_SIZE = """    N, C, H, W = a_g.shape
    f_s, f_g = a_s.reshape(N, C, -1), a_g.reshape(N, C, -1)
    G_s, G_g = f_s @ f_s.transpose(1, 2), f_g @ f_g.transpose(1, 2)  # unnormalised
    return ((G_s - G_g) ** 2).sum() / (2 * H * W * C) ** 2  # the generated image's size for both"""
_PDIST_LOSES = ("test_pairwise_sq_distances", "test_batch_hard_triplet_loss")  # batch-hard calls it
_ARCFACE_TARGET = "target = torch.where(cos_y >= math.cos(math.pi - m), with_margin, fallback)"

FACES_STYLE = Assignment(
    name="05-faces-style",
    notebook="faces_style.ipynb",
    total_points=23,
    functions=(
        ("pairwise_sq_distances", "pairwise_sq_distances(a, b)"),
        ("triplet_loss", "triplet_loss(anchor, positive, negative, margin=0.2)"),
        ("contrastive_loss", "contrastive_loss(a, b, same, margin=1.0)"),
        ("batch_hard_triplet_loss", "batch_hard_triplet_loss(embeddings, labels, margin=0.2)"),
        ("verify", "verify(query_emb, enrolled_emb, threshold)"),
        ("identify", "identify(query_emb, database, threshold)"),
        ("arcface_logits", "arcface_logits(embeddings, weight, labels, s=64.0, m=0.5)"),
        ("gram_matrix", "gram_matrix(features)"),
        ("content_cost", "content_cost(a_c, a_g)"),
        ("style_layer_cost", "style_layer_cost(a_s, a_g)"),
    ),
    mutants=(
        mutant("pdist-not-squared", "pairwise_sq_distances", "the Euclidean distance, not its square",
               ("return sq.clamp_min(0)", "return sq.clamp_min(0).sqrt()"),
               loses=_PDIST_LOSES),
        mutant("pdist-no-clamp", "pairwise_sq_distances", "the expansion not clamped at 0: rounding leaves negative squared distances",
               ("return sq.clamp_min(0)", "return sq")),
        mutant("pdist-cross-term-sign", "pairwise_sq_distances", "+ 2 a.b instead of - 2 a.b",
               ("- 2 * a @ b.T", "+ 2 * a @ b.T"),
               loses=_PDIST_LOSES),
        mutant("pdist-calls-cdist", "pairwise_sq_distances", "torch.cdist squared instead of writing the distance",
               (_PDIST, "    return torch.cdist(a, b).pow(2)"),
               loses=_PDIST_LOSES),
        mutant("pdist-loops-over-rows", "pairwise_sq_distances", "a Python loop over the rows of a",
               (_PDIST, _PDIST_BY_ROW),
               loses=_PDIST_LOSES),
        mutant("pdist-calls-cnnlib", "pairwise_sq_distances", "returns the book's cnnlib.metric_learning.pairwise_sq_distances",
               (_PDIST, "    import cnnlib.metric_learning\n    return cnnlib.metric_learning.pairwise_sq_distances(a, b)"),
               loses=_PDIST_LOSES),
        mutant("triplet-no-hinge", "triplet_loss", "no max(., 0): easy triplets keep pushing the negatives away",
               ("F.relu(d_ap - d_an + margin).mean()", "(d_ap - d_an + margin).mean()")),
        mutant("triplet-not-squared", "triplet_loss", "Euclidean distances instead of squared ones",
               ("d_ap = (anchor - positive).pow(2).sum(dim=1)", "d_ap = (anchor - positive).pow(2).sum(dim=1).sqrt()"),
               ("d_an = (anchor - negative).pow(2).sum(dim=1)", "d_an = (anchor - negative).pow(2).sum(dim=1).sqrt()")),
        mutant("triplet-sum", "triplet_loss", "the sum over the triplets instead of the mean",
               (".mean()", ".sum()")),
        mutant("triplet-margin-subtracted", "triplet_loss", "the margin subtracted instead of added",
               ("d_ap - d_an + margin", "d_ap - d_an - margin")),
        mutant("triplet-fixed-margin", "triplet_loss", "the margin fixed at 0.2 whatever the argument",
               ("d_ap - d_an + margin", "d_ap - d_an + 0.2")),
        mutant("triplet-calls-cnnlib", "triplet_loss", "returns the book's cnnlib.metric_learning.triplet_loss",
               ("    d_ap = (anchor", "    import cnnlib.metric_learning\n"
                "    return cnnlib.metric_learning.triplet_loss(anchor, positive, negative, margin)\n    d_ap = (anchor")),
        mutant("contrastive-labels-swapped", "contrastive_loss", "y = 1 read as different people: pulls strangers together",
               ("y = same.to(a.dtype)", "y = 1 - same.to(a.dtype)")),
        mutant("contrastive-no-hinge", "contrastive_loss", "(m - d) without max(0, .): pairs far apart still push",
               ("F.relu(margin - d)", "(margin - d)")),
        mutant("contrastive-not-squared", "contrastive_loss", "the Euclidean distance instead of the squared one",
               ("d = (a - b).pow(2).sum(dim=1)", "d = (a - b).pow(2).sum(dim=1).sqrt()")),
        mutant("contrastive-hinge-squared", "contrastive_loss", "the hinge squared again, max(0, m - d)^2",
               ("F.relu(margin - d)", "F.relu(margin - d).pow(2)")),
        mutant("contrastive-bool-arithmetic", "contrastive_loss", "labels used as given: 1 - y fails on bools",
               ("y = same.to(a.dtype)", "y = same")),
        mutant("contrastive-calls-cnnlib", "contrastive_loss", "returns the book's cnnlib.metric_learning.contrastive_loss",
               ("    y = same.to(a.dtype)", "    import cnnlib.metric_learning\n"
                "    return cnnlib.metric_learning.contrastive_loss(a, b, same, margin)\n    y = same.to(a.dtype)")),
        mutant("bh-easiest-negative", "batch_hard_triplet_loss", "the farthest negative (the easiest) instead of the nearest",
               ("d.masked_fill(~negative, math.inf).amin(dim=1)", "d.masked_fill(~negative, -math.inf).amax(dim=1)")),
        mutant("bh-nearest-positive", "batch_hard_triplet_loss", "the nearest positive (the easiest) instead of the farthest",
               ("d.masked_fill(~positive, -math.inf).amax(dim=1)", "d.masked_fill(~positive, math.inf).amin(dim=1)")),
        mutant("bh-anchor-own-positive", "batch_hard_triplet_loss", "the anchor counted as its own positive: people with one photo become anchors",
               ("positive, negative = same & ~itself, ~same", "positive, negative = same, ~same")),
        mutant("bh-mean-over-all-anchors", "batch_hard_triplet_loss", "the mean over every anchor, those without a triplet counted as 0",
               ("F.relu(hardest_positive[keep] - hardest_negative[keep] + margin).mean()",
                "F.relu(hardest_positive - hardest_negative + margin).sum() / len(labels)")),
        mutant("bh-loops-over-anchors", "batch_hard_triplet_loss", "a Python loop over the anchors",
               ("    return F.relu(hardest_positive[keep] - hardest_negative[keep] + margin).mean()", _BH_BY_ANCHOR)),
        mutant("bh-calls-cnnlib", "batch_hard_triplet_loss", "returns the book's cnnlib.metric_learning.batch_hard_triplet_loss",
               ("    d = pairwise_sq_distances(embeddings, embeddings)", "    import cnnlib.metric_learning\n"
                "    return cnnlib.metric_learning.batch_hard_triplet_loss(embeddings, labels, margin)\n"
                "    d = pairwise_sq_distances(embeddings, embeddings)")),
        mutant("verify-reversed", "verify", "the comparison reversed: far means the same person",
               ("distance <= threshold", "distance >= threshold")),
        mutant("verify-strict", "verify", "a distance at the threshold rejected (< instead of <=)",
               ("distance <= threshold", "distance < threshold")),
        mutant("verify-not-squared", "verify", "the Euclidean distance instead of the squared one",
               (".pow(2).sum().item()", ".pow(2).sum().sqrt().item()")),
        mutant("verify-calls-cnnlib", "verify", "wraps the book's cnnlib.metric_learning.verify",
               ("    distance = (query_emb - enrolled_emb).pow(2).sum().item()\n    return distance, distance <= threshold",
                "    import cnnlib.metric_learning\n"
                "    distance, is_same = cnnlib.metric_learning.verify(query_emb, enrolled_emb, threshold)\n"
                "    return distance.item(), bool(is_same)")),
        mutant("identify-never-none", "identify", "never answers 'not recognised': always names the nearest person",
               ("    if best > threshold:\n        return None, best  # not recognised\n", "")),
        mutant("identify-strict-threshold", "identify", "a distance at the threshold not recognised",
               ("if best > threshold:", "if best >= threshold:")),
        mutant("identify-mean-photo", "identify", "a person with several photos compared through their mean photo",
               ("d = (photos - query_emb).pow(2).sum(dim=1).min().item()", "d = (photos.mean(dim=0) - query_emb).pow(2).sum().item()")),
        mutant("identify-tie-to-last", "identify", "ties go to the person enrolled last",
               ("if d < best:", "if d <= best:")),
        mutant("identify-not-squared", "identify", "the Euclidean distance instead of the squared one",
               (".pow(2).sum(dim=1).min().item()", ".pow(2).sum(dim=1).sqrt().min().item()")),
        mutant("identify-calls-cnnlib", "identify", "returns the book's cnnlib.metric_learning.identify",
               ("    best_name, best = None, math.inf\n", "    import cnnlib.metric_learning\n"
                "    return cnnlib.metric_learning.identify(query_emb, database, threshold)\n")),
        mutant("arcface-margin-every-class", "arcface_logits", "the angular margin added to every class, not only the target",
               ("cos_y = cos.gather(1, labels[:, None])  # (N, 1): the target class's cosine", "cos_y = cos  # (N, K): every class"),
               ("return s * cos.scatter(1, labels[:, None], target)", "return s * target")),
        mutant("arcface-no-fallback", "arcface_logits", "cos(theta + m) everywhere, also beyond theta = pi - m",
               (_ARCFACE_TARGET, "target = with_margin")),
        mutant("arcface-easy-margin", "arcface_logits", "the 'easy margin' variant: no margin where cos(theta) <= 0",
               (_ARCFACE_TARGET, "target = torch.where(cos_y > 0, with_margin, cos_y)")),
        mutant("arcface-cosine-margin", "arcface_logits", "CosFace's margin cos(theta) - m instead of the angular one",
               ("with_margin = cos_y * math.cos(m) - sin_y * math.sin(m)", "with_margin = cos_y - m")),
        mutant("arcface-unnormalised-weight", "arcface_logits", "the class weights not normalised",
               ("F.normalize(weight, dim=1).T", "weight.T")),
        mutant("arcface-no-scale", "arcface_logits", "the scale s forgotten",
               ("return s * cos.scatter", "return cos.scatter")),
        mutant("arcface-calls-cnnlib", "arcface_logits", "returns the book's cnnlib.metric_learning.arcface_logits",
               ("    cos = F.normalize(embeddings", "    import cnnlib.metric_learning\n"
                "    return cnnlib.metric_learning.arcface_logits(embeddings, weight, labels, s, m)\n    cos = F.normalize(embeddings")),
        mutant("gram-not-normalised", "gram_matrix", "G = F F^T not divided by C H W",
               ("return f @ f.transpose(1, 2) / (C * H * W)", "return f @ f.transpose(1, 2)"),
               loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("gram-normalised-by-hw", "gram_matrix", "divided by H W only, not by C H W",
               ("/ (C * H * W)", "/ (H * W)"), loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("gram-not-transposed", "gram_matrix", "F F instead of F F^T",
               ("f @ f.transpose(1, 2)", "f @ f"), loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("gram-positions", "gram_matrix", "F^T F: positions against positions (HW x HW) instead of channels",
               ("f @ f.transpose(1, 2)", "f.transpose(1, 2) @ f"), loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("gram-scrambled-unroll", "gram_matrix", "reshaped to (N, H*W, C) as if channels were last: rows cut in the wrong places",
               ("f = features.reshape(N, C, H * W)", "f = features.reshape(N, H * W, C).transpose(1, 2)"),
               loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("gram-calls-cnnlib", "gram_matrix", "returns the book's cnnlib.style.gram_matrix",
               ("    N, C, H, W = features.shape\n", "    import cnnlib.style\n    return cnnlib.style.gram_matrix(features)\n"),
               loses=("test_gram_matrix", "test_style_layer_cost")),
        mutant("content-mean", "content_cost", "the mean over the activations instead of the sum",
               (".pow(2).sum()", ".pow(2).mean()")),
        mutant("content-no-half", "content_cost", "the factor 1/2 forgotten",
               ("return 0.5 * (a_c", "return (a_c")),
        mutant("content-calls-cnnlib", "content_cost", "returns the book's cnnlib.style.content_cost",
               ("    return 0.5 * (a_c - a_g).pow(2).sum()", "    import cnnlib.style\n    return cnnlib.style.content_cost(a_c, a_g)")),
        mutant("style-no-quarter", "style_layer_cost", "the factor 1/4 forgotten",
               ("return 0.25 * (", "return (")),
        mutant("style-activations-not-grams", "style_layer_cost", "the activations compared instead of their Gram matrices",
               ("(gram_matrix(a_s) - gram_matrix(a_g))", "(a_s - a_g)")),
        mutant("style-one-size-for-both", "style_layer_cost", "unnormalised Gram matrices divided by the generated image's size for both",
               ("    return 0.25 * (gram_matrix(a_s) - gram_matrix(a_g)).pow(2).sum()", _STYLE_ONE_SIZE)),
        mutant("style-calls-cnnlib", "style_layer_cost", "returns the book's cnnlib.style.style_layer_cost",
               ("    return 0.25 * (gram_matrix(a_s) - gram_matrix(a_g)).pow(2).sum()",
                "    import cnnlib.style\n    return cnnlib.style.style_layer_cost(a_s, a_g)")),
    ),
)

ASSIGNMENTS: tuple[Assignment, ...] = (CONVOLUTION, ARCHITECTURES, DETECTION, SEGMENTATION, FACES_STYLE, GENERATIVE)
