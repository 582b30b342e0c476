"""Drawing the roads tiles (private): geometry, ground, roads, houses, trees, lighting.

Everything is vectorised numpy over the pixel grid of one tile, with one
``numpy.random.Generator`` as the only source of randomness; :mod:`cnnlib.data.roads` describes
the result (the dataset card) and holds the public API. Images here are ``(H, W, 3)`` float64
while they are drawn; pixel ``(i, j)`` has its centre at ``x = j + 0.5, y = i + 0.5``.
"""

from __future__ import annotations

import math

import numpy as np

# Ground cover colours (RGB in [0, 1]): grass, dark crop, ripe wheat, bare soil, fallow grey-beige
# (the colour of asphalt), pale stubble, meadow, ploughed dark soil.
FIELD_COLOURS = np.array([
    [0.36, 0.50, 0.22], [0.24, 0.38, 0.16], [0.72, 0.65, 0.40], [0.55, 0.45, 0.32],
    [0.50, 0.49, 0.45], [0.64, 0.61, 0.52], [0.44, 0.52, 0.30], [0.40, 0.35, 0.28],
])
# Roofs: light grey, dark grey (asphalt-like), terracotta, brown, flat beige, slate blue-grey.
ROOF_COLOURS = np.array([
    [0.60, 0.60, 0.60], [0.36, 0.36, 0.37], [0.66, 0.36, 0.26], [0.46, 0.32, 0.24],
    [0.76, 0.73, 0.66], [0.40, 0.43, 0.48],
])
DIRT = np.array([0.60, 0.50, 0.36])  # dirt road, between bare soil and stubble
TREE = np.array([0.16, 0.30, 0.12])  # canopy


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: ``X (1, W)`` and ``Y (H, 1)``, broadcasting to ``(H, W)``."""
    c = np.arange(size) + 0.5
    return c[None, :], c[:, None]


def smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 1) -> np.ndarray:
    """Bilinear upsampling of uniform noise in [-1, 1] on a ``cells x cells`` grid: ``(H, W, channels)``."""
    coarse = rng.uniform(-1, 1, size=(cells + 1, cells + 1, channels))
    pos = (np.arange(size) + 0.5) * cells / size  # in [0, cells)
    i0 = pos.astype(np.int64)
    f = pos - i0
    rows = coarse[i0] * (1 - f)[:, None, None] + coarse[i0 + 1] * f[:, None, None]  # (H, c + 1, ch)
    return rows[:, i0] * (1 - f)[None, :, None] + rows[:, i0 + 1] * f[None, :, None]  # (H, W, ch)


# ---------------------------------------------------------------------------------- geometry

def bezier(p0, p1, p2, p3, n: int = 20) -> np.ndarray:
    """``n + 1`` points on the cubic Bezier curve with control points ``p0 .. p3``: ``(n + 1, 2)``."""
    t = np.linspace(0, 1, n + 1)[:, None]
    return ((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3)


def exit_point(start: np.ndarray, direction: np.ndarray, low: float, high: float) -> np.ndarray:
    """Where the ray ``start + s * direction`` (``s > 0``) leaves the square ``[low, high]^2``."""
    s = math.inf
    for k in range(2):
        if direction[k] > 1e-9:
            s = min(s, (high - start[k]) / direction[k])
        elif direction[k] < -1e-9:
            s = min(s, (low - start[k]) / direction[k])
    return start + s * direction


def polyline_distance(points: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every pixel centre to a polyline, and the arc length of the nearest point.

    Args:
        points: ``(M + 1, 2)`` vertices ``(x, y)``.

    Returns:
        ``dist (H, W)`` and ``along (H, W)``, both in pixels.
    """
    points, X, Y = points.astype(np.float32), X.astype(np.float32), Y.astype(np.float32)  # twice as fast
    a, d = points[:-1], np.diff(points, axis=0)  # (M, 2) segment starts and directions
    length2 = np.maximum((d ** 2).sum(1), 1e-12)
    qx, qy = X[..., None] - a[:, 0], Y[..., None] - a[:, 1]  # (1, W, M) and (H, 1, M)
    t = np.clip((qx * d[:, 0] + qy * d[:, 1]) / length2, 0, 1)  # (H, W, M) position on each segment
    d2 = (qx - t * d[:, 0]) ** 2 + (qy - t * d[:, 1]) ** 2  # (H, W, M)
    k = d2.argmin(axis=2)[..., None]  # (H, W, 1) nearest segment
    start = np.concatenate([[0.0], np.cumsum(np.sqrt(length2))])  # arc length at each vertex
    along = start[k[..., 0]] + np.take_along_axis(t, k, 2)[..., 0] * np.sqrt(length2)[k[..., 0]]
    return np.sqrt(np.take_along_axis(d2, k, 2)[..., 0]).astype(np.float64), along.astype(np.float64)


