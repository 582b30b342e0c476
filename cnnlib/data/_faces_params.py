"""Drawing the parameters of the procedural faces (private): traits per person, nuisances per photo.

Every random number comes from a generator seeded by the person (traits) or by the set's seed,
the person and the photo (nuisances), so a photo does not depend on which others are drawn with
it. Each generator gives a fixed block of uniforms, handed out in order by :class:`Draws`;
everything after that is vectorised over the batch. :mod:`cnnlib.data.faces` documents the
traits and nuisances (its dataset card) and :mod:`cnnlib.data._faces_draw` paints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cnnlib.data.faces import FaceConfig

_IDENTITY_STREAM = 0xFACE
_SKIN = np.array([[0.96, 0.82, 0.72], [0.36, 0.23, 0.16]])  # lightest and darkest skin
_HAIR = np.array([[0.07, 0.06, 0.06], [0.22, 0.14, 0.08], [0.42, 0.28, 0.15], [0.82, 0.68, 0.40],
                  [0.62, 0.26, 0.10], [0.55, 0.55, 0.55], [0.88, 0.88, 0.86]])
_HAIR_P = np.array([0.25, 0.25, 0.18, 0.12, 0.06, 0.09, 0.05])
_IRIS = np.array([[0.18, 0.10, 0.05], [0.35, 0.22, 0.10], [0.45, 0.40, 0.18], [0.25, 0.45, 0.25],
                  [0.25, 0.45, 0.75], [0.50, 0.55, 0.60]])


class Draws:
    """Hands out the columns of ``(N, K)`` uniforms in [0, 1) in order: ``u(low, high)`` or ``n`` columns."""

    def __init__(self, r: np.ndarray):
        self.r, self.k = r, 0

    def __call__(self, low: float = 0.0, high: float = 1.0, n: int = 0) -> np.ndarray:
        cols = self.r[:, self.k:self.k + max(n, 1)]  # (N, n)
        self.k += max(n, 1)
        out = low + (high - low) * cols
        return out if n else out[:, 0]

    def choice(self, p: np.ndarray) -> np.ndarray:
        """Category indices ``(N,)`` with probabilities ``p``."""
        return np.minimum(np.searchsorted(np.cumsum(p), self()), len(p) - 1)


def traits(ids: np.ndarray) -> dict[str, np.ndarray]:
    """The traits of people ``ids (N,)``: arrays ``(N,)`` and colours ``(N, 3)``."""
    rngs = [np.random.default_rng([int(i), _IDENTITY_STREAM]) for i in ids]
    u = Draws(np.stack([r.random(48) for r in rngs]))  # (N, 48)
    z = np.stack([r.standard_normal(6) for r in rngs])   # (N, 6)
    fw = u(0.32, 0.42)
    fh = fw * u(1.2, 1.45)
    style = u.choice(np.array([0.12, 0.35, 0.2, 0.2, 0.13]))
    hair = np.clip(_HAIR[u.choice(_HAIR_P)] * u(0.85, 1.15)[:, None] + 0.02 * z[:, :3], 0, 1)
    skin = np.clip(_SKIN[0] + u()[:, None] * (_SKIN[1] - _SKIN[0]) + 0.025 * z[:, 3:], 0, 1)
    eye_y, nose_len = -fh * u(0.05, 0.25), fh * u(0.28, 0.42)
    vol_small, vol_big = u(0.02, 0.09), u(0.13, 0.2)
    return {
        "fw": fw, "fh": fh, "jaw": u(1.6, 2.8), "skin": skin, "hair": hair, "hair_style": style.astype(float),
        "hair_vol": np.where(style == 4, vol_big, vol_small), "hairline": u(-0.85, -0.55),
        "fringe": u(0.0, 0.04), "part": u(0, 2 * np.pi),
        "eye_y": eye_y, "eye_sp": fw * u(0.36, 0.5), "eye_w": fw * u(0.13, 0.2), "eye_h": u(0.38, 0.6),
        "iris": _IRIS[u.choice(np.full(6, 1 / 6))] * u(0.8, 1.2)[:, None],
        "brow_gap": fh * u(0.12, 0.22), "brow_t": u(0.012, 0.03), "brow_len": u(1.1, 1.6),
        "brow_slope": u(-0.25, 0.25), "brow_arch": u(0.0, 0.04), "brow_col": hair * 0.65 + 0.03,
        "nose_len": nose_len, "nose_w": fw * u(0.2, 0.32),
        "mouth_y": eye_y + nose_len + fh * u(0.15, 0.25), "mouth_w": fw * u(0.28, 0.45), "lip_t": u(0.012, 0.03),
        "lip": skin * np.stack([u(0.75, 0.9), u(0.45, 0.62), u(0.45, 0.62)], axis=1),
        "ear": fh * u(0.16, 0.24), "beard": u.choice(np.array([0.7, 0.1, 0.12, 0.08])).astype(float),
        "mole": (u() < 0.3).astype(float), "mole_u": u(-0.6, 0.6), "mole_v": u(-0.3, 0.6),
        "p_glasses": np.where(u() < 0.75, 0.05, 0.75),
    }


def nuisances(seed: int, ids: np.ndarray, photos: np.ndarray, p_glasses: np.ndarray,
               cfg: FaceConfig) -> dict[str, np.ndarray]:
    """The nuisances of photos ``(seed, ids[k], photos[k])``: arrays ``(N,)``, colours ``(N, 3)``."""
    S = cfg.image_size
    rngs = [np.random.default_rng([seed, int(i), int(j)]) for i, j in zip(ids, photos)]
    u = Draws(np.stack([r.random(64) for r in rngs]))  # (N, 64)
    z = np.stack([r.standard_normal(4) for r in rngs])   # (N, 4)
    field = np.stack([r.standard_normal((3, S, S), dtype=np.float32) for r in rngs])  # (N, 3, S, S)
    wear, sun = u() < p_glasses, u() < cfg.p_sunglasses
    occ = np.where(u() < cfg.p_occlusion, np.where(u() < 0.5, 1.0, 2.0), 0.0)
    frame = np.where(u() < 0.5, 0.08, np.where(u() < 0.5, 0.55, u()))
    blink = u() < 0.05
    R = cfg.max_rotation
    n = {
        "rot": np.deg2rad(np.clip(z[:, 0] * R / 2, -R, R)),
        "yaw": u(-cfg.max_yaw, cfg.max_yaw), "pitch": u(-cfg.max_pitch, cfg.max_pitch),
        "scale": u(*cfg.scale), "tx": u(-cfg.max_shift, cfg.max_shift), "ty": u(-cfg.max_shift, cfg.max_shift),
        "gain": u(*cfg.gain), "light_angle": u(0, 2 * np.pi), "light_k": u(0, cfg.light),
        "cast": 1 + 0.12 * cfg.light * np.clip(np.stack([z[:, 1], z[:, 2], z[:, 3]], axis=1), -3, 3),
        "smile": u(-0.4, 1.0), "open": np.maximum(0.0, u(-0.03, 0.05)),
        "eye_open": np.where(blink, 0.15, u(0.6, 1.15)), "gaze": u(-1, 1), "brow_raise": u(-0.01, 0.03),
        "glasses": np.where(wear, np.where(sun, 2.0, 1.0), 0.0), "frame": frame[:, None] * u(0.8, 1.2, 3),
        "occ": occ, "occ_x": u(-0.6, 0.6), "occ_y": u(-0.6, 0.6), "occ_a": u(0.12, 0.3), "occ_b": u(0.1, 0.3),
        "occ_col": u(0, 1, 3), "bg": u(0.05, 0.95, 3), "bg_gx": u(-0.3, 0.3), "bg_gy": u(-0.3, 0.3),
        "blob_x": u(-1, 1, 3), "blob_y": u(-1, 1, 3), "blob_r": u(0.2, 0.6, 3), "blob_a": u(0, 0.6, 3),
        "blob_c": u(0, 1, 3), "shirt": u(0.05, 0.95, 3), "noise": u(*cfg.noise),
        "blur": (u() < cfg.p_blur).astype(float), "hair_vol_jitter": u(0.85, 1.15), "noise_field": field,
    }
    if cfg.plain_background:  # the draws above stay the same: only the background changes
        n["bg"], n["blob_a"] = np.full_like(n["bg"], 0.5), 0 * n["blob_a"]
        n["bg_gx"], n["bg_gy"] = 0 * n["bg_gx"], 0 * n["bg_gy"]
    return n
