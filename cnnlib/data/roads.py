"""Roads from above: aerial-looking RGB tiles with a road mask, drawn from a seed.

Dataset card
------------
- **What**: square RGB tiles (64x64 by default; any side >= 32, e.g. 96) of countryside and
  villages seen from above, with a per-pixel mask ``road = 1, background = 0``
  (:data:`ROAD_CLASSES`). It stands in for the aerial photographs of the lecture's project 3
  (roads from Google Maps tiles) for semantic segmentation, chapter 4; nothing is downloaded.
  The ground resolution is fixed (sizes are in pixels), so a larger tile shows more land.
- **How a tile is drawn** (:func:`make_roads_tile`, numpy only, from one
  ``numpy.random.Generator``): a kind of land (rural 50 %, village 30 %, woodland 20 %); fields
  as Voronoi cells, each a crop colour (grass, wheat, bare soil, grey-beige fallow land, ...) with
  plough stripes of its own period and angle, brightness patches and, in half the tiles, dark
  hedges along their borders; 1 to ``max_roads`` roads (none with ``p_no_road``), the first
  crossing the tile, each later one either crossing it too or leaving an earlier road sideways
  (a T-junction, ``p_junction``), as cubic Bezier centre lines bending up to ``max_bend``
  degrees; each road ``width`` pixels wide (uniform in 2-7), asphalt grey (0.28-0.62) with patches
  and, if 4.5 px or wider, dashed centre lines (and edge lines from 6 px) with ``p_markings``, or
  dirt-coloured with wheel tracks (``p_dirt``), its colour redrawn (up to 8 times) until it
  stands ``min_contrast`` away from 90 % of the ground beside it; houses (``max_houses``, most
  of them parallel to a road at 1.5-5 px from it, never on it) with roofs in two shaded halves,
  coloured light or dark grey (like asphalt), terracotta, brown, beige or slate, and a shadow; trees
  (``max_trees``: single, in a grove, or in rows along the roads with their canopies over the
  road's edge or across it) as dark green ragged discs lit from the sun's side, with shadows
  that fall on fields and roads alike; then a surface grain, per-tile lighting and white
  balance (``jitter``), haze in 20 % of the tiles, a slight blur (``p_blur``) and Gaussian sensor
  noise (``noise``). Roads are rasterised at pixel centres (distance to the centre line <= half
  the width), so mask and picture agree exactly.
- **Targets**: ``mask`` int64 ``(H, W)``, 1 on road pixels and 0 elsewhere. **Convention**: a
  road hidden under a tree canopy stays road (1), as annotators of road networks label it (the
  network is continuous under the trees); shadows do not change the label; houses never cover a
  road. ``return_layers=True`` also gives the canopy, houses and the occluded road pixels.
- **Statistics** (2,000 default tiles, seed 0): roads cover 14.2 % of the pixels (median tile
  13.8 %, 99th percentile 30 %); 5 % of the tiles have no road; 2.4 roads per tile on average;
  85 % of the tiles have houses; in 70 % of the tiles a tree hides part of a road, 3.0 % of all
  road pixels.
- **Difficulty**: colour alone is far from enough: the best "grey-ish, mid-brightness" rule
  (:func:`cnnlib.data.roads_baseline.fit_colour_rule`, thresholds tuned on 400 training tiles)
  reaches a foreground IoU of 0.27 on 1,000 held-out tiles, because fallow fields, roofs and shadows are grey too and dirt
  roads are not. A small U-Net (base 16, depth 2; cross-entropy + Dice, AdamW with a
  one-cycle learning rate up to 0.01) trained on 2,400 tiles for 1,200 steps of 16 random 48x48
  crops, each turned by one of the square's 8 symmetries (:class:`~cnnlib.data.TileBatches`),
  about 0.04 s a step on two CPU cores, reaches 0.88 on 500 held-out tiles (book section 4.3,
  over seeds, thread counts and CPU kernels); an FCN of output stride 8 trained the same way
  for 450 steps stays below 0.7.
- **Splits**: tile ``i`` of :class:`RoadsDataset` comes from ``default_rng([seed, i])``, so a
  set is its seed and tile ``i`` does not depend on the order or the size of the set; the book
  trains on seed 0 and tests on seed 10,000.
- **Limits**: synthetic: no buildings taller than a house, no rivers, railways, cars, parking
  lots, bridges or perspective; roads always run off the tile's edge (no dead ends); one ground
  resolution. About 4 ms of CPU per 64x64 tile (10 ms at 96x96). A picture of tiles and masks is drawn in the book.
- **Intended use**: teaching semantic segmentation (per-pixel classification, U-Net, IoU and
  Dice, class imbalance), not benchmarking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cnnlib._checks import check_float, check_int
from cnnlib.data import _roads_draw as draw

__all__ = ["ROAD_CLASSES", "RoadsConfig", "make_roads_tile", "RoadsDataset", "roads_tensors"]

#: Classes of the mask: 0 background, 1 road.
ROAD_CLASSES: tuple[str, ...] = ("background", "road")
_KINDS = ("rural", "village", "woodland")


def _check_range(value: object, name: str, low: float, high: float) -> tuple[float, float]:
    """A ``(a, b)`` pair of numbers with ``low <= a <= b <= high``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    a = check_float(value[0], f"{name}[0]", low, high, True, True)
    b = check_float(value[1], f"{name}[1]", low, high, True, True)
    if a > b:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    return a, b