def rotate(v: np.ndarray, angle: float) -> np.ndarray:
    """The 2-vector ``v`` turned by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def road_curves(rng: np.random.Generator, size: int, n_roads: int, p_junction: float,
                max_bend: float) -> list[np.ndarray]:
    """Centre lines of ``n_roads`` roads: the first crosses the tile from one side to another;
    each later one either crosses too or starts on an earlier road (a T-junction)."""
    lo, hi = -4.0, size + 4.0  # endpoints a little outside the tile, so roads run off its edges
    centre = np.array([size / 2, size / 2])
    curves: list[np.ndarray] = []
    for r in range(n_roads):
        bend = math.radians(max_bend) * rng.uniform(0, 1) ** 2  # many nearly straight roads
        base = curves[int(rng.integers(0, len(curves)))] if curves else None
        inside = np.flatnonzero(((base >= 0) & (base <= size)).all(1)) if base is not None else []
        if len(inside) > 4 and rng.uniform() < p_junction:  # T-junction: leave an earlier road sideways
            m = int(inside[rng.integers(len(inside) // 5, len(inside) - len(inside) // 5)])
            p0 = base[m]
            tangent = base[min(m + 1, len(base) - 1)] - base[max(m - 1, 0)]
            start_dir = np.array([-tangent[1], tangent[0]]) / max(np.linalg.norm(tangent), 1e-9)
            start_dir *= 1 if rng.uniform() < 0.5 else -1
            heading = rotate(start_dir, rng.uniform(-bend, bend))
            p3 = exit_point(p0, heading, lo, hi)
        else:  # a through road: both ends on the border
            a = rng.uniform(0, 2 * math.pi)
            heading = np.array([math.cos(a), math.sin(a)])
            q = centre + rng.uniform(-0.3, 0.3, 2) * size
            p0, p3 = exit_point(q, -heading, lo, hi), exit_point(q, heading, lo, hi)
            start_dir = heading
        length = np.linalg.norm(p3 - p0)
        turn1, turn2 = rng.uniform(-bend, bend, 2)
        p1 = p0 + rotate(start_dir, turn1) * length / 3
        p2 = p3 - rotate(heading, turn2) * length / 3
        curves.append(bezier(p0, p1, p2, p3, n=max(8, int(length / 4))))
    return curves


def rectangle(cx: float, cy: float, length: float, depth: float, c: float, s: float,
              X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A rectangle turned so that its long side runs along ``(c, s)``: bool mask ``(H, W)`` and
    the across-coordinate ``v (H, W)`` (signed, in pixels) used to shade a roof's two halves."""
    u = c * (X - cx) + s * (Y - cy)
    v = -s * (X - cx) + c * (Y - cy)
    return (np.abs(u) <= length / 2) & (np.abs(v) <= depth / 2), v


# ------------------------------------------------------------------------------------ layers

def ground(rng: np.random.Generator, size: int, X: np.ndarray, Y: np.ndarray, kind: str) -> np.ndarray:
    """Fields as Voronoi cells, each a crop colour with stripes, brightness patches and hedges."""
    scale = size * size / 4096
    k = int(rng.integers(2, 8) * scale) + 1
    sx, sy = rng.uniform(-0.1 * size, 1.1 * size, (2, k, 1, 1))
    d2 = (X - sx) ** 2 + (Y - sy) ** 2  # (k, H, W)
    two = np.partition(d2, 1, axis=0)[:2] if k > 1 else np.concatenate([d2, d2 + 1e6])
    label = d2.argmin(axis=0)  # (H, W) field of each pixel
    if kind == "village":  # lawns and gardens, with grey yards
        pick = rng.choice([0, 6, 0, 4, 5, 1], size=k)
    else:
        pick = rng.integers(0, len(FIELD_COLOURS), size=k)
    colours = FIELD_COLOURS[pick] + rng.uniform(-0.06, 0.06, (k, 3))
    colours *= rng.uniform(0.85, 1.15, (k, 1))
    angle, period = rng.uniform(0, math.pi, k), rng.uniform(2.0, 6.0, k)
    amp = rng.uniform(0, 0.09, k) * (rng.uniform(size=k) < 0.7)
    phase = rng.uniform(0, 2 * math.pi, k)
    a = angle[label]
    wave = amp[label] * np.sin(2 * math.pi * (X * np.cos(a) + Y * np.sin(a)) / period[label] + phase[label])
    image = colours[label] * (1 + wave[..., None])
    image *= 1 + 0.12 * smooth_noise(rng, size, int(rng.integers(3, 7)))
    if rng.uniform() < 0.5:  # hedges between fields
        edge = (np.sqrt(two[1]) - np.sqrt(two[0])) < rng.uniform(0.8, 1.8)
        image[edge] = TREE * rng.uniform(0.8, 1.3)
    return image


