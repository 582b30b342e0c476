"""Data augmentation on image tensors: mirroring, random crops, rotation, shear, colour shifts.

Seed 001 lists the distortions (mirroring, random cropping, rotation, shearing, local warping,
colour shifting) and says they run in parallel with training: a worker process distorts the
next images while the model learns from the current ones. Here each distortion is a small
callable class for one image ``(C, H, W)`` or a batch ``(N, C, H, W)`` of float images (each
image of a batch gets its own random draw), so it plugs into
:class:`cnnlib.data.AugmentedDataset` and a ``DataLoader(num_workers=...)``.

Randomness: each transform takes an optional ``torch.Generator``. Leave it ``None`` (torch's
global generator) inside a ``DataLoader``: every worker process seeds the global generator with
``base_seed + worker_id``, ``base_seed`` drawn from the loader's own generator, so a seeded loader
gives the same augmented batches on every run, and the workers draw different distortions. An
explicit generator is copied into each worker in the same state, so all workers would repeat the
same sequence; pass one for single-process use (tests, figures).

Test-time augmentation (AlexNet, Krizhevsky et al. 2012; seed 001's "multi-crop at test time"):
:func:`five_crop` and :func:`ten_crop` cut the corner and centre crops (and their mirrors) whose
predictions are averaged. Colour: :class:`ColorShift` (brightness, contrast, per-channel shifts;
for grey images the first two) and :class:`PCAColorShift` (AlexNet's shift along the principal
components of the training set's RGB values).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from cnnlib._checks import as_image_batch, check_choice, check_float, check_generator, pair
from cnnlib.ops import PADDING_MODES, pad2d

__all__ = [
    "RandomHorizontalFlip", "RandomCrop", "RandomAffine", "RandomRotation", "ColorShift", "PCAColorShift",
    "Compose", "affine", "center_crop", "five_crop", "ten_crop",
]

Range = float | tuple[float, float]


def _range(value: object, name: str, low: float = -math.inf, high: float = math.inf) -> tuple[float, float]:
    """``(lo, hi)`` from a number ``v >= 0`` (meaning ``(-v, v)``) or a pair ``lo <= hi``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (or a range (lo, hi)), got {value}")
        lo, hi = -value, value
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        lo, hi = value
    else:
        raise TypeError(f"{name} must be a number or a pair (lo, hi), got {value!r}")
    if not low <= lo <= hi <= high:
        raise ValueError(f"{name} must give a range lo <= hi within [{low}, {high}], got ({lo}, {hi})")
    return float(lo), float(hi)


def _scalar(value: object, name: str, high: float = math.inf) -> float:
    """A number in ``[0, high]``."""
    return check_float(value, name, 0.0, high, low_inclusive=True, high_inclusive=True)


class _RandomTransform:
    """Base of the random transforms: picklable together with their ``generator``.

    A ``DataLoader`` whose workers are *spawned* (the default on macOS and Windows) pickles the
    dataset and its transform into each worker. A ``torch.Generator`` travels there as a shared
    memory tensor that fails to rebuild in the worker ("unable to resize file"), so the
    generator is pickled as its plain state bytes instead, and rebuilt in the same state.
    """

    generator: torch.Generator | None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        g = state.get("generator")
        if isinstance(g, torch.Generator):
            state["generator"] = _GeneratorState(str(g.device), bytes(g.get_state().numpy()))
        return state

    def __setstate__(self, state: dict) -> None:
        g = state.get("generator")
        if isinstance(g, _GeneratorState):
            generator = torch.Generator(device=g.device)
            generator.set_state(torch.frombuffer(bytearray(g.state), dtype=torch.uint8))
            state["generator"] = generator
        self.__dict__.update(state)


class _GeneratorState(NamedTuple):
    device: str
    state: bytes


def _uniform(lo: float, hi: float, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=generator, dtype=torch.float64)