@dataclass(frozen=True)
class RoadsConfig:
    """How tiles are drawn; lengths are in pixels (the ground resolution is fixed).

    Args:
        image_size (int): side of the square tile (>= 32).
        max_roads (int): roads per tile uniform in ``1 .. max_roads`` (>= 1).
        p_no_road (float): probability of a tile without roads.
        width (tuple[float, float]): road width range in pixels (within [1, 16]).
        p_junction (float): probability that a later road starts on an earlier one (T-junction)
            rather than crossing the whole tile.
        max_bend (float): largest turn of a road's ends in degrees (0: straight roads).
        p_dirt (float): probability that a road is a dirt road rather than asphalt.
        p_markings (float): probability that an asphalt road >= 4.5 px wide has lane markings.
        min_contrast (float): RGB distance a road's colour keeps from most of the ground beside
            it (the best of eight draws when none does).
        max_houses (int): houses per 64x64 of area, uniform in ``0 .. max_houses`` (twice as
            many in villages).
        house_size (tuple[float, float]): length of a house in pixels.
        max_trees (int): trees per 64x64 of area, uniform in ``0 .. max_trees`` (twice as many
            in woodland).
        tree_radius (tuple[float, float]): canopy radius in pixels.
        p_tree_on_road (float): fraction of the trees planted along a road, over its edge.
        jitter (float): strength of the per-tile lighting and white-balance changes (< 0.4).
        noise (tuple[float, float]): range of the sensor noise standard deviation.
        p_blur (float): probability of a slightly soft tile.
    """

    image_size: int = 64
    max_roads: int = 4
    p_no_road: float = 0.05
    width: tuple[float, float] = (2.0, 7.0)
    p_junction: float = 0.5
    max_bend: float = 60.0
    p_dirt: float = 0.3
    p_markings: float = 0.6
    min_contrast: float = 0.2
    max_houses: int = 6
    house_size: tuple[float, float] = (4.0, 10.0)
    max_trees: int = 24
    tree_radius: tuple[float, float] = (1.5, 4.0)
    p_tree_on_road: float = 0.15
    jitter: float = 0.12
    noise: tuple[float, float] = (0.01, 0.03)
    p_blur: float = 0.1

    def __post_init__(self) -> None:
        check_int(self.image_size, "image_size", 32)
        check_int(self.max_roads, "max_roads", 1)
        check_int(self.max_houses, "max_houses", 0), check_int(self.max_trees, "max_trees", 0)
        for name in ("p_no_road", "p_junction", "p_dirt", "p_markings", "p_tree_on_road", "p_blur"):
            check_float(getattr(self, name), name, 0.0, 1.0, True, True)
        check_float(self.min_contrast, "min_contrast", 0.0, math.sqrt(3), True, False)
        check_float(self.max_bend, "max_bend", 0.0, 90.0, True, True)
        check_float(self.jitter, "jitter", 0.0, 0.4, True, False)
        _check_range(self.width, "width", 1.0, 16.0)
        _check_range(self.house_size, "house_size", 2.0, 32.0)
        _check_range(self.tree_radius, "tree_radius", 0.5, 16.0)
        _check_range(self.noise, "noise", 0.0, 0.5)


