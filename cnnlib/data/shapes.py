"""Shapes scenes: procedural images of rectangles, ellipses and triangles with boxes and masks.

Dataset card
------------
- **What**: square RGB scenes (64x64 by default, any size >= 16 works, 96x96 included) holding
  0 to 5 objects of three classes, :data:`CLASS_NAMES` = rectangle, ellipse, triangle, with
  their boxes, instance masks and a semantic mask. Made for object detection (chapter 3) and
  segmentation (chapter 4); nothing is downloaded, every scene is drawn from a seed.
- **How a scene is drawn** (:func:`make_scene`, numpy only, from one ``numpy.random.Generator``):
  a background that is a linear gradient between two random colours, plus, with probability
  1/2 each, sinusoidal stripes (3-10 per side, random angle) and smooth colour blobs (bilinear
  noise on a 3-6 cell grid). Then the number of objects is drawn uniformly in ``0..max_objects``
  and the objects one after the other, each on top of the previous ones: class uniform; side
  ``s`` log-uniform in ``[min_size, max_size]`` times the image side (10 to 32 pixels at 64x64);
  aspect ratio log-uniform in ``[1/2, 2]``; rectangles turned by up to 20 degrees, triangles
  (apex anywhere on the top edge, so isosceles to right-angled) by a multiple of 90 degrees plus
  up to 20, ellipses freely; the colour drawn in HSV independently of the class, so that only
  the shape tells the classes apart, with a gentle linear shading. A placement is rejected and
  redrawn (up to ``max_tries`` times, then the scene keeps fewer objects) if it would leave an
  earlier object less than ``min_visible`` (70 %) of its pixels, if its colour is closer than
  ``min_contrast`` (0.4 in RGB) to the background around it or to an object it overlaps or
  touches (four colours are tried first), or if it covers fewer than about
  ``(min_size * side)^2 / 3`` pixels. Finally
  Gaussian pixel noise (standard deviation uniform in [0.02, 0.08]) and clipping to [0, 1].
  Shapes are rasterised at pixel centres, without anti-aliasing, so masks and images agree exactly.
- **Targets**: ``boxes`` float32 ``(K, 4)`` xyxy in pixels, tight around the VISIBLE pixels of
  each object (an occluded object's box covers what can be seen; pixel ``(i, j)`` spans
  ``[j, j + 1) x [i, i + 1)``); ``labels`` int64 in 0..2; ``masks`` bool ``(K, H, W)``, the
  visible pixels, disjoint; ``semantic`` int64 ``(H, W)``, ``labels[k] + 1`` on object ``k``'s
  visible pixels and 0 on the background (:data:`SEGMENTATION_CLASSES`). Objects are listed in
  drawing order, the last on top. Images are float32 ``(3, H, W)`` in [0, 1].
- **Statistics** (2,000 default scenes, seed 0): objects per image 0/1/2/3/4/5 in
  16/17/17/17/17/15 % of the scenes (5 is a little rarer: crowded scenes run out of room),
  2.5 per scene on average; rectangles 31 %, ellipses 33 %, triangles 36 % of the objects (large
  rectangles are rejected more often); box size ``sqrt(w h)`` from 8 to 40 pixels, median 17.5,
  10 % below 11.5 and 42 % below 16 pixels (all "small" by COCO's 32-pixel rule); box aspect
  ratios between 0.6 and 1.7 for 90 % of the boxes; 53 % of the boxes overlap another box.
- **Splits**: scene ``i`` of :class:`ShapesDataset` comes from ``default_rng([seed, i])``, so a
  data set is its seed; the book trains on seed 0 and tests on seed 10,000 (disjoint in practice).
- **Difficulty**: easy enough that a detector trained for about a minute on two CPU cores gets
  mAP@0.5 around 0.9 (see :mod:`cnnlib.detection.detector`), hard enough that COCO's
  mAP@[.5:.95] stays well below it: small objects, similar colours across classes, textured
  backgrounds and overlaps punish imprecise boxes. Triangles are the hardest class: their thin
  tips decide the box.
- **Limits**: synthetic and clean-edged (no blur, perspective, lighting or clutter that looks like
  an object); three classes only; occlusion is capped, so heavy overlaps never occur; about two
  milliseconds of CPU per 64x64 scene.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from cnnlib._checks import check_int

__all__ = [
    "CLASS_NAMES", "SEGMENTATION_CLASSES", "ShapesConfig", "ShapesScene", "make_scene",
    "ShapesDataset", "detection_collate",
]

#: Object classes; detection label ``k`` is ``CLASS_NAMES[k]``.
CLASS_NAMES: tuple[str, ...] = ("rectangle", "ellipse", "triangle")
#: Classes of the semantic mask: 0 is background, object label ``k`` is ``k + 1``.
SEGMENTATION_CLASSES: tuple[str, ...] = ("background", *CLASS_NAMES)


@dataclass(frozen=True)
class ShapesConfig:
    """How scenes are drawn; sizes are fractions of the image side, so 64 and 96 look alike.

    Args:
        image_size (int): side of the square image in pixels (>= 16).
        max_objects (int): scenes hold ``0 .. max_objects`` objects, uniformly.
        min_size, max_size (float): the object's side ``s`` (geometric mean of width and
            height, before rotation) is log-uniform in ``[min_size, max_size] * image_size``.
        max_aspect (float): width / height is log-uniform in ``[1 / max_aspect, max_aspect]``.
        max_rotation (float): rectangles and triangles turn by up to this many degrees (triangles
            also by a multiple of 90); ellipses turn freely.
        min_visible (float): every object keeps at least this fraction of its own pixels
            visible once the later objects are drawn over it (0 < min_visible <= 1).
        min_contrast (float): RGB distance (in [0, 1] units) an object's colour keeps from the
            background under it and from every object it overlaps or touches.
        noise (tuple[float, float]): range of the standard deviation of the pixel noise.
        max_tries (int): placements tried per object before the scene settles for fewer objects.
    """

    image_size: int = 64
    max_objects: int = 5
    min_size: float = 0.16
    max_size: float = 0.5
    max_aspect: float = 2.0
    max_rotation: float = 20.0
    min_visible: float = 0.7
    min_contrast: float = 0.4
    noise: tuple[float, float] = (0.02, 0.08)
    max_tries: int = 30

    def __post_init__(self) -> None:
        check_int(self.image_size, "image_size", 16), check_int(self.max_objects, "max_objects", 0)
        if not 0 < self.min_size <= self.max_size <= 1:
            raise ValueError(f"need 0 < min_size <= max_size <= 1, got {self.min_size}, {self.max_size}")
        if self.max_aspect < 1:
            raise ValueError(f"max_aspect must be >= 1, got {self.max_aspect}")
        if not 0 < self.min_visible <= 1:
            raise ValueError(f"min_visible must be in (0, 1], got {self.min_visible}")
        if not 0 <= self.min_contrast < math.sqrt(3):
            raise ValueError(f"min_contrast must be in [0, sqrt(3)), got {self.min_contrast}")
        if len(self.noise) != 2 or not 0 <= self.noise[0] <= self.noise[1]:
            raise ValueError(f"noise must be a (low, high) range with 0 <= low <= high, got {self.noise!r}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")


@dataclass(frozen=True)
class ShapesScene:
    """One scene. ``K`` objects in drawing order (the last one is on top).

    Attributes:
        image (Tensor[3, H, W]): float32 RGB in [0, 1].
        boxes (Tensor[K, 4]): float32 ``(x1, y1, x2, y2)`` in pixels, tight around the visible
            pixels: pixel ``(row i, column j)`` covers ``[j, j + 1) x [i, i + 1)``.
        labels (Tensor[K]): int64 in ``0 .. len(CLASS_NAMES) - 1``.
        masks (Tensor[K, H, W]): bool, the VISIBLE pixels of each object (disjoint).
        semantic (Tensor[H, W]): int64, ``labels[k] + 1`` where object ``k`` is visible, else 0.
    """

    image: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    semantic: torch.Tensor


#: Colours drawn for one placement before the placement itself is redrawn.
_COLOUR_TRIES = 4


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A colour from HSV with hue uniform, saturation and value in [0.25, 1]: ``(3,)`` in [0, 1]."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0.25, 1), rng.uniform(0.25, 1)
    # per channel k = (n + 6h) mod 6 for n = 5, 3, 1; in plain floats: scenes are drawn by the
    # thousand and numpy's per-call cost on three numbers is most of the time
    return np.array([v - v * s * min(max(min(k, 4 - k), 0.0), 1.0) for k in ((n + 6 * h) % 6 for n in (5.0, 3.0, 1.0))])


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gradient between two colours plus stripes and/or smooth blobs: ``(H, W, 3)``."""
    x = (np.arange(size) + 0.5) / size
    y = x[:, None]  # (H, 1) and (W,): broadcast to (H, W)
    theta = rng.uniform(0, 2 * math.pi)
    t = x * math.cos(theta) + y * math.sin(theta)
    t = (t - t.min()) / (t.max() - t.min())
    c0, c1 = _random_colour(rng), _random_colour(rng)
    image = c0 + (c1 - c0) * t[..., None]  # (H, W, 3)
    kind = rng.integers(0, 4)  # 0 plain gradient, 1 stripes, 2 blobs, 3 both
    if kind in (1, 3):
        phi = rng.uniform(0, math.pi)
        freq = rng.uniform(3, 10)  # stripes per image side
        wave = np.sin(2 * math.pi * freq * (x * math.cos(phi) + y * math.sin(phi)) + rng.uniform(0, 2 * math.pi))
        image = image + rng.uniform(0.05, 0.2) * wave[..., None] * (_random_colour(rng) - 0.5)
    if kind in (2, 3):
        cells = int(rng.integers(3, 7))
        coarse = rng.uniform(-1, 1, size=(cells, cells, 3))
        image = image + rng.uniform(0.1, 0.25) * _upsample(coarse, size)
    return image.astype(np.float32)


