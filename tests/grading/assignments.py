"""The registry of graded assignments and their mutants, read by the generic grading checks.

A later chapter adds one :class:`Assignment` entry here, nothing else. Each :class:`Mutant` is a
plausible wrong answer: exact text replacements applied to ONE solution cell of the source
notebook (every replacement must apply, so a mutant cannot silently become the solution), and
the grade cells (test cells) that must then lose points.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mutant:
    id: str  # also the student id under which it is graded
    cell: str  # grade_id of the solution cell it changes
    replace: tuple[tuple[str, str], ...]
    loses: tuple[str, ...]  # grade_ids of test cells that must score below full marks
    why: str = ""


@dataclass(frozen=True)
class Assignment:
    name: str  # folder under solutions/ and exercises/
    notebook: str  # notebook file name
    total_points: float
    mutants: tuple[Mutant, ...] = field(default_factory=tuple)

    @property
    def notebook_id(self) -> str:
        return self.notebook.removesuffix(".ipynb")


CONVOLUTION = Assignment(
    name="01-convolution",
    notebook="convolution.ipynb",
    total_points=23,
    mutants=(
        Mutant("pad-channel-axis", "zero_pad",
               (("torch.zeros(N, C, H + 2 * p", "torch.zeros(N, C + 2 * p, H + 2 * p"),
                ("out[:, :, p:p + H, p:p + W] = x", "out[:, p:p + C, p:p + H, p:p + W] = x")),
               ("test_zero_pad",), "padding applied to the channel axis too"),
        Mutant("reflect-as-replicate", "pad2d",
               (("i = i.abs()  # reflect\n        return torch.where(i > n - 1, 2 * (n - 1) - i, i)",
                 "return i.clamp(0, n - 1)  # reflect (wrong: repeats the edge)"),),
               ("test_pad2d",), "reflect repeats the edge pixel"),
        Mutant("size-ceil", "conv_output_size",
               (("return (n + 2 * p - d * (f - 1) - 1) // s + 1", "return math.ceil((n + 2 * p - d * (f - 1) - 1) / s) + 1"),),
               ("test_conv_output_size",), "ceil instead of floor"),
        Mutant("size-no-dilation", "conv_output_size",
               (("return (n + 2 * p - d * (f - 1) - 1) // s + 1", "return (n + 2 * p - f) // s + 1"),),
               ("test_conv_output_size",), "dilation ignored"),
        Mutant("single-step-no-bias", "conv_single_step",
               (("return (patch * w).sum() + b", "return (patch * w).sum()"),),
               ("test_conv_single_step",), "bias forgotten"),
        Mutant("forward-flipped-kernel", "conv2d_forward",
               (('torch.einsum("nchw,ochw->no", patch, w)', 'torch.einsum("nchw,ochw->no", patch, w.flip(-1, -2))'),),
               ("test_conv2d_forward",), "true convolution (kernel flipped) instead of correlation"),
        Mutant("backward-db-mean", "conv2d_backward",
               (("db = dout.sum(dim=(0, 2, 3))", "db = dout.mean(dim=(0, 2, 3))"),),
               ("test_conv2d_backward",), "db averaged instead of summed"),
        Mutant("backward-dx-overwrites", "conv2d_backward",
               (("dxp[window] += torch.einsum", "dxp[window] = torch.einsum"),),
               ("test_conv2d_backward",), "overlapping windows overwrite instead of adding up"),
        Mutant("avg-pool-divides-by-f", "pool2d_forward",
               (("window.sum(dim=(2, 3)) / (f * f)", "window.sum(dim=(2, 3)) / f"),),
               ("test_pool2d_forward",), "average divided by f instead of f*f"),
        Mutant("max-pool-backward-to-all", "pool2d_backward",
               (("mask = window == window.amax(dim=(2, 3), keepdim=True)", "mask = torch.ones_like(window)"),),
               ("test_pool2d_backward",), "max-pool gradient sent to every cell of the window"),
        Mutant("im2col-kernel-major", "im2col",
               (("cols = torch.stack(slices, dim=2)", "cols = torch.stack(slices, dim=1)"),),
               ("test_im2col",), "rows ordered kernel offset first instead of channel first"),
        Mutant("im2col-conv-no-bias", "conv2d_im2col",
               (("@ cols + b.reshape(1, -1, 1)", "@ cols"),),
               ("test_conv2d_im2col",), "bias forgotten"),
        Mutant("dense-no-bias", "count_params_dense",
               (("return (in_features + 1) * units", "return in_features * units"),),
               ("test_count_params_dense",), "biases not counted"),
        Mutant("conv-params-no-bias", "count_params_conv",
               (("return f * f * c_in * n_filters + n_filters", "return f * f * c_in * n_filters"),),
               ("test_count_params_conv",), "biases not counted"),
    ),
)

ASSIGNMENTS: tuple[Assignment, ...] = (CONVOLUTION,)