def paint_road(image: np.ndarray, rng: np.random.Generator, dist: np.ndarray, along: np.ndarray,
               width: float, dirt: bool, markings: bool, min_contrast: float) -> np.ndarray:
    """Paint one road (asphalt or dirt) over ``image`` in place; return its bool mask ``(H, W)``.

    Of up to eight colours drawn, the first that differs by at least ``min_contrast`` (RGB
    distance) from nine in ten pixels of the ground beside the road is taken (else the best)."""
    half = width / 2
    mask = dist <= half
    beside = image[(dist > half) & (dist < half + 3)]  # (B, 3) the ground along both edges
    best, best_close = None, 2.0
    for _ in range(8):
        if dirt:
            colour = DIRT * rng.uniform(0.8, 1.15) + rng.uniform(-0.05, 0.05, 3)
        else:
            colour = rng.uniform(0.28, 0.62) + rng.uniform(-0.03, 0.03, 3)  # asphalt grey
        close = (np.linalg.norm(beside - colour, axis=1) < min_contrast).mean() if len(beside) else 0.0
        if close < best_close:
            best, best_close = colour, close
        if close <= 0.1:
            break
    colour = best
    if dirt:
        shade = np.where(np.abs(dist - half / 2) < 0.5, 0.85, 1.0) if width >= 3 else 1.0  # wheel tracks
    else:
        shade = 1 + 0.05 * np.sin(along / rng.uniform(3, 9))  # repairs and patches along the road
    surface = colour * np.broadcast_to(np.asarray(shade), mask.shape)[..., None]
    if not dirt and markings and width >= 4.5:
        paint = rng.uniform(0.8, 0.95) * np.array([1.0, 1.0, rng.choice([1.0, 0.6])])
        period = rng.uniform(5, 9)
        dashes = (dist < 0.6) & ((along % period) < period * 0.5)
        if width >= 6:
            dashes |= np.abs(dist - (half - 0.8)) < 0.4  # edge lines
        surface[dashes] = paint
    image[mask] = surface[mask]
    return mask


def houses(image: np.ndarray, rng: np.random.Generator, X: np.ndarray, Y: np.ndarray,
           curves: list, widths: list, clearance: np.ndarray, count: int,
           size_range: tuple[float, float], sun: np.ndarray) -> np.ndarray:
    """Houses that keep one pixel away from every road, many of them facing a road, with roofs
    in two shaded halves and a shadow; paint them in place, return their bool mask ``(H, W)``."""
    taken = np.zeros(clearance.shape, dtype=bool)
    shadow = np.zeros(clearance.shape, dtype=bool)
    size = clearance.shape[0]
    for _ in range(count):
        for _try in range(4):
            length = rng.uniform(*size_range)
            depth = length * rng.uniform(0.55, 1.0)
            if curves and rng.uniform() < 0.7:  # along a road, parallel to it
                r = int(rng.integers(0, len(curves)))
                pts = curves[r]
                m = int(rng.integers(0, len(pts) - 1))
                t = pts[m + 1] - pts[m]
                t = t / max(np.linalg.norm(t), 1e-9)
                side = 1 if rng.uniform() < 0.5 else -1
                off = widths[r] / 2 + rng.uniform(1.5, 5) + depth / 2
                cx, cy = pts[m] + side * off * np.array([-t[1], t[0]])
                c, s = t
            else:
                cx, cy = rng.uniform(0, size, 2)
                a = rng.uniform(0, math.pi)
                c, s = math.cos(a), math.sin(a)
            body, v = rectangle(cx, cy, length, depth, c, s, X, Y)
            if not body.any() or (clearance[body] < 1.0).any() or (taken[body]).any():
                continue
            roof = ROOF_COLOURS[int(rng.integers(0, len(ROOF_COLOURS)))] * rng.uniform(0.85, 1.15)
            lit = 1 + 0.12 * np.sign(v) * np.sign(-s * sun[0] + c * sun[1] + 1e-9)  # ridge: two halves
            shade, _ = rectangle(cx - sun[0] * 2.5, cy - sun[1] * 2.5, length, depth, c, s, X, Y)
            shadow |= shade
            image[body] = (roof * lit[..., None])[body]
            taken |= body
            break
    image[shadow & ~taken] *= rng.uniform(0.5, 0.7)
    return taken


