"""Paired augmentation: one random draw moves an image together with its mask or its boxes.

A flipped, cropped or rotated image needs its segmentation mask and its object boxes moved by
the same transformation, or the labels no longer describe the picture. The transforms here are
the geometric ones of :mod:`cnnlib.data.augment` (same arguments, same random draws: called on an
image alone they return exactly what those return) plus a vertical flip and a random resized
crop (Szegedy et al., *Going deeper with convolutions*, 2015), callable as

- ``t(image)``: the image alone, a tensor;
- ``t(image, mask=mask)``, ``t(image, boxes=boxes, labels=labels)`` or all three: an
  :class:`Augmented` ``(image, mask, boxes, labels)``, the absent ones ``None``.

Masks are resampled by the nearest neighbour and keep their dtype (class indices stay
integers); places that come from outside the image get ``mask_fill``. Boxes are
``(x1, y1, x2, y2)`` in pixel edges (``x2`` one past the last column, as
:mod:`cnnlib.data.shapes`): their four corners are transformed, the enclosing box taken and
clipped to the image, boxes left without area are dropped and ``labels`` keep step with them.
For a batch ``(N, C, H, W)`` each image gets its own draw, masks are ``(N, H, W)`` (or
``(N, K, H, W)``) and boxes and labels are lists of ``N`` tensors. Randomness and pickling for
``DataLoader`` workers work as in :mod:`cnnlib.data.augment`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from cnnlib.data import augment
from cnnlib._checks import as_image_batch, check_generator, pair
from cnnlib.data.augment import _range, _uniform
from cnnlib.ops import pad2d

__all__ = ["Augmented", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomResizedCrop",
           "RandomAffine", "RandomRotation", "Compose"]


class Augmented(NamedTuple):
    """What a paired transform returns when it is given a mask or boxes (absent targets are ``None``).

    Attributes:
        image (Tensor[C, H, W] or Tensor[N, C, H, W]): the transformed image(s).
        mask (Tensor | None): the mask, shape and dtype of the input mask (new ``H, W``).
        boxes (Tensor[M, 4] | list[Tensor[M_i, 4]] | None): ``(x1, y1, x2, y2)``, float.
        labels (Tensor[M] | list[Tensor[M_i]] | None): the labels of the boxes that remain.
    """

    image: torch.Tensor
    mask: torch.Tensor | None
    boxes: torch.Tensor | list[torch.Tensor] | None
    labels: torch.Tensor | list[torch.Tensor] | None


def _box_list(boxes, labels, n: int, single: bool) -> tuple[list, list | None]:
    """Validated boxes (float) and labels as lists of ``n`` entries."""
    if boxes is None:
        if labels is not None:
            raise TypeError("labels need boxes: pass boxes=Tensor[M, 4] with them")
        return [], None
    bl, ll = ([boxes], None if labels is None else [labels]) if single else (boxes, labels)
    if not isinstance(bl, (list, tuple)) or len(bl) != n or (ll is not None and (
            not isinstance(ll, (list, tuple)) or len(ll) != n)):
        raise TypeError(f"for a batch of {n} images, boxes (and labels) must be lists of {n} tensors, "
                        f"got {type(boxes).__name__}")
    out = []
    for i, b in enumerate(bl):
        if not isinstance(b, torch.Tensor) or b.dim() != 2 or b.shape[1] != 4 or b.dtype == torch.bool:
            got = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(f"boxes must be Tensor[M, 4] as (x1, y1, x2, y2), got {got}")
        b = b if b.is_floating_point() else b.float()  # integer boxes upcast
        if ((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any():
            raise ValueError(f"boxes must have x1 <= x2 and y1 <= y2, got {b.tolist()}")
        if ll is not None and (not isinstance(ll[i], torch.Tensor) or ll[i].shape[:1] != b.shape[:1]):
            got = tuple(ll[i].shape) if isinstance(ll[i], torch.Tensor) else type(ll[i]).__name__
            raise ValueError(f"labels must be Tensor[M={len(b)}] (one per box), got {got}")
        out.append(b)
    return out, None if ll is None else list(ll)


def _mask_batch(mask, n: int, size: tuple[int, int], single: bool) -> torch.Tensor | None:
    """The mask as ``(N, K, H, W)``, validated against the images."""
    if mask is None:
        return None
    dims = (2, 3) if single else (3, 4)
    if not isinstance(mask, torch.Tensor) or mask.dim() not in dims or tuple(mask.shape[-2:]) != size or (
            not single and len(mask) != n):
        shapes = "(H, W) or (K, H, W)" if single else f"(N={n}, H, W) or (N, K, H, W)"
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must have shape {shapes} with the image's H, W = {size}, got {got}")
    m = mask[None] if single else mask
    return m[:, None] if m.dim() == 3 else m


def _mask_out(m: torch.Tensor, like: torch.Tensor, single: bool) -> torch.Tensor:
    """Back from ``(N, K, H, W)`` to the layout and dtype of the mask ``like``."""
    m = m[:, 0] if like.dim() == (2 if single else 3) else m
    return m[0] if single else m


def _number(v: object, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number, got {v!r}")
    return float(v)


def _as_float(m: torch.Tensor) -> torch.Tensor:
    return m.double() if not m.is_floating_point() else m


def _back(m: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Resampled mask values back to ``dtype`` (nearest sampling only moves values, so rounding is exact)."""
    if dtype == torch.bool:
        return m > 0.5
    return m.round().to(dtype) if not dtype.is_floating_point else m.to(dtype)


