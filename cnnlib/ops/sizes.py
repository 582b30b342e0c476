"""Output sizes, padding amounts and parameter counts of convolution layers.

The size formula (Dumoulin & Visin, *A guide to convolution arithmetic*, 2016) for input size
``n``, kernel ``f``, padding ``p`` on each side, stride ``s`` and dilation ``d``:

.. math:: n_{out} = \\left\\lfloor \\frac{n + 2p - d(f-1) - 1}{s} \\right\\rfloor + 1

The lecture notes write it with ``d = 1`` as ``floor((n + 2p - f)/s) + 1``. Parameter counts
follow seed 000's worked example: a dense layer has ``(inputs + 1) * units`` parameters, a
convolution layer ``f*f*c_in*n_filters + n_filters`` whatever the image size (parameter sharing);
a locally connected layer (seed 003's unshared convolution) pays the kernel once per output
position, and a tiled one once per tile.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnlib._checks import check_int, pair

__all__ = [
    "conv_output_size", "min_input_size", "same_padding", "full_padding",
    "count_params_dense", "count_params_conv", "count_params_local", "count_params_tiled",
]


def conv_output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Spatial output size of a convolution (or pooling) along one axis.

    Args:
        n (int): input size (>= 1).
        f (int): kernel size (>= 1).
        p (int): zero padding added on EACH side (>= 0).
        s (int): stride (>= 1).
        d (int): dilation (>= 1); the kernel then spans ``d*(f-1)+1`` pixels.

    Returns:
        int: ``floor((n + 2p - d(f-1) - 1) / s) + 1`` (>= 1).

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if an argument is out of range, or the (dilated) kernel does not fit in the
            padded input (the output would be empty).

    Example:
        >>> conv_output_size(6, 3), conv_output_size(6, 3, p=1), conv_output_size(7, 3, s=2)
        (4, 6, 3)
        >>> conv_output_size(28, 5, p=2, s=1, d=1)
        28
    """
    n, f, p = check_int(n, "n", 1), check_int(f, "f", 1), check_int(p, "p", 0)
    s, d = check_int(s, "s", 1), check_int(d, "d", 1)
    span = d * (f - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"kernel spanning {span} pixels (f={f}, d={d}) does not fit in input of size {n} "
            f"padded by {p} on each side ({n + 2 * p} pixels)"
        )
    return (n + 2 * p - span) // s + 1


def min_input_size(ops: Sequence[tuple[int, int, int, int]]) -> int:
    """The smallest input size for which every op of a chain has an output of size >= 1.

    Walks the chain backwards: an op with output size ``m`` needs an input of at least
    ``(m - 1) s + d (k - 1) + 1 - 2p`` (and at least 1), since :func:`conv_output_size` is
    non-decreasing in the input size. Networks use it to reject a too-small image before any
    layer runs.

    Args:
        ops (Sequence[tuple[int, int, int, int]]): ``(kernel, stride, padding, dilation)`` of each
            convolution or pooling along one axis, in the order they run.

    Returns:
        int: the smallest input size (>= 1; 1 for an empty chain).

    Example:
        >>> min_input_size([(2, 2, 0, 1)] * 5)  # five 2x2 max pools, as in VGG
        32
        >>> min_input_size([(5, 1, 0, 1), (5, 1, 0, 1)])  # two valid 5x5 convolutions
        9
    """
    need = 1
    for k, s, p, d in reversed(ops):
        need = max(1, (need - 1) * s + d * (k - 1) + 1 - 2 * p)
    return need


