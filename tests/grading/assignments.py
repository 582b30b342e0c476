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

    @property
    def notebook_id(self) -> str:
        return self.notebook.removesuffix(".ipynb")


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

CONVOLUTION = Assignment(
    name="01-convolution",
    notebook="convolution.ipynb",
    total_points=23,
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
    ),
)

ASSIGNMENTS: tuple[Assignment, ...] = (CONVOLUTION,)