class RandomHorizontalFlip(_RandomTransform):
    """Mirror each image left-right with probability ``p`` (seed 001's "mirroring").

    Args:
        p (float): flip probability in [0, 1].
        generator (torch.Generator | None): random source (default: torch's global one).

    Example:
        >>> x = torch.arange(6.).view(1, 2, 3)
        >>> RandomHorizontalFlip(p=1.0)(x)
        tensor([[[2., 1., 0.],
                 [5., 4., 3.]]])
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        self.p, self.generator = _scalar(p, "p", high=1.0), check_generator(generator)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xb, single = as_image_batch(x)
        flip = (torch.rand(len(xb), generator=self.generator) < self.p).to(xb.device)  # (N,)
        out = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(_RandomTransform):
    """Pad, then cut a ``size`` window at a uniformly random offset (seed 001's "random cropping").

    Args:
        size (int | tuple[int, int]): output ``(h, w)``.
        padding (int | tuple[int, int, int, int]): added first, ``p`` or ``(left, right, top, bottom)``.
        pad_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"`` (as
            :func:`cnnlib.ops.pad2d`).
        fill (float): value of ``"zeros"`` padding.
        generator (torch.Generator | None): random source.

    Raises:
        ValueError: for bad sizes or padding, or (when called) a crop larger than the padded image.

    Example:
        >>> RandomCrop(28, padding=4)(torch.rand(1, 28, 28)).shape  # shifts of up to 4 pixels
        torch.Size([1, 28, 28])
    """

    def __init__(self, size, padding=0, pad_mode: str = "zeros", fill: float = 0.0, generator=None):
        self.size = pair(size, "size")
        four = (padding,) * 4 if isinstance(padding, int) and not isinstance(padding, bool) else padding
        if not isinstance(four, (tuple, list)) or len(four) != 4 or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in four):
            raise ValueError(f"padding must be an int >= 0 or (left, right, top, bottom), got {padding!r}")
        check_choice(pad_mode, "pad_mode", PADDING_MODES)
        self.padding, self.pad_mode, self.fill = tuple(four), pad_mode, float(fill)
        self.generator = check_generator(generator)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xb, single = as_image_batch(x)
        xp = pad2d(xb, self.padding, self.pad_mode, self.fill) if any(self.padding) else xb  # (N, C, Hp, Wp)
        (h, w), (Hp, Wp) = self.size, xp.shape[-2:]
        if h > Hp or w > Wp:
            raise ValueError(f"crop size {(h, w)} is larger than the padded image {(Hp, Wp)}")
        tops = torch.randint(0, Hp - h + 1, (len(xb),), generator=self.generator).tolist()
        lefts = torch.randint(0, Wp - w + 1, (len(xb),), generator=self.generator).tolist()
        out = torch.stack([xp[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(tops, lefts))]) \
            if len(xb) else xp[:, :, :h, :w]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, pad_mode={self.pad_mode!r})"


def _affine_matrix(angle: torch.Tensor, scale: torch.Tensor, shear: torch.Tensor) -> torch.Tensor:
    """``A = scale R(angle) Sh_y Sh_x`` of :func:`affine`, ``(N, 2, 2)`` from radians ``(N,)``, ``(N,)``, degrees ``(N, 2)``."""
    cos, sin, tx, ty = angle.cos(), angle.sin(), *torch.tan(torch.deg2rad(shear)).unbind(-1)
    R = torch.stack([cos, sin, -sin, cos], -1).view(-1, 2, 2)
    one, zero = torch.ones_like(tx), torch.zeros_like(tx)
    sh_x = torch.stack([one, tx, zero, one], -1).view(-1, 2, 2)
    sh_y = torch.stack([one, zero, ty, one], -1).view(-1, 2, 2)
    return scale[:, None, None] * R @ sh_y @ sh_x


def affine(x: torch.Tensor, angle=0.0, translate=(0.0, 0.0), scale=1.0, shear=(0.0, 0.0),
           interpolation: str = "bilinear", fill: float = 0.0) -> torch.Tensor:
    """Rotate, shear, scale and translate images about their centre (``F.affine_grid`` + ``F.grid_sample``).

    In pixel coordinates (``x`` to the right, ``y`` down, centre ``c = ((W-1)/2, (H-1)/2)``) an
    input point ``p`` moves to ``q = c + t + A (p - c)`` with
    ``A = scale * R(angle) @ Sh_y @ Sh_x``, ``R = [[cos, sin], [-sin, cos]]`` (positive angles turn
    the picture counter-clockwise, as ``torch.rot90``), ``Sh_x = [[1, tan shear_x], [0, 1]]`` and
    ``Sh_y = [[1, 0], [tan shear_y, 1]]``. Each output pixel ``q`` reads the input at
    ``c + A^{-1} (q - c - t)``, interpolated; pixels from outside the image get ``fill``.

    Args:
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): float images.
        angle (float | Tensor[N]): degrees, counter-clockwise.
        translate (tuple[float, float] | Tensor[N, 2]): ``(tx, ty)`` in pixels.
        scale (float | Tensor[N]): > 0.
        shear (tuple[float, float] | Tensor[N, 2]): ``(shear_x, shear_y)`` in degrees, in (-90, 90).
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill (float): value outside the input.

    Returns:
        Tensor: the shape, dtype and device of ``x``.

    Example:
        >>> x = torch.arange(4.).view(1, 2, 2)
        >>> affine(x, angle=90.0).round()  # a quarter turn counter-clockwise, as torch.rot90
        tensor([[[1., 3.],
                 [0., 2.]]])
    """
    xb, single = as_image_batch(x)
    N, C, H, W = xb.shape
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")

    def per_image(v, name, shape):
        t = torch.as_tensor(v, dtype=torch.float64).cpu()
        if t.shape not in (shape, (N, *shape)):
            raise ValueError(f"{name} must have shape {shape} or {(N, *shape)}, got {tuple(t.shape)}")
        return t.expand(N, *shape)

    a = torch.deg2rad(per_image(angle, "angle", ()))
    t = per_image(translate, "translate", (2,))
    s = per_image(scale, "scale", ())
    sh = per_image(shear, "shear", (2,))
    if (s <= 0).any() or (sh.abs() >= 90).any():
        raise ValueError("scale must be > 0 and shear angles within (-90, 90) degrees")
    if xb.numel() == 0:  # nothing to sample (F.affine_grid refuses empty sizes)
        return x.clone()
    A_inv = torch.linalg.inv(_affine_matrix(a, s, sh))  # (N, 2, 2), pixels -> pixels
    D = torch.tensor([W / 2, H / 2], dtype=torch.float64)  # pixel offset = D * normalised offset
    theta = torch.cat([A_inv * D[None, :] / D[:, None], (-(A_inv @ t[..., None])[..., 0] / D)[..., None]], -1)
    grid = F.affine_grid(theta.to(xb), (N, C, H, W), align_corners=False)  # (N, H, W, 2)
    out = F.grid_sample(xb, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    if fill != 0:
        inside = F.grid_sample(torch.ones_like(xb[:, :1]), grid, mode=interpolation, align_corners=False)
        out = out + (1 - inside) * fill
    return out[0] if single else out


class RandomAffine(_RandomTransform):
    """Random rotation, translation, scaling and shear (seed 001's "rotation, shearing"), by :func:`affine`.

    Args:
        degrees (float | tuple[float, float]): angle range, ``d`` meaning ``(-d, d)``.
        translate (tuple[float, float] | None): maximum ``(a, b)`` fractions of the width and the
            height: ``tx ~ U(-aW, aW)``, ``ty ~ U(-bH, bH)``.
        scale (tuple[float, float] | None): range of the scale factor (> 0).
        shear (float | tuple | None): ``s``, ``(lo, hi)`` (x-shear) or ``(xlo, xhi, ylo, yhi)``, degrees.
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill (float): value where the output sees outside the input.
        generator (torch.Generator | None): random source.

    Example:
        >>> aug = RandomAffine(degrees=15, translate=(0.1, 0.1), shear=10)
        >>> aug(torch.rand(8, 1, 28, 28)).shape
        torch.Size([8, 1, 28, 28])
    """

    def __init__(self, degrees: Range = 0.0, translate=None, scale=None, shear=None,
                 interpolation: str = "bilinear", fill: float = 0.0, generator=None):
        self.degrees = _range(degrees, "degrees")
        if translate is None:
            translate = (0.0, 0.0)
        if not (isinstance(translate, (tuple, list)) and len(translate) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in translate)):
            raise ValueError(f"translate must be None or a pair (a, b) of fractions in [0, 1], "
                             f"got {translate!r}")
        self.translate = (float(translate[0]), float(translate[1]))
        if scale is not None and not (isinstance(scale, (tuple, list)) and len(scale) == 2):
            raise ValueError(f"scale must be None or a range (lo, hi) with 0 < lo <= hi, got {scale!r}")
        self.scale = _range(tuple(scale), "scale", low=1e-12) if scale is not None else (1.0, 1.0)
        limits = {"low": -89.9, "high": 89.9}
        if shear is None:
            self.shear = (0.0, 0.0, 0.0, 0.0)
        elif isinstance(shear, (tuple, list)) and len(shear) == 4:
            self.shear = (_range(tuple(shear[:2]), "shear", **limits)
                          + _range(tuple(shear[2:]), "shear", **limits))
        else:
            self.shear = _range(shear, "shear", **limits) + (0.0, 0.0)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.interpolation, self.fill, self.generator = interpolation, float(fill), check_generator(generator)

    def get_params(self, n: int, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Draw the parameters of ``n`` images of ``size (H, W)``, in this order: angle,
        translate, scale, shear (float64, on the CPU). ``__call__`` uses exactly these draws."""
        H, W = size
        g = self.generator
        angle = _uniform(*self.degrees, (n,), g)
        translate = torch.stack([_uniform(-self.translate[0] * W, self.translate[0] * W, (n,), g),
                                 _uniform(-self.translate[1] * H, self.translate[1] * H, (n,), g)], -1)
        scale = _uniform(*self.scale, (n,), g)
        shear = torch.stack([_uniform(*self.shear[:2], (n,), g), _uniform(*self.shear[2:], (n,), g)], -1)
        return {"angle": angle, "translate": translate, "scale": scale, "shear": shear}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xb, single = as_image_batch(x)
        params = self.get_params(len(xb), tuple(xb.shape[-2:]))
        out = affine(xb, **params, interpolation=self.interpolation, fill=self.fill)
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear})")