def _finish(boxes: torch.Tensor, labels, size: tuple[int, int]) -> tuple[torch.Tensor, object]:
    """Clip ``(M, 4)`` boxes to an ``(H, W)`` image; drop those without area (and their labels)."""
    H, W = size
    b = torch.stack([boxes[:, 0].clamp(0, W), boxes[:, 1].clamp(0, H),
                     boxes[:, 2].clamp(0, W), boxes[:, 3].clamp(0, H)], dim=1)  # (M, 4)
    keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    return b[keep], None if labels is None else labels[keep.to(labels.device)]


class _Paired:
    """Mixin: run a transform on the image and on its targets with the same per-image draws.

    A subclass defines ``_draw(N, H, W)`` (drawing in the order its image-only parent draws),
    ``_image(x (N, C, H, W), params) -> (N, C, h, w)``, ``_mask(m (N, K, H, W) float, params)``
    and ``_boxes(b (M, 4), params, i, (H, W))``: image ``i``'s boxes before clipping.
    """

    def __call__(self, image: torch.Tensor, mask: torch.Tensor | None = None, boxes=None, labels=None):
        if mask is None and boxes is None and labels is None:
            return self._plain(image)
        xb, single = as_image_batch(image, "image")
        N, _, H, W = xb.shape
        blist, llist = _box_list(boxes, labels, N, single)
        mb = _mask_batch(mask, N, (H, W), single)
        params = self._draw(N, H, W)
        out = self._image(xb, params)  # (N, C, h, w)
        size = tuple(out.shape[-2:])
        new_mask = None if mb is None else _mask_out(_back(self._mask(_as_float(mb), params), mb.dtype), mask, single)
        new_boxes, new_labels = [], []
        for i, b in enumerate(blist):
            nb, nl = _finish(self._boxes(b, params, i, (H, W)), None if llist is None else llist[i], size)
            new_boxes.append(nb)
            new_labels.append(nl)
        if boxes is None:
            return Augmented(out[0] if single else out, new_mask, None, None)
        if single:
            return Augmented(out[0], new_mask, new_boxes[0], None if labels is None else new_labels[0])
        return Augmented(out, new_mask, new_boxes, None if labels is None else new_labels)

    def _plain(self, image: torch.Tensor) -> torch.Tensor:
        """The image alone: the parent transform of :mod:`cnnlib.data.augment`, or the same draws."""
        if isinstance(self, (augment.RandomCrop, augment.RandomAffine)):
            return super().__call__(image)  # type: ignore[misc]
        xb, single = as_image_batch(image)
        out = self._image(xb, self._draw(len(xb), *xb.shape[-2:]))
        return out[0] if single else out