def _upsample(coarse: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of a ``(c, c, 3)`` grid to ``(size, size, 3)`` (cell centres aligned)."""
    cells = coarse.shape[0]
    pos = np.clip((np.arange(size) + 0.5) * cells / size - 0.5, 0, cells - 1)
    i0 = np.minimum(pos.astype(np.int64), cells - 2)
    f = (pos - i0)[:, None, None]
    rows = coarse[i0] * (1 - f) + coarse[i0 + 1] * f  # (size, c, 3)
    f = f[:, :, 0][None, :, :]  # (1, size, 1)
    return rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f


def _shape_mask(kind: int, cx: float, cy: float, w: float, h: float, angle: float, apex: float,
                size: int) -> tuple[tuple[slice, slice], np.ndarray]:
    """Rasterise one shape at pixel centres, in a window one pixel wider than the shape.

    Returns:
        tuple: the window ``(rows, cols)`` as slices of the image, and the bool mask inside it.
    """
    r = 0.5 * math.hypot(w, h) + 1
    x0, x1 = min(max(int(cx - r), 0), size), min(max(int(cx + r) + 1, 0), size)
    y0, y1 = min(max(int(cy - r), 0), size), min(max(int(cy + r) + 1, 0), size)
    ys, xs = np.arange(y0, y1)[:, None] + 0.5, np.arange(x0, x1)[None, :] + 0.5  # broadcast to (h, w)
    c, s = math.cos(angle), math.sin(angle)
    u = c * (xs - cx) + s * (ys - cy)  # coordinates in the shape's own frame
    v = -s * (xs - cx) + c * (ys - cy)
    if kind == 0:  # rectangle
        inside = (np.abs(u) <= w / 2) & (np.abs(v) <= h / 2)
    elif kind == 1:  # ellipse
        inside = (u / (w / 2)) ** 2 + (v / (h / 2)) ** 2 <= 1
    else:  # triangle: apex on the top edge, base along the bottom edge
        corners = [((apex - 0.5) * w, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        inside = np.ones_like(u, dtype=bool)
        for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]):
            inside &= (bx - ax) * (v - ay) - (by - ay) * (u - ax) >= 0
    return (slice(y0, y1), slice(x0, x1)), inside


def _grow(mask: np.ndarray) -> np.ndarray:
    """The mask and its 4-neighbours (one pixel of dilation)."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def make_scene(rng: np.random.Generator, config: ShapesConfig | None = None) -> ShapesScene:
    """Draw one scene from ``rng`` (the only source of randomness).

    Args:
        rng (numpy.random.Generator): e.g. ``np.random.default_rng(0)``.
        config (ShapesConfig | None): drawing settings; default ``ShapesConfig()`` (64x64).

    Returns:
        ShapesScene: image ``(3, H, W)`` in [0, 1], boxes, labels, visible masks, semantic mask.

    Raises:
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.

    Example:
        >>> scene = make_scene(np.random.default_rng(3))
        >>> tuple(scene.image.shape), scene.boxes.shape[0] == scene.labels.shape[0] == scene.masks.shape[0]
        ((3, 64, 64), True)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    cfg = config if config is not None else ShapesConfig()
    if not isinstance(cfg, ShapesConfig):
        raise TypeError(f"config must be a ShapesConfig, got {type(cfg).__name__}")
    size = cfg.image_size
    canvas = _background(rng, size)  # (H, W, 3), before noise and clipping
    owner = np.full((size, size), -1, dtype=np.int64)  # index of the object on top, -1 background
    areas: list[int] = []  # pixels of each object when drawn
    visible: list[int] = []  # pixels of each object still visible
    colours: list[np.ndarray] = []
    labels: list[int] = []
    n_wanted = int(rng.integers(0, cfg.max_objects + 1))
    lo, hi = math.log(cfg.min_size * size), math.log(cfg.max_size * size)
    for _ in range(n_wanted):
        for _try in range(cfg.max_tries):
            kind = int(rng.integers(0, len(CLASS_NAMES)))
            side = math.exp(rng.uniform(lo, hi))
            aspect = math.exp(rng.uniform(-math.log(cfg.max_aspect), math.log(cfg.max_aspect)))
            w, h = side * math.sqrt(aspect), side / math.sqrt(aspect)
            rot = math.radians(rng.uniform(-cfg.max_rotation, cfg.max_rotation))
            angle = rng.uniform(0, math.pi) if kind == 1 else rot + (math.pi / 2 * int(rng.integers(0, 4)) if kind == 2 else 0)
            apex = rng.uniform(0, 1)
            cx = rng.uniform(min(w, h) / 2, size - min(w, h) / 2)
            cy = rng.uniform(min(w, h) / 2, size - min(w, h) / 2)
            win, mask = _shape_mask(kind, cx, cy, w, h, angle, apex, size)
            area = int(mask.sum())
            if area < max(6, (cfg.min_size * size) ** 2 / 3):
                continue
            under = owner[win]  # (h, w) window of the owner map
            covered = under[mask]
            lost = np.bincount(covered + 1, minlength=len(areas) + 1)[1:]  # pixels each object would lose
            if any(visible[j] - n < cfg.min_visible * areas[j] for j, n in enumerate(lost) if n):
                continue  # an earlier object would lose too much
            ring = _grow(mask)  # the window is one pixel wider than the shape, so the ring fits
            near = np.flatnonzero(np.bincount(under[ring] + 1, minlength=len(areas) + 1)[1:])
            bg = ring & (under < 0)
            around = [canvas[win][bg].mean(axis=0)] if bg.any() else []
            around += [colours[j] for j in near]  # colours the new object must stand out from
            for _colour_try in range(_COLOUR_TRIES):
                colour = _random_colour(rng)
                if all(np.linalg.norm(c - colour) >= cfg.min_contrast for c in around):
                    break
            else:
                continue  # no colour stands out here: try another placement
            # paint: the colour with a gentle linear shading across the object
            shade = rng.uniform(-0.12, 0.12, size=3)
            xs = np.arange(win[1].start, win[1].stop) + 0.5
            painted = colour + shade * ((xs - cx) / max(w, h))[:, None]  # (w, 3): shading along x
            canvas[win][mask] = np.broadcast_to(painted, mask.shape + (3,))[mask]
            under[mask] = len(areas)
            for j, n in enumerate(lost):
                visible[j] -= int(n)
            visible.append(area)
            areas.append(area)
            colours.append(colour)
            labels.append(kind)
            break
    sigma = rng.uniform(*cfg.noise)
    image = np.clip(canvas + sigma * rng.standard_normal(size=canvas.shape, dtype=np.float32), 0, 1)
    k = len(labels)
    masks = owner[None] == np.arange(k)[:, None, None]  # (K, H, W)
    keep = masks.any(axis=(1, 2))  # an object fully covered later cannot happen, but be safe
    masks = masks[keep]
    label_arr = np.asarray(labels, dtype=np.int64).reshape(-1)[keep]
    boxes = np.zeros((len(label_arr), 4), dtype=np.float32)
    for i, m in enumerate(masks):
        rows, cols = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
        boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    semantic = np.zeros((size, size), dtype=np.int64)
    for i, m in enumerate(masks):
        semantic[m] = label_arr[i] + 1
    return ShapesScene(
        image=torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32)),  # (3, H, W)
        boxes=torch.from_numpy(boxes),
        labels=torch.from_numpy(label_arr),
        masks=torch.from_numpy(masks),
        semantic=torch.from_numpy(semantic),
    )


class ShapesDataset(Dataset):
    """``n`` shapes scenes; scene ``i`` is drawn from ``np.random.default_rng([seed, i])``.

    Scenes are drawn when read (about two milliseconds each), so the data set costs no memory
    and scene ``i`` does not depend on ``n``. Items are ``(image, target)`` as in torchvision's
    detection models: ``image`` float32 ``(3, H, W)`` in [0, 1], ``target`` a dict with
    ``"boxes"`` ``(K, 4)`` xyxy pixels, ``"labels"`` ``(K,)``, ``"masks"`` ``(K, H, W)`` bool and
    ``"semantic"`` ``(H, W)`` int64.

    Args:
        n (int): number of scenes (>= 0).
        seed (int): seed of the whole set (>= 0); use different seeds for train and test.
        config (ShapesConfig | None): drawing settings; keyword arguments (``image_size=96``)
            override single fields.

    Example:
        >>> ds = ShapesDataset(4, seed=1, image_size=96)
        >>> image, target = ds[0]
        >>> tuple(image.shape), sorted(target)
        ((3, 96, 96), ['boxes', 'labels', 'masks', 'semantic'])
    """

    def __init__(self, n: int, seed: int = 0, config: ShapesConfig | None = None, **overrides):
        check_int(n, "n", 0)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        base = config if config is not None else ShapesConfig()
        unknown = set(overrides) - set(asdict(base))
        if unknown:
            raise ValueError(f"unknown ShapesConfig fields {sorted(unknown)}; valid: {sorted(asdict(base))}")
        self.n, self.seed = n, int(seed)
        self.config = ShapesConfig(**{**asdict(base), **overrides})

    def __len__(self) -> int:
        return self.n

    def scene(self, i: int) -> ShapesScene:
        """The full :class:`ShapesScene` number ``i`` (negative indices count from the end)."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} scenes")
        return make_scene(np.random.default_rng([self.seed, int(i) % self.n]), self.config)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        s = self.scene(i)
        return s.image, {"boxes": s.boxes, "labels": s.labels, "masks": s.masks, "semantic": s.semantic}


def detection_collate(
    batch: list[tuple[torch.Tensor, dict[str, torch.Tensor]]],
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Collate ``(image, target)`` pairs whose number of boxes differs from image to image.

    Args:
        batch (list): ``(image (3, H, W), target dict)`` pairs, all images of one size.

    Returns:
        tuple: images ``Tensor[N, 3, H, W]`` and the list of the ``N`` target dicts, untouched.

    Raises:
        ValueError: if the batch is empty or the images differ in shape.

    Example:
        >>> from torch.utils.data import DataLoader
        >>> images, targets = next(iter(DataLoader(ShapesDataset(8), batch_size=8, collate_fn=detection_collate)))
        >>> tuple(images.shape), len(targets)
        ((8, 3, 64, 64), 8)
    """
    if len(batch) == 0:
        raise ValueError("batch is empty")
    shapes = {tuple(image.shape) for image, _ in batch}
    if len(shapes) != 1:
        raise ValueError(f"all images of a batch must have one shape, got {sorted(shapes)}")
    return torch.stack([image for image, _ in batch]), [target for _, target in batch]