class RandomRotation(RandomAffine):
    """Rotate by a uniformly random angle in ``degrees`` (``d`` means ``(-d, d)``), counter-clockwise positive.

    Example:
        >>> x = torch.rand(1, 5, 5)
        >>> torch.allclose(RandomRotation((90, 90))(x), torch.rot90(x, 1, (-2, -1)), atol=1e-6)
        True
    """

    def __init__(self, degrees: Range, interpolation: str = "bilinear", fill: float = 0.0, generator=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)


class ColorShift(_RandomTransform):
    """Random brightness, contrast and per-channel shifts (seed 001's "colour shifting").

    ``out = (x - m) * c + m + b + s_k`` per image, with ``m`` the image's mean value,
    ``c ~ U(1 - contrast, 1 + contrast)``, ``b ~ U(-brightness, brightness)`` and, for each
    channel ``k``, ``s_k ~ U(-channel_shift, channel_shift)``. For grey images use brightness and
    contrast; for colour images ``channel_shift`` tints them.

    Args:
        brightness (float): >= 0, the largest additive shift of all channels together.
        contrast (float): in [0, 1], the largest relative change of contrast.
        channel_shift (float): >= 0, the largest additive shift of one channel.
        clamp (tuple[float, float] | None): clip the result to ``(lo, hi)``, e.g. ``(0, 1)``.
        generator (torch.Generator | None): random source.

    Example:
        >>> aug = ColorShift(brightness=0.2, contrast=0.3, clamp=(0.0, 1.0))
        >>> out = aug(torch.rand(4, 1, 28, 28))
        >>> out.shape, bool(out.min() >= 0 and out.max() <= 1)
        (torch.Size([4, 1, 28, 28]), True)
    """

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, channel_shift: float = 0.0,
                 clamp: tuple[float, float] | None = None, generator=None):
        self.brightness = _scalar(brightness, "brightness")
        self.contrast = _scalar(contrast, "contrast", high=1.0)
        self.channel_shift = _scalar(channel_shift, "channel_shift")
        if clamp is not None and not (isinstance(clamp, (tuple, list)) and len(clamp) == 2):
            raise ValueError(f"clamp must be None or a pair (lo, hi), got {clamp!r}")
        self.clamp = None if clamp is None else _range(tuple(clamp), "clamp")
        self.generator = check_generator(generator)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xb, single = as_image_batch(x)
        N, C = xb.shape[:2]
        c = _uniform(1 - self.contrast, 1 + self.contrast, (N, 1, 1, 1), self.generator).to(xb)
        b = _uniform(-self.brightness, self.brightness, (N, 1, 1, 1), self.generator).to(xb)
        s = _uniform(-self.channel_shift, self.channel_shift, (N, C, 1, 1), self.generator).to(xb)
        m = xb.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
        out = (xb - m) * c + m + b + s
        if self.clamp is not None:
            out = out.clamp(*self.clamp)
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"ColorShift(brightness={self.brightness}, contrast={self.contrast}, "
                f"channel_shift={self.channel_shift})")