def same_padding(f: int, d: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` that keeps the size at stride 1 ("same" convolution).

    The total is ``d*(f-1)``. An even total is split equally; for an odd one (even kernels) the
    extra pixel goes after, i.e. to the right/bottom, which is what PyTorch's
    ``padding="same"`` does.

    Args:
        f (int): kernel size (>= 1).
        d (int): dilation (>= 1).

    Returns:
        tuple[int, int]: pixels to add before (left/top) and after (right/bottom).

    Raises:
        TypeError, ValueError: for a non-int or an out-of-range argument.

    Example:
        >>> same_padding(3), same_padding(4), same_padding(3, d=2)
        ((1, 1), (1, 2), (2, 2))
    """
    total = check_int(d, "d", 1) * (check_int(f, "f", 1) - 1)
    return total // 2, total - total // 2


def full_padding(f: int, d: int = 1) -> int:
    """Padding on each side for a "full" convolution: every partial overlap counts.

    Args:
        f (int): kernel size (>= 1).
        d (int): dilation (>= 1).

    Returns:
        int: ``d*(f-1)``; the output size at stride 1 is then ``n + d*(f-1)``.

    Raises:
        TypeError, ValueError: for a non-int or an out-of-range argument.

    Example:
        >>> full_padding(3), conv_output_size(5, 3, p=full_padding(3))
        (2, 7)
    """
    return check_int(d, "d", 1) * (check_int(f, "f", 1) - 1)


def count_params_dense(in_features: int, units: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``(in_features + 1) * units`` with bias.

    Args:
        in_features (int): inputs, e.g. ``H*W*C`` of a flattened image.
        units (int): output units.
        bias (bool): whether each unit has a bias.

    Returns:
        int: the count ``nn.Linear(in_features, units, bias)`` has.

    Raises:
        TypeError, ValueError: for a non-int or a count < 1.

    Example:
        >>> count_params_dense(300 * 300 * 3, 100)  # seed 000: a 300x300 RGB image
        27000100
    """
    return (check_int(in_features, "in_features", 1) + int(bool(bias))) * check_int(units, "units", 1)


def count_params_conv(f: int | tuple[int, int], c_in: int, n_filters: int, bias: bool = True) -> int:
    """Parameters of a convolution layer: ``fh*fw*c_in*n_filters (+ n_filters)``.

    Independent of the image size: every position shares the same kernels.

    Args:
        f (int | tuple[int, int]): kernel size ``f`` or ``(fh, fw)``.
        c_in (int): input channels.
        n_filters (int): output channels (kernels).
        bias (bool): one bias per filter.

    Returns:
        int: the count ``nn.Conv2d(c_in, n_filters, f, bias=bias)`` has.

    Raises:
        TypeError, ValueError: for a non-int or a count < 1.

    Example:
        >>> count_params_conv(5, 3, 100)  # seed 000: 100 filters of 5x5 on RGB
        7600
    """
    fh, fw = pair(f, "f")
    c_in, n_filters = check_int(c_in, "c_in", 1), check_int(n_filters, "n_filters", 1)
    return fh * fw * c_in * n_filters + (n_filters if bias else 0)


def count_params_local(
    f: int | tuple[int, int],
    c_in: int,
    n_filters: int,
    output_size: int | tuple[int, int],
    bias: bool = True,
) -> int:
    """Parameters of a locally connected layer (seed 003's unshared convolution).

    Every one of the ``H_out*W_out`` output positions has its own kernels, and (as in
    :func:`~cnnlib.ops.locally_connected2d`) its own bias per output channel.

    Args:
        f (int | tuple[int, int]): kernel size.
        c_in (int): input channels.
        n_filters (int): output channels.
        output_size (int | tuple[int, int]): ``H_out`` (square) or ``(H_out, W_out)``.
        bias (bool): one bias per output unit, shape ``(n_filters, H_out, W_out)``.

    Returns:
        int: ``H_out*W_out * (fh*fw*c_in*n_filters + n_filters)`` with bias.

    Raises:
        TypeError, ValueError: for a non-int or a count < 1.

    Example:
        >>> count_params_local(5, 3, 100, 296)  # the 300x300 RGB image again, valid 5x5
        665881600
    """
    h, w = pair(output_size, "output_size")
    return h * w * count_params_conv(f, c_in, n_filters, bias)


def count_params_tiled(
    f: int | tuple[int, int],
    c_in: int,
    n_filters: int,
    tiles: int | tuple[int, int],
    bias: bool = True,
) -> int:
    """Parameters of a tiled convolution: ``t_h*t_w`` kernel stacks, one bias per channel.

    Args:
        f (int | tuple[int, int]): kernel size.
        c_in (int): input channels.
        n_filters (int): output channels.
        tiles (int | tuple[int, int]): ``t`` or ``(t_h, t_w)`` kernel stacks cycled over the output.
        bias (bool): one bias per output channel (as :func:`~cnnlib.ops.tiled_conv2d`).

    Returns:
        int: ``t_h*t_w*fh*fw*c_in*n_filters (+ n_filters)``; ``t = 1`` gives
        :func:`count_params_conv`.

    Raises:
        TypeError, ValueError: for a non-int or a count < 1.

    Example:
        >>> count_params_tiled(5, 3, 100, 2), count_params_tiled(5, 3, 100, 1)
        (30100, 7600)
    """
    th, tw = pair(tiles, "tiles")
    return th * tw * count_params_conv(f, c_in, n_filters, bias=False) + (n_filters if bias else 0)
