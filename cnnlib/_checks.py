"""Argument and input checks for every part of cnnlib (private): the one place they live.

Each public function validates its inputs at the boundary with these helpers, so error messages
read the same everywhere: they name the argument, say what was expected (a range, the valid
choices, a shape) and show what came instead. Constructors check their arguments before they
build a single layer, and networks check their input before any layer runs, so a wrong setting
fails here rather than as a shape error deep inside a convolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def check_int(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) with ``minimum <= value <= maximum``.

    Raises:
        TypeError: if ``value`` is not an int, or is a bool.
        ValueError: if it is out of range.

    Example:
        >>> check_int(3, "stride")
        3
        >>> check_int(0, "padding", 0), check_int(5, "k", 1, maximum=5)
        (0, 5)
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_float(value: object, name: str, low: float = -math.inf, high: float = math.inf,
                low_inclusive: bool = False, high_inclusive: bool = False) -> float:
    """Return a finite number ``value`` as a float if it lies between ``low`` and ``high``.

    The bounds are exclusive unless ``low_inclusive`` / ``high_inclusive`` say otherwise; the
    message shows the interval in the usual notation (``[0.0, 1.0)``).

    Raises:
        TypeError: if ``value`` is not an int or a float, or is a bool.
        ValueError: if it is NaN, infinite, or outside the interval.

    Example:
        >>> check_float(0.5, "p", 0.0, 1.0, low_inclusive=True, high_inclusive=True)
        0.5
        >>> check_float(1, "width_mult", 0.0)
        1.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    if not (ok_low and ok_high and math.isfinite(value)):
        interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    """Return ``value`` if it is one of ``choices``; the message lists them all.

    Raises:
        ValueError: if ``value`` is not among ``choices``.

    Example:
        >>> check_choice("max", "mode", ("max", "avg"))
        'max'
    """
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set of choices
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_int_list(values: object, name: str, minimum: int = 1) -> tuple[int, ...]:
    """Return a non-empty sequence of ints ``>= minimum`` as a tuple.

    Raises:
        ValueError: if ``values`` is not a non-empty sequence, or an entry is out of range
            (the message names the entry, e.g. ``layers[1]``).
        TypeError: if an entry is not an int.

    Example:
        >>> check_int_list([2, 2, 2], "layers")
        (2, 2, 2)
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of ints, got {values!r}")
    return tuple(check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(values))


def pair(value: object, name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``(a, b)`` from an int or a pair of ints, each ``>= minimum`` (kernel sizes, strides).

    Raises:
        TypeError: if ``value`` or an entry is not an int.
        ValueError: if a sequence does not have two entries, or an entry is out of range.

    Example:
        >>> pair(3, "stride"), pair((2, 1), "kernel_size"), pair(0, "padding", 0)
        ((3, 3), (2, 1), (0, 0))
    """
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        a, b = value
    else:
        a = b = value
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(a), int(b)


def check_tensor(x: object, name: str, ndim: int, shape_doc: str) -> torch.Tensor:
    """Return ``x`` if it is a tensor with ``ndim`` dimensions; ``shape_doc`` names them.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if it has another number of dimensions.

    Example:
        >>> check_tensor(torch.zeros(2, 4), "boxes", 2, "(N, 4)").shape
        torch.Size([2, 4])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_doc}, got {type(x).__name__}")
    if x.dim() != ndim:
        raise ValueError(f"{name} must have shape {shape_doc} ({ndim} dims), got shape {tuple(x.shape)}")
    return x


def check_like(t: torch.Tensor, name: str, ref: torch.Tensor, ref_name: str = "x") -> None:
    """Check that ``t`` has the dtype and device of ``ref`` (no function in cnnlib moves data).

    Raises:
        TypeError: for another dtype.
        ValueError: for another device.
    """
    if t.dtype != ref.dtype:
        raise TypeError(f"{name} must have the dtype of {ref_name} ({ref.dtype}), got {t.dtype}")
    if t.device != ref.device:
        raise ValueError(f"{name} must be on the device of {ref_name} ({ref.device}), got {t.device}")


def check_bias(bias: object, shape: tuple[int, ...], ref: torch.Tensor) -> None:
    """Check that ``bias`` is ``None`` or a tensor of ``shape`` with the dtype and device of ``ref``.

    Raises:
        ValueError: for another type or shape, or another device.
        TypeError: for another dtype.
    """
    if bias is None:
        return
    if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != shape:
        got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        raise ValueError(f"bias must be None or a Tensor of shape {shape}, got {got}")
    check_like(bias, "bias", ref)


def as_image_batch(x: object, name: str = "x", allow_single: bool = True) -> tuple[torch.Tensor, bool]:
    """Return ``(x as a float batch (N, C, H, W), whether x was one image (C, H, W))``.

    For functions that take either one image or a batch (augmentations, saliency maps); the
    batch is a view of ``x``, not a copy.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if it is not floating point, or not 4-D (or 3-D where ``allow_single``).

    Example:
        >>> xb, single = as_image_batch(torch.zeros(3, 8, 8))
        >>> tuple(xb.shape), single
        ((1, 3, 8, 8), True)
    """
    shapes = "(C, H, W) or (N, C, H, W)" if allow_single else "(N, C, H, W)"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shapes}, got {type(x).__name__}")
    if x.dim() not in ((3, 4) if allow_single else (4,)) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor of shape {shapes}, "
                         f"got {x.dtype} {tuple(x.shape)}")
    return (x[None] if x.dim() == 3 else x), x.dim() == 3


def check_4d(x: object, model: str, channels: str = "C") -> None:
    """Check that the input of network ``model`` is a 4-D tensor ``(N, C, H, W)``.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if it is not 4-D.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model} expects a torch.Tensor of shape (N, {channels}, H, W), "
                        f"got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{model} expects input of shape (N, {channels}, H, W) (4 dims), "
                         f"got shape {tuple(x.shape)}")


def check_images(x: object, model: str, in_channels: int, min_size: int,
                 exact_size: int | None = None) -> None:
    """Check the input batch ``(N, C, H, W)`` of network ``model`` before it runs any layer.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if ``x`` is not 4-D, has the wrong number of channels, or is smaller than
            ``min_size`` (or not exactly ``exact_size``) in height or width.

    Example:
        >>> check_images(torch.zeros(2, 1, 32, 32), "LeNet5", 1, 32)  # passes silently
    """
    check_4d(x, model, str(in_channels))
    _, C, H, W = x.shape
    if C != in_channels:
        raise ValueError(f"{model} expects {in_channels} input channels, got {C} "
                         f"(input shape {tuple(x.shape)})")
    if exact_size is not None and (H, W) != (exact_size, exact_size):
        raise ValueError(f"{model} needs input of size exactly {exact_size}x{exact_size}, got {H}x{W}")
    if H < min_size or W < min_size:
        raise ValueError(f"{model} needs input of at least {min_size}x{min_size} (its downsampling "
                         f"would leave an empty feature map), got {H}x{W}")


def check_generator(generator: object, optional: bool = True) -> torch.Generator | None:
    """Return ``generator`` if it is a ``torch.Generator`` (or ``None`` where that is allowed).

    Example:
        >>> check_generator(None) is None
        True
    """
    if generator is None and optional:
        return None
    if not isinstance(generator, torch.Generator):
        expected = "a torch.Generator or None" if optional else "a torch.Generator"
        raise TypeError(f"generator must be {expected}, got {type(generator).__name__}")
    return generator