class PCAColorShift(_RandomTransform):
    """AlexNet's colour augmentation: add ``P (alpha * lambda)`` to every pixel of an image.

    ``lambda`` and the columns of ``P`` are the eigenvalues and eigenvectors of the ``C x C``
    covariance of the training set's pixel values, ``alpha_i ~ N(0, std^2)`` is drawn once per
    image (Krizhevsky et al., 2012, section 4.1: "object identity is invariant to changes in the
    intensity and color of the illumination"). The shift follows the colours the data set
    actually varies in; with values in [0, 1] it is a few hundredths for ``std = 0.1``.

    Args:
        eigvals (Tensor[C]): eigenvalues (>= 0).
        eigvecs (Tensor[C, C]): eigenvectors as columns.
        std (float): >= 0, standard deviation of ``alpha`` (0.1 in the paper).
        generator (torch.Generator | None): random source.

    Example:
        >>> rgb = torch.rand(16, 3, 8, 8)
        >>> aug = PCAColorShift.from_images(rgb, std=0.1)
        >>> tuple(aug.eigvals.shape), tuple(aug(rgb[0]).shape)
        ((3,), (3, 8, 8))
    """

    def __init__(self, eigvals: torch.Tensor, eigvecs: torch.Tensor, std: float = 0.1, generator=None):
        if not isinstance(eigvals, torch.Tensor) or eigvals.dim() != 1 or (eigvals < 0).any():
            raise ValueError(f"eigvals must be a Tensor[C] of values >= 0, got {eigvals!r}")
        C = len(eigvals)
        if not isinstance(eigvecs, torch.Tensor) or tuple(eigvecs.shape) != (C, C):
            got = tuple(eigvecs.shape) if isinstance(eigvecs, torch.Tensor) else eigvecs
            raise ValueError(f"eigvecs must be a Tensor[{C}, {C}] (eigenvectors as columns), got {got}")
        self.eigvals, self.eigvecs = eigvals.double().cpu(), eigvecs.double().cpu()
        self.std, self.generator = _scalar(std, "std"), check_generator(generator)

    @classmethod
    def from_images(cls, images: torch.Tensor, std: float = 0.1, generator=None) -> "PCAColorShift":
        """Fit the principal components of the pixel values of ``images (N, C, H, W)``."""
        xb, _ = as_image_batch(images, "images")
        C = xb.shape[1]
        pixels = xb.transpose(0, 1).reshape(C, -1).double()  # (C, N*H*W)
        if pixels.shape[1] < 2:
            raise ValueError("images must hold at least two pixels to estimate a covariance")
        vals, vecs = torch.linalg.eigh(torch.cov(pixels))  # ascending
        return cls(vals.flip(0).clamp_min(0).cpu(), vecs.flip(1).cpu(), std, generator)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xb, single = as_image_batch(x)
        if xb.shape[1] != len(self.eigvals):
            raise ValueError(f"x must have {len(self.eigvals)} channels (as eigvals), got {xb.shape[1]}")
        C = len(self.eigvals)
        alpha = self.std * torch.randn(len(xb), C, generator=self.generator, dtype=torch.float64)  # (N, C)
        shift = (alpha * self.eigvals) @ self.eigvecs.T  # (N, C): sum_i alpha_i lambda_i p_i
        out = xb + shift.to(xb)[:, :, None, None]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"PCAColorShift(eigvals={self.eigvals.tolist()}, std={self.std})"


