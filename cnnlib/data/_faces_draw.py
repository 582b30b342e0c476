"""Drawing the procedural faces (private): soft shapes on a pixel grid, vectorised over a batch.

Every array here has the batch first and the pixels flattened last: a parameter is ``(B, 1)``
(a colour ``(B, 3, 1)``) so that it broadcasts against the pixel grid ``(1, H * W)``; images are
``(B, 3, H * W)`` float32 while they are drawn (long inner loops keep numpy fast). Image
coordinates run over ``[-1, 1]`` (``y`` down); a face is drawn in its own coordinates ``(u, v)``
(origin at the middle of the face), mapped to the image by a rotation, a scale and a shift.
Shapes are painted front to back with anti-aliased edges: a shape's coverage of a pixel is
``clip(0.5 - sd / px, 0, 1)`` with ``sd`` an (approximate) signed distance to its outline and
``px`` the size of a pixel. :mod:`cnnlib.data.faces` draws
the parameters and documents the result.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def _col(c: np.ndarray) -> np.ndarray:
    """A colour per image ``(B, 3)`` as ``(B, 3, 1)``."""
    return c.astype(F32)[:, :, None]


def _p(a: np.ndarray) -> np.ndarray:
    """A number per image ``(B,)`` as ``(B, 1)``."""
    return np.asarray(a, F32)[:, None]


def cover(sd: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] of a shape with signed distance ``sd`` (negative inside) at pixel size ``px``."""
    return np.clip(0.5 - sd / px, 0.0, 1.0)


def ellipse_sd(u, v, cu, cv, a, b) -> np.ndarray:
    """Approximate signed distance to the ellipse of centre ``(cu, cv)`` and half-axes ``a, b``.

    ``(q - 1) * sqrt(a * b)`` with ``q`` the ellipse's radial coordinate: exact on the outline
    (so sizes are exact), a little soft at the tips of a long ellipse, cheap.
    """
    q = np.sqrt(((u - cu) / a) ** 2 + ((v - cv) / b) ** 2)
    return (q - 1) * np.sqrt(a * b)


def box_sd(u, v, cu, cv, hu, hv) -> np.ndarray:
    """Signed distance (outside; exact up to the corners) to the box ``|u - cu| <= hu, |v - cv| <= hv``."""
    return np.maximum(np.abs(u - cu) - hu, np.abs(v - cv) - hv)


