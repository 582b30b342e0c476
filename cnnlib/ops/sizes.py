"""Output sizes, padding amounts and parameter counts of convolution layers.

The size formula (Dumoulin & Visin, *A guide to convolution arithmetic*, 2016) for input size
``n``, kernel ``f``, padding ``p`` on each side, stride ``s`` and dilation ``d``:

.. math:: n_{out} = \\left\\lfloor \\frac{n + 2p - d(f-1) - 1}{s} \\right\\rfloor + 1

Lecture notes write it with ``d = 1`` as ``floor((n + 2p - f)/s) + 1``. Parameter counts follow
seed 000's worked example: a dense layer has ``(inputs + 1) * units`` parameters, a convolution
layer ``f*f*c_in*n_filters + n_filters``, whatever the image size.
"""

from __future__ import annotations

from cnnlib.ops._checks import pair

__all__ = ["conv_output_size", "same_padding", "full_padding", "count_params_dense", "count_params_conv"]


def _int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def conv_output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Spatial output size of a convolution (or pooling) along one axis.

    Args:
        n (int): input size (>= 1).
        f (int): kernel size (>= 1).
        p (int): zero padding added on EACH side (>= 0).
        s (int): stride (>= 1).
        d (int): dilation (>= 1); the kernel then spans ``d*(f-1)+1`` pixels.

    Returns:
        int: ``floor((n + 2p - d(f-1) - 1) / s) + 1``.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if an argument is out of range or the (dilated) kernel does not fit in the
            padded input.

    Example:
        >>> conv_output_size(6, 3), conv_output_size(6, 3, p=1), conv_output_size(7, 3, s=2)
        (4, 6, 3)
        >>> conv_output_size(28, 5, p=2, s=1, d=1)
        28
    """
    n, f, p, s, d = _int(n, "n", 1), _int(f, "f", 1), _int(p, "p", 0), _int(s, "s", 1), _int(d, "d", 1)
    span = d * (f - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"kernel spanning {span} pixels (f={f}, d={d}) does not fit in input of size {n} "
            f"padded by {p} on each side ({n + 2 * p} pixels)"
        )
    return (n + 2 * p - span) // s + 1


def same_padding(f: int, d: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` that keeps the size at stride 1 ("same" convolution).

    The total is ``d*(f-1)``; for an even total it is split equally, for an odd one the extra
    pixel goes after (right/bottom), as PyTorch's ``padding="same"`` does.

    Example:
        >>> same_padding(3), same_padding(4), same_padding(3, d=2)
        ((1, 1), (1, 2), (2, 2))
    """
    total = _int(d, "d", 1) * (_int(f, "f", 1) - 1)
    return total // 2, total - total // 2


def full_padding(f: int, d: int = 1) -> int:
    """Padding on each side for a "full" convolution: every partial overlap counts.

    Output size at stride 1 is then ``n + d*(f-1)``.

    Example:
        >>> full_padding(3), conv_output_size(5, 3, p=full_padding(3))
        (2, 7)
    """
    return _int(d, "d", 1) * (_int(f, "f", 1) - 1)


def count_params_dense(in_features: int, units: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``(in_features + 1) * units`` with bias.

    Example:
        >>> count_params_dense(300 * 300 * 3, 100)  # seed 000: a 300x300 RGB image
        27000100
    """
    return (_int(in_features, "in_features", 1) + int(bias)) * _int(units, "units", 1)


def count_params_conv(f: int | tuple[int, int], c_in: int, n_filters: int, bias: bool = True) -> int:
    """Parameters of a convolution layer: ``fh*fw*c_in*n_filters (+ n_filters)``.

    Independent of the image size: that is parameter sharing.

    Example:
        >>> count_params_conv(5, 3, 100)  # seed 000: 100 filters of 5x5 on RGB
        7600
    """
    fh, fw = pair(f, "f")
    c_in, n_filters = _int(c_in, "c_in", 1), _int(n_filters, "n_filters", 1)
    return fh * fw * c_in * n_filters + (n_filters if bias else 0)