class Compose:
    """Apply transforms one after the other.

    Example:
        >>> aug = Compose([RandomHorizontalFlip(), RandomCrop(28, padding=2), ColorShift(brightness=0.1)])
        >>> aug(torch.rand(1, 28, 28)).shape
        torch.Size([1, 28, 28])
    """

    def __init__(self, transforms: Sequence[Callable[[torch.Tensor], torch.Tensor]]):
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Sequence) or not all(
                map(callable, transforms)):
            raise TypeError(f"transforms must be a sequence of callables, got {transforms!r}")
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


def _crops(x: torch.Tensor, size, where: Sequence[str]) -> torch.Tensor:
    xb, single = as_image_batch(x)
    (h, w), (H, W) = pair(size, "size"), xb.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"crop size {(h, w)} is larger than the image {(H, W)}")
    corner = {"tl": (0, 0), "tr": (0, W - w), "bl": (H - h, 0), "br": (H - h, W - w),
              "c": ((H - h) // 2, (W - w) // 2)}  # (top, left) of each crop
    out = torch.stack([xb[:, :, t:t + h, l:l + w] for t, l in (corner[k] for k in where)], dim=1)  # (N, k, C, h, w)
    return out[0] if single else out


def center_crop(x: torch.Tensor, size) -> torch.Tensor:
    """The centred ``size`` window (top ``(H - h) // 2``, left ``(W - w) // 2``).

    Example:
        >>> center_crop(torch.arange(25.).view(1, 5, 5), 3)[0, 0]
        tensor([6., 7., 8.])
    """
    return _crops(x, size, ["c"]).select(-4, 0)


def five_crop(x: torch.Tensor, size) -> torch.Tensor:
    """The four corner crops and the centre crop, for multi-crop evaluation.

    Args:
        x (Tensor[C, H, W] or Tensor[N, C, H, W]): images.
        size (int | tuple[int, int]): crop ``(h, w)``, at most the image size.

    Returns:
        Tensor[5, C, h, w] (or Tensor[N, 5, C, h, w]): in the order top-left, top-right,
        bottom-left, bottom-right, centre (torchvision's order).

    Example:
        >>> crops = five_crop(torch.arange(16.).view(1, 4, 4), 2)
        >>> [c[0].flatten().int().tolist() for c in crops]  # 4x4 image 0..15, 2x2 crops
        [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15], [5, 6, 9, 10]]
    """
    return _crops(x, size, ["tl", "tr", "bl", "br", "c"])


def ten_crop(x: torch.Tensor, size) -> torch.Tensor:
    """:func:`five_crop` of ``x``, then :func:`five_crop` of ``x`` mirrored left-right (AlexNet's 10 crops).

    Crop ``5 + i`` is the ``i``-th crop of the mirrored image, so crop 5 (its top-left) is the
    mirror of crop 1 (the top-right of ``x``). Average the model's outputs over the crops:
    ``model(crops.flatten(0, 1)).view(N, 10, -1).mean(1)``.

    Returns:
        Tensor[10, C, h, w] (or Tensor[N, 10, C, h, w]).

    Example:
        >>> x = torch.rand(2, 3, 32, 32)
        >>> crops = ten_crop(x, 24)
        >>> crops.shape, torch.equal(crops[:, 5], crops[:, 1].flip(-1))
        (torch.Size([2, 10, 3, 24, 24]), True)
    """
    as_image_batch(x)
    return torch.cat([five_crop(x, size), five_crop(x.flip(-1), size)], dim=-4)