def paint(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour (B, 3, 1)`` over ``img (B, 3, P)`` with ``alpha (B, P)``, in place."""
    img += alpha.astype(F32)[:, None] * (colour - img)


def background(p: dict, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """A base colour, a linear gradient and three soft blobs (a room, a wall, a garden)."""
    ramp = p["bg_gx"] * X + p["bg_gy"] * Y  # (B, P)
    img = _col(p["bg"]) * (1 + ramp[:, None])
    bx, by, br, ba = (p[k][:, :, None].astype(F32) for k in ("blob_x", "blob_y", "blob_r", "blob_a"))  # (B, 3, 1)
    blobs = (ba * np.exp(-((X - bx) ** 2 + (Y - by) ** 2) / br ** 2)).sum(axis=1)  # (B, P)
    img = img + blobs[:, None] * _col(p["blob_c"] - 0.5)
    return np.ascontiguousarray(img, dtype=F32)


def face_sd(u, v, fw, fh, jaw) -> np.ndarray:
    """The face outline: an ellipse above the middle, a superellipse of exponent ``jaw`` below."""
    ex = np.where(v > 0, jaw, 2.0).astype(F32)
    q = (np.abs(u) / fw) ** ex + (np.abs(v) / fh) ** ex
    r = np.minimum(fw, fh)
    return (q ** (1 / ex) - 1) * r


def _sides(p, yaw, depth: float, scale: float = 1.0) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """For the left and right eye: ``(side, centre u, narrowing)``; turning narrows the far side."""
    return [(side, side * p["eye_sp"] * np.cos(yaw) + depth * np.sin(yaw) * p["fw"],
             scale * (1 - 0.35 * side * np.sin(yaw))) for side in (-1.0, 1.0)]


def eyes(img, u, v, px, p, open_, yaw) -> None:
    """Whites, irises, pupils and an eyelid line for both eyes (painted together)."""
    white, iris, pupil = [], [], []
    for _, cu, narrow in _sides(p, yaw, 0.75):
        a = p["eye_w"] * narrow
        white.append(ellipse_sd(u, v, cu, p["eye_y"], a, a * p["eye_h"] * open_))
        ic, r = cu + p["gaze"] * a * 0.35, a * p["eye_h"] * 0.75
        iris.append(np.maximum(white[-1], ellipse_sd(u, v, ic, p["eye_y"], r, r)))
        pupil.append(np.maximum(white[-1], ellipse_sd(u, v, ic, p["eye_y"], 0.45 * r, 0.45 * r)))
    white = np.minimum(*white)
    paint(img, np.clip(1.2 - np.abs(white) / px, 0, 1) * F32(0.8), _col(p["skin"] * 0.35))  # lids, lashes
    paint(img, cover(white, px), _col(np.full((len(img), 3), 0.93)))
    paint(img, cover(np.minimum(*iris), px), _col(p["iris"]))
    paint(img, cover(np.minimum(*pupil), px), _col(np.full((len(img), 3), 0.05)))


def brows(img, u, v, px, p, yaw) -> None:
    """Two tapered, sloped, arched bars above the eyes, in a darker shade of the hair."""
    sds = []
    for side, cu, narrow in _sides(p, yaw, 0.75, 1.0):
        half = p["brow_len"] * p["eye_w"] * narrow
        du = u - cu
        t = np.clip(du / half, -1, 1)
        centre = (p["eye_y"] - p["brow_gap"] - p["brow_raise"] + side * p["brow_slope"] * du
                  - p["brow_arch"] * (1 - t ** 2))
        thick = p["brow_t"] * (1 - 0.45 * (t * side + 1) / 2)
        sds.append(np.maximum(np.abs(du) - half, np.abs(v - centre) - thick))
    paint(img, cover(np.minimum(*sds), px) * F32(0.9), _col(p["brow_col"]))


def nose(img, u, v, px, p, yaw, light) -> None:
    """A shadow along the side of the bridge away from the light, and two nostrils."""
    cu = 1.0 * np.sin(yaw) * p["fw"]
    top, bottom = p["eye_y"], p["eye_y"] + p["nose_len"]
    side = -np.sign(light + 1e-3)
    shade = box_sd(u, v, cu + side * p["nose_w"] * 0.45, (top + bottom) / 2, p["nose_w"] * 0.12, (bottom - top) / 2)
    paint(img, cover(shade, px) * F32(0.45), _col(p["skin"] * 0.6))
    base = ellipse_sd(u, v, cu, bottom - 0.01, p["nose_w"] * 0.55, p["nose_w"] * 0.25)
    paint(img, cover(base, px) * F32(0.35), _col(p["skin"] * 0.7))
    holes = [ellipse_sd(u, v, cu + s * p["nose_w"] * 0.3, bottom, p["nose_w"] * 0.16, p["nose_w"] * 0.09)
             for s in (-1.0, 1.0)]
    paint(img, cover(np.minimum(*holes), px), _col(p["skin"] * 0.3))


def mouth(img, u, v, px, p, yaw) -> None:
    """Lips around a centre line that curves up with a smile; an open mouth shows a dark inside."""
    cu = 0.85 * np.sin(yaw) * p["fw"]
    half = p["mouth_w"] * (1 + 0.15 * p["smile"])
    t = np.clip((u - cu) / half, -1, 1)
    env = np.sqrt(1 - t ** 2)
    dv = v - (p["mouth_y"] - p["smile"] * 0.05 * (t ** 2 - 0.3))
    gap = p["open"] * env
    lips = np.maximum(np.abs(dv) - (gap + p["lip_t"] * (0.4 + env)), np.abs(u - cu) - half)
    paint(img, cover(lips, px), _col(p["lip"]))
    inner = np.maximum(np.abs(dv) - np.maximum(gap, 0.25 * px), np.abs(u - cu) - half)
    paint(img, cover(inner, px) * 0.85, _col(p["lip"] * 0.25))


def beard(img, u, v, px, p, yaw, face) -> None:
    """Moustache (kind 1), full beard (2) or stubble (3) in the hair colour, inside the face."""
    kind = p["beard"]
    cu = 0.85 * np.sin(yaw) * p["fw"]
    moust = ellipse_sd(u, v, cu, p["mouth_y"] - p["lip_t"] - 0.035, p["mouth_w"] * 1.05, 0.045)
    chin = np.maximum(p["mouth_y"] - 0.16 - v, -face)  # below the nose, inside the face
    full = np.minimum(moust, chin)
    alpha = np.where(kind == 1, cover(moust, px), np.where(kind >= 2, cover(full, px), 0.0))
    paint(img, alpha * np.where(kind == 3, F32(0.35), F32(0.92)), _col(p["hair"] * 0.8))


def hair(img, u, v, px, p, yaw, back: bool) -> None:
    """The hair: behind the head (``back``, styles 2-4: to the jaw, to the shoulders, volume) or on top.

    Style 0 is bald (hair on the sides only), 1 short, 2 to the jaw, 3 long, 4 curly volume.
    """
    style, fw, fh = p["hair_style"], p["fw"], p["fh"]
    cu = -0.3 * np.sin(yaw) * fw
    vol = p["hair_vol"]
    head = ellipse_sd(u, v, cu, -0.12 * fh, fw + vol, fh * 0.88 + vol)
    if back:
        length = np.where(style == 2, fh * 0.6, np.where(style == 3, fh * 1.6, fh * 0.25))
        drop = box_sd(u, v, cu, (length - 0.12 * fh) / 2, fw + vol * 0.8, (length + 0.12 * fh) / 2)
        sd = np.where(style >= 2, np.minimum(head, drop), 1.0)
        paint(img, cover(sd, px), _col(p["hair"] * 0.85))
        return
    wave = p["fringe"] * np.sin(u * 14 + p["part"] * 3)
    line = p["hairline"] * fh + 0.35 * (u / fw) ** 2 * fh + wave  # higher at the temples
    top = np.maximum(head, v - line)
    band = np.maximum(v - 0.05 * fh, -0.45 * fh - v)  # from the temples to the ears
    sides = np.maximum(head, np.maximum(band, fw * 0.8 - np.abs(u - cu)))
    sd = np.where(style == 0, sides, top)
    texture = 1 + 0.08 * np.sin(45 * u + 9 * v + p["part"] * 7)
    img += cover(sd, px)[:, None] * (_col(p["hair"]) * texture[:, None] - img)


def glasses(img, u, v, px, p, yaw) -> None:
    """Frames round both eyes with a bridge (kind 1), or dark sunglasses (kind 2)."""
    kind = p["glasses"]
    rings, lenses = np.full_like(u * v, 1e3), np.full_like(u * v, 1e3)
    for _, cu, narrow in _sides(p, yaw, 0.8):
        a = p["eye_w"] * 1.45 * narrow
        e = ellipse_sd(u, v, cu, p["eye_y"] + 0.01, a, p["eye_w"] * 1.05)
        rings, lenses = np.minimum(rings, np.abs(e) - 0.012), np.minimum(lenses, e)
    bridge = box_sd(u, v, 0.8 * np.sin(yaw) * p["fw"], p["eye_y"] - 0.02, p["eye_sp"] * 0.4, 0.01)
    frame = np.minimum(rings, bridge)
    paint(img, cover(lenses, px) * np.where(kind == 2, 0.88, 0.0), _col(p["frame"] * 0.3))
    paint(img, cover(frame, px) * (kind > 0), _col(p["frame"]))


def render(p: dict, size: int) -> np.ndarray:
    """Draw a batch of faces from their parameters (see :mod:`cnnlib.data.faces`): ``(B, 3, H, W)``."""
    p = {k: (_p(a) if a.ndim == 1 else a) for k, a in p.items()}
    c = (np.arange(size, dtype=F32) + 0.5) * 2 / size - 1
    X, Y = np.tile(c, size)[None], np.repeat(c, size)[None]  # (1, P) with P = H * W, row-major
    img = background(p, X, Y)
    ca, sa = np.cos(p["rot"]), np.sin(p["rot"])
    dx, dy = X - p["tx"], Y - p["ty"]
    u = (ca * dx + sa * dy) / p["scale"]  # face coordinates of every pixel: (B, P)
    v = (-sa * dx + ca * dy) / p["scale"]
    px = (2.0 / size) / p["scale"]  # a pixel in face units
    yaw, fw, fh = p["yaw"], p["fw"], p["fh"]
    shirt = ellipse_sd(u, v, 0.0, fh + 0.75, fw * 2.2, 0.6)
    paint(img, cover(shirt, px), _col(p["shirt"]))
    neck = box_sd(u, v, 0.1 * np.sin(yaw) * fw, fh * 0.8, fw * 0.55, fh * 0.5)
    paint(img, cover(neck, px), _col(p["skin"] * 0.78))
    hair(img, u, v, px, p, yaw, back=True)
    ears = [ellipse_sd(u, v, side * fw * 0.97 - 0.6 * np.sin(yaw) * fw, p["eye_y"] + 0.05, p["ear"] * 0.45, p["ear"])
            for side in (-1.0, 1.0)]
    paint(img, cover(np.minimum(*ears), px), _col(p["skin"] * 0.9))
    face = face_sd(u - 0.1 * np.sin(yaw) * fw, v, fw, fh, p["jaw"])
    paint(img, cover(face, px), _col(p["skin"]))
    light_u = np.cos(p["light_angle"])
    vi = v - 0.12 * np.sin(p["pitch"])  # inner features move up or down as the head nods
    eyes(img, u, vi, px, p, p["eye_open"], yaw)
    brows(img, u, vi, px, p, yaw)
    nose(img, u, vi, px, p, yaw, light_u)
    beard(img, u, vi, px, p, yaw, face)
    mouth(img, u, vi, px, p, yaw)
    mole = ellipse_sd(u, vi, p["mole_u"] * fw + 0.8 * np.sin(yaw) * fw, p["mole_v"] * fh, 0.025, 0.025)
    paint(img, cover(mole, px) * p["mole"], _col(p["skin"] * 0.35))
    hair(img, u, v, px, p, yaw, back=False)
    glasses(img, u, vi, px, p, yaw)
    # the light: a sphere-like head lit from one side, the room darker on the other
    head = cover(np.minimum(face, ellipse_sd(u, v, 0.0, -0.12 * fh, fw * 1.1, fh)), px)
    nu, nv = np.clip(u / (fw * 1.1), -1, 1), np.clip(v / fh, -1, 1)
    lu, lv = light_u, np.sin(p["light_angle"])
    shade = 1 + p["light_k"] * (head * (nu * lu + nv * lv) + (1 - head) * 0.4 * (X * lu + Y * lv))
    img *= (p["gain"] * shade)[:, None] * _col(p["cast"])
    occ = np.where(p["occ"] == 1, ellipse_sd(X, Y, p["occ_x"], p["occ_y"], p["occ_a"], p["occ_b"]),
                   box_sd(X, Y, p["occ_x"], p["occ_y"], p["occ_a"], p["occ_b"]))
    paint(img, cover(occ, 2.0 / size) * (p["occ"] > 0), _col(p["occ_col"]))
    img = img.reshape(len(img), 3, size, size)  # (B, 3, H, W)
    blurred = (img + np.roll(img, 1, 2) + np.roll(img, -1, 2) + np.roll(img, 1, 3) + np.roll(img, -1, 3)) / 5
    img = np.where(p["blur"][:, :, None, None] > 0, blurred, img)
    img += p["noise"][:, :, None, None] * p["noise_field"]
    return np.clip(img, 0.0, 1.0)