def _shift_scale(b: torch.Tensor, dx: float, dy: float, sx: float = 1.0, sy: float = 1.0) -> torch.Tensor:
    """``((x + dx) sx, (y + dy) sy)`` for both corners of ``(M, 4)`` boxes."""
    return (b + b.new_tensor([dx, dy, dx, dy])) * b.new_tensor([sx, sy, sx, sy])


class RandomHorizontalFlip(_Paired, augment._RandomTransform):
    """Mirror left-right with probability ``p``, the mask and boxes with the image.

    A box ``(x1, y1, x2, y2)`` becomes ``(W - x2, y1, W - x1, y2)``.

    Args:
        p (float): flip probability in [0, 1].
        generator (torch.Generator | None): random source (default: torch's global one).

    Example:
        >>> image, mask = torch.rand(3, 4, 6), torch.zeros(4, 6, dtype=torch.long)
        >>> mask[1:3, 0:2] = 7
        >>> out = RandomHorizontalFlip(p=1.0)(image, mask=mask, boxes=torch.tensor([[0, 1, 2, 3]]))
        >>> out.boxes, torch.equal(out.mask, mask.flip(-1)), out.mask.dtype
        (tensor([[4., 1., 6., 3.]]), True, torch.int64)
    """

    axis = -1

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        self.p, self.generator = augment._scalar(p, "p", high=1.0), check_generator(generator)

    def _draw(self, N, H, W):
        return torch.rand(N, generator=self.generator) < self.p  # (N,), as augment.RandomHorizontalFlip

    def _image(self, x, flip):
        return torch.where(flip.to(x.device).view(-1, 1, 1, 1), x.flip(self.axis), x)

    _mask = _image

    def _boxes(self, b, flip, i, size):
        if not flip[i]:
            return b
        H, W = size
        x1, y1, x2, y2 = b.unbind(1)
        return torch.stack([W - x2, y1, W - x1, y2] if self.axis == -1 else [x1, H - y2, x2, H - y1], dim=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``; a box becomes ``(x1, H - y2, x2, H - y1)``.

    Example:
        >>> RandomVerticalFlip(p=1.0)(torch.rand(1, 4, 4), boxes=torch.tensor([[0., 0., 4., 1.]])).boxes
        tensor([[0., 3., 4., 4.]])
    """

    axis = -2


class RandomCrop(_Paired, augment.RandomCrop):
    """:class:`cnnlib.data.augment.RandomCrop` (pad, then a random window) for an image and its targets.

    The mask is padded like the image (``"zeros"`` padding puts ``mask_fill`` there); boxes move
    by the padding and the window's offset, are clipped to the window, and drop out if nothing
    of them is left.

    Args:
        size, padding, pad_mode, fill, generator: as :class:`cnnlib.data.augment.RandomCrop`.
        mask_fill (float): the mask's value in ``"zeros"`` padding (the background class).

    Example:
        >>> boxes, labels = torch.tensor([[0., 0., 2., 2.], [6., 6., 8., 8.]]), torch.tensor([1, 2])
        >>> out = RandomCrop(4, generator=torch.Generator().manual_seed(0))(torch.rand(1, 8, 8), boxes=boxes,
        ...                                                                 labels=labels)
        >>> len(out.boxes) == len(out.labels) <= 2, bool((out.boxes >= 0).all() and (out.boxes <= 4).all())
        (True, True)
    """

    def __init__(self, size, padding=0, pad_mode: str = "zeros", fill: float = 0.0, mask_fill: float = 0.0,
                 generator=None):
        super().__init__(size, padding, pad_mode, fill, generator)
        self.mask_fill = _number(mask_fill, "mask_fill")

    def _draw(self, N, H, W):
        l, r, t, b = self.padding
        (h, w), Hp, Wp = self.size, H + t + b, W + l + r
        if h > Hp or w > Wp:
            raise ValueError(f"crop size {(h, w)} is larger than the padded image {(Hp, Wp)}")
        tops = torch.randint(0, Hp - h + 1, (N,), generator=self.generator).tolist()  # as the parent draws
        lefts = torch.randint(0, Wp - w + 1, (N,), generator=self.generator).tolist()
        return list(zip(tops, lefts))

    def _cut(self, x, params, fill):
        xp = pad2d(x, self.padding, self.pad_mode, fill) if any(self.padding) else x  # (N, C, Hp, Wp)
        (h, w) = self.size
        return torch.stack([xp[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(params)]) if len(x) \
            else xp[:, :, :h, :w]

    def _image(self, x, params):
        return self._cut(x, params, self.fill)

    def _mask(self, m, params):
        return self._cut(m, params, self.mask_fill)

    def _boxes(self, b, params, i, size):
        top, left = params[i]
        return _shift_scale(b, self.padding[0] - left, self.padding[2] - top)


class RandomResizedCrop(_Paired, augment._RandomTransform):
    """A random window of random area and aspect ratio, resized to ``size`` (Szegedy et al., 2015).

    Per image: the window's area is ``U(scale)`` of the image's and its aspect ratio ``w / h`` is
    log-uniform in ``ratio``; up to 10 draws are tried until the window fits, else the whole
    image is taken. The window is resized bilinearly (the mask by the nearest pixel centre,
    ``"nearest-exact"``), and a box ``(x1, y1, x2, y2)`` maps to ``((x1 - left) s_x, ...)`` with
    ``s_x = out_w / w``.

    Args:
        size (int | tuple[int, int]): output ``(h, w)``.
        scale (tuple[float, float]): range of the window's area as a fraction of the image's, in (0, 1].
        ratio (tuple[float, float]): range of the window's aspect ratio ``w / h`` (> 0).
        generator (torch.Generator | None): random source.

    Example:
        >>> out = RandomResizedCrop(16, generator=torch.Generator().manual_seed(0))(
        ...     torch.rand(3, 32, 32), mask=torch.ones(32, 32, dtype=torch.uint8))
        >>> tuple(out.image.shape), tuple(out.mask.shape), out.mask.dtype
        ((3, 16, 16), (16, 16), torch.uint8)
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), generator=None):
        self.size = pair(size, "size")
        for name, v in (("scale", scale), ("ratio", ratio)):
            if not (isinstance(v, (tuple, list)) and len(v) == 2):
                raise ValueError(f"{name} must be a range (lo, hi), got {v!r}")
        self.scale = _range(tuple(scale), "scale", low=1e-12, high=1.0)
        self.ratio = _range(tuple(ratio), "ratio", low=1e-12)
        self.generator = check_generator(generator)

    def _draw(self, N, H, W):
        windows = []
        for _ in range(N):
            window = (0, 0, H, W)
            for _ in range(10):
                area = H * W * _uniform(*self.scale, (), self.generator).item()
                aspect = math.exp(_uniform(*map(math.log, self.ratio), (), self.generator).item())
                w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
                if 0 < w <= W and 0 < h <= H:
                    top = int(torch.randint(0, H - h + 1, (), generator=self.generator))
                    left = int(torch.randint(0, W - w + 1, (), generator=self.generator))
                    window = (top, left, h, w)
                    break
            windows.append(window)
        return windows

    def _resize(self, x, params, mode):
        if not len(x):
            return x.new_zeros(0, x.shape[1], *self.size)
        kw = {"align_corners": False} if mode == "bilinear" else {}
        return torch.cat([F.interpolate(x[i:i + 1, :, t:t + h, l:l + w], size=self.size, mode=mode, **kw)
                          for i, (t, l, h, w) in enumerate(params)])  # (N, C, out_h, out_w)

    def _image(self, x, params):
        return self._resize(x, params, "bilinear")

    def _mask(self, m, params):
        return self._resize(m, params, "nearest-exact")

    def _boxes(self, b, params, i, size):
        top, left, h, w = params[i]
        return _shift_scale(b, -left, -top, self.size[1] / w, self.size[0] / h)

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomAffine(_Paired, augment.RandomAffine):
    """:class:`cnnlib.data.augment.RandomAffine` for an image and its targets.

    The mask is warped by :func:`cnnlib.data.augment.affine` with ``interpolation="nearest"``
    and ``fill=mask_fill``. A box's four corners move as the image's points do,
    ``q = c + t + A (p - c)`` with ``c = (W/2, H/2)`` in pixel-edge coordinates, and the box
    becomes the one that encloses them (larger than the object after a rotation: the price of
    axis-aligned boxes).

    Args:
        degrees, translate, scale, shear, interpolation, fill, generator: as
            :class:`cnnlib.data.augment.RandomAffine`.
        mask_fill (float): the mask's value where the output sees outside the input.

    Example:
        >>> out = RandomAffine(degrees=(90, 90))(torch.rand(1, 4, 4), boxes=torch.tensor([[0., 0., 1., 1.]]))
        >>> out.boxes.round(decimals=4)  # the top-left pixel turns to the bottom-left
        tensor([[0., 3., 1., 4.]])
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None, interpolation: str = "bilinear",
                 fill: float = 0.0, mask_fill: float = 0.0, generator=None):
        super().__init__(degrees, translate, scale, shear, interpolation, fill, generator)
        self.mask_fill = _number(mask_fill, "mask_fill")

    def _draw(self, N, H, W):
        return self.get_params(N, (H, W))  # the parent's draws, in its order

    def _image(self, x, params):
        return augment.affine(x, **params, interpolation=self.interpolation, fill=self.fill)

    def _mask(self, m, params):
        return augment.affine(m, **params, interpolation="nearest", fill=self.mask_fill)

    def _boxes(self, b, params, i, size):
        H, W = size
        A = augment._affine_matrix(torch.deg2rad(params["angle"][i:i + 1]), params["scale"][i:i + 1],
                                   params["shear"][i:i + 1])[0]  # (2, 2), float64
        c = torch.tensor([W / 2, H / 2], dtype=torch.float64)
        corners = b.double()[:, [0, 1, 0, 3, 2, 1, 2, 3]].view(-1, 4, 2)  # (M, 4, 2): the 4 corners (x, y)
        q = c + params["translate"][i] + (corners - c) @ A.T  # (M, 4, 2)
        return torch.cat([q.amin(1), q.amax(1)], dim=1).to(b.dtype)  # (M, 4): the enclosing box


class RandomRotation(RandomAffine):
    """Rotate by a uniformly random angle in ``degrees``, with the mask and boxes (see :class:`RandomAffine`).

    Example:
        >>> m = torch.zeros(5, 5, dtype=torch.long); m[0, 0] = 3
        >>> torch.equal(RandomRotation((90, 90))(torch.rand(1, 5, 5), mask=m).mask, torch.rot90(m))
        True
    """

    def __init__(self, degrees, interpolation: str = "bilinear", fill: float = 0.0, mask_fill: float = 0.0,
                 generator=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, mask_fill=mask_fill, generator=generator)


class Compose(augment.Compose):
    """Apply transforms in turn; paired ones move the targets, the others (colour) the image only.

    Example:
        >>> aug = Compose([RandomHorizontalFlip(), RandomCrop(24, padding=4), augment.ColorShift(brightness=0.1)])
        >>> out = aug(torch.rand(3, 28, 28), mask=torch.zeros(28, 28, dtype=torch.long))
        >>> tuple(out.image.shape), tuple(out.mask.shape)
        ((3, 24, 24), (24, 24))
    """

    def __call__(self, image: torch.Tensor, mask: torch.Tensor | None = None, boxes=None, labels=None):
        if mask is None and boxes is None and labels is None:
            return super().__call__(image)
        out = Augmented(image, mask, boxes, labels)
        for t in self.transforms:
            out = t(*out) if isinstance(t, _Paired) else out._replace(image=t(out.image))
        return out