def trees(image: np.ndarray, rng: np.random.Generator, X: np.ndarray, Y: np.ndarray,
          curves: list, widths: list, count: int, p_on_road: float, radius: tuple[float, float],
          sun: np.ndarray, avoid: np.ndarray, clearance: np.ndarray) -> np.ndarray:
    """Round canopies, single, in groves or in rows along (and over) the roads, with shadows;
    paint them in place and return the canopy's bool mask ``(H, W)``."""
    size = image.shape[0]
    if count == 0:
        return np.zeros((size, size), dtype=bool)
    centres = rng.uniform(0, size, (count, 2))
    grove = rng.uniform(0, size, 2) + rng.normal(0, size / 8, (count, 2))
    in_grove = rng.uniform(size=count) < 0.4
    centres[in_grove] = grove[in_grove]
    r = rng.uniform(*radius, count)
    on_road = (rng.uniform(size=count) < p_on_road) & (len(curves) > 0)
    if curves:  # trees along the roads, their canopies over the road's edge or across it
        which = rng.integers(0, len(curves), count)
        for i in np.flatnonzero(on_road):
            pts = curves[which[i]]
            m = int(rng.integers(0, len(pts) - 1))
            t = pts[m + 1] - pts[m]
            n = np.array([-t[1], t[0]]) / max(np.linalg.norm(t), 1e-9)
            off = widths[which[i]] / 2 + r[i] * rng.uniform(-0.3, 0.8)
            centres[i] = pts[m] + rng.uniform() * t + n * off * (1 if rng.uniform() < 0.5 else -1)
    ij = np.clip(centres.astype(np.int64), 0, size - 1)
    # no tree grows out of a house; only those planted along a road reach over it
    keep = ~avoid[ij[:, 1], ij[:, 0]] & (on_road | (clearance[ij[:, 1], ij[:, 0]] > r))
    centres, r = centres[keep], r[keep]
    if len(r) == 0:
        return np.zeros((size, size), dtype=bool)
    cx, cy = centres[:, 0, None, None], centres[:, 1, None, None]
    wobble = 0.6 * smooth_noise(rng, size, size // 4)[..., 0]  # ragged canopy edges
    rr = r[:, None, None]
    d = np.sqrt((X - cx) ** 2 + (Y - cy) ** 2) / rr  # (T, H, W) in radii
    canopy = (d.min(axis=0) + wobble / r.mean()) < 1
    shift = sun * rng.uniform(1.5, 3.0)
    ds = (np.sqrt((X - cx + shift[0]) ** 2 + (Y - cy + shift[1]) ** 2) / rr).min(axis=0)
    image[(ds < 1) & ~canopy & ~avoid] *= rng.uniform(0.45, 0.65)
    k = d.argmin(axis=0)  # (H, W) nearest tree
    colour = TREE * rng.uniform(0.75, 1.3, (len(r), 1)) + rng.uniform(-0.03, 0.03, (len(r), 3))
    lit = 1 + 0.35 * ((X - cx[k, 0, 0]) * sun[0] + (Y - cy[k, 0, 0]) * sun[1]) / r[k]  # bright on the sun side
    image[canopy] = (colour[k] * lit[..., None])[canopy]
    return canopy


def camera(image: np.ndarray, rng: np.random.Generator, grain: np.ndarray, jitter: float,
           noise: tuple[float, float], p_blur: float) -> np.ndarray:
    """Lighting and colour jitter, haze, optional blur and sensor noise; clip to [0, 1]."""
    image = np.clip(image * (1 + 0.035 * grain), 0, None)  # surface texture grain
    image = image * rng.uniform(1 - jitter, 1 + jitter) * (1 + rng.normal(0, jitter / 2, 3))
    image = np.clip(image, 0, 1) ** rng.uniform(1 - 2 * jitter, 1 + 2.5 * jitter)
    if rng.uniform() < 0.2:  # haze
        image = image + rng.uniform(0, 0.15) * (np.array([0.72, 0.74, 0.8]) - image)
    if rng.uniform() < p_blur:  # a slightly soft lens: [1, 2, 1] / 4 along each axis
        p = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
        image = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
        image = (image[:, :-2] + 2 * image[:, 1:-1] + image[:, 2:]) / 4
    sigma = rng.uniform(*noise)
    return np.clip(image + sigma * rng.standard_normal(image.shape), 0, 1)