def make_roads_tile(rng: np.random.Generator | int, config: RoadsConfig | None = None,
                    return_layers: bool = False) -> tuple:
    """Draw one tile and its road mask from ``rng`` (the only source of randomness).

    Args:
        rng (numpy.random.Generator | int): a generator, or a seed for ``default_rng(seed)``.
        config (RoadsConfig | None): drawing settings; default ``RoadsConfig()`` (64x64).
        return_layers (bool): also return a dict of bool ``Tensor[H, W]``: ``"trees"`` (canopy),
            ``"houses"``, ``"occluded"`` (road pixels under a canopy), and ``"widths"``
            (``Tensor[R]``, the width of each road in pixels).

    Returns:
        tuple: ``image`` float32 ``Tensor[3, H, W]`` in [0, 1] and ``mask`` int64
        ``Tensor[H, W]`` (road = 1), plus the layers dict when ``return_layers``.

    Raises:
        TypeError: if ``rng`` is neither a generator nor an int, or ``config`` is no RoadsConfig.

    Example:
        >>> image, mask = make_roads_tile(3)
        >>> tuple(image.shape), image.dtype, tuple(mask.shape), sorted(mask.unique().tolist())
        ((3, 64, 64), torch.float32, (64, 64), [0, 1])
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}")
    cfg = config if config is not None else RoadsConfig()
    if not isinstance(cfg, RoadsConfig):
        raise TypeError(f"config must be a RoadsConfig, got {type(cfg).__name__}")
    S = cfg.image_size
    X, Y = draw.grid(S)
    area = S * S / 4096
    kind = _KINDS[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
    image = draw.ground(rng, S, X, Y, kind)  # (H, W, 3)
    n_roads = 0 if rng.uniform() < cfg.p_no_road else int(rng.integers(1, cfg.max_roads + 1))
    curves = draw.road_curves(rng, S, n_roads, cfg.p_junction, cfg.max_bend)
    widths = [float(w) for w in rng.uniform(*cfg.width, n_roads)]
    road = np.zeros((S, S), dtype=bool)
    clearance = np.full((S, S), np.inf)  # distance from a pixel to the nearest road's edge
    for pts, w in zip(curves, widths):
        dist, along = draw.polyline_distance(pts, X, Y)
        dirt, markings = rng.uniform() < cfg.p_dirt, rng.uniform() < cfg.p_markings
        road |= draw.paint_road(image, rng, dist, along, w, dirt, markings, cfg.min_contrast)
        clearance = np.minimum(clearance, dist - w / 2)
    a = rng.uniform(0, 2 * math.pi)
    sun = np.array([math.cos(a), math.sin(a)])  # towards the sun; shadows fall the other way
    n_houses = int(rng.integers(0, cfg.max_houses + 1) * area * (2 if kind == "village" else 1))
    houses = draw.houses(image, rng, X, Y, curves, widths, clearance, n_houses, cfg.house_size, sun)
    n_trees = int(rng.integers(0, cfg.max_trees + 1) * area * (2 if kind == "woodland" else 1))
    canopy = draw.trees(image, rng, X, Y, curves, widths, n_trees, cfg.p_tree_on_road, cfg.tree_radius,
                        sun, houses, clearance)
    grain = rng.standard_normal((S, S, 3))
    image = draw.camera(image, rng, grain, cfg.jitter, cfg.noise, cfg.p_blur)
    out = (torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32)),  # (H, W, 3) -> (3, H, W)
           torch.from_numpy(road.astype(np.int64)))
    if not return_layers:
        return out
    layers = {"trees": torch.from_numpy(canopy), "houses": torch.from_numpy(houses),
              "occluded": torch.from_numpy(canopy & road),
              "widths": torch.tensor(widths, dtype=torch.float64)}
    return (*out, layers)


class RoadsDataset(Dataset):
    """``n`` road tiles; tile ``i`` is drawn from ``np.random.default_rng([seed, i])`` when read.

    Args:
        n (int): number of tiles (>= 0).
        seed (int): seed of the set (>= 0); use different seeds for training and testing.
        config (RoadsConfig | None): drawing settings; keyword arguments (``image_size=96``)
            override single fields.
        transform (callable | None): called as ``transform(image, mask=mask)``; a paired
            transform of :mod:`cnnlib.data.paired` (returning an ``Augmented``) or any callable
            returning ``(image, mask)``.

    Example:
        >>> ds = RoadsDataset(4, seed=1, image_size=96)
        >>> image, mask = ds[0]
        >>> tuple(image.shape), tuple(mask.shape), mask.dtype
        ((3, 96, 96), (96, 96), torch.int64)
    """

    def __init__(self, n: int, seed: int = 0, config: RoadsConfig | None = None,
                 transform: Callable | None = None, **overrides):
        check_int(n, "n", 0)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        base = config if config is not None else RoadsConfig()
        if not isinstance(base, RoadsConfig):
            raise TypeError(f"config must be a RoadsConfig, got {type(base).__name__}")
        unknown = set(overrides) - set(asdict(base))
        if unknown:
            raise ValueError(f"unknown RoadsConfig fields {sorted(unknown)}; valid: {sorted(asdict(base))}")
        self.n, self.seed, self.transform = n, int(seed), transform
        self.config = RoadsConfig(**{**asdict(base), **overrides})

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} tiles")
        image, mask = make_roads_tile(np.random.default_rng([self.seed, int(i) % self.n]), self.config)
        if self.transform is not None:
            out = self.transform(image, mask=mask)
            image, mask = (out.image, out.mask) if hasattr(out, "mask") else out
        return image, mask


def _stack(items: list) -> tuple[torch.Tensor, torch.Tensor]:
    """A chunk of ``(image, mask)`` items as two tensors (few file descriptors between processes)."""
    return torch.stack([x for x, _ in items]), torch.stack([m for _, m in items])


def roads_tensors(n: int, seed: int = 0, config: RoadsConfig | None = None,
                  workers: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw tiles ``0 .. n - 1`` of a seed at once, as two tensors in memory.

    Args:
        n (int): number of tiles (>= 1).
        seed (int): the set's seed, as in :class:`RoadsDataset`.
        config (RoadsConfig | None): drawing settings.
        workers (int): processes drawing in parallel (0: this process); the result does not
            depend on it.

    Returns:
        tuple: ``images`` float32 ``Tensor[N, 3, H, W]`` and ``masks`` int64 ``Tensor[N, H, W]``.

    Raises:
        ValueError: for ``n < 1`` or a negative seed or ``workers``.

    Example:
        >>> images, masks = roads_tensors(3, seed=2)
        >>> tuple(images.shape), tuple(masks.shape)
        ((3, 3, 64, 64), (3, 64, 64))
    """
    check_int(n, "n", 1), check_int(workers, "workers", 0)
    data = RoadsDataset(n, seed, config)
    if workers == 0:
        return _stack([data[i] for i in range(n)])
    loader = DataLoader(data, batch_size=max(1, math.ceil(n / (8 * workers))), num_workers=workers,
                        collate_fn=_stack)
    chunks = list(loader)
    return torch.cat([c[0] for c in chunks]), torch.cat([c[1] for c in chunks])
