"""Procedural faces with identities: many people, many photos each, drawn from a seed.

Dataset card
------------
- **What**: square RGB photos (48x48 by default; any side >= 24) of cartoon-like faces, each
  labelled with the identity of the person drawn. It stands in for face-identity data sets such
  as LFW (which cannot be downloaded at run time, and ``skimage.data.lfw_subset`` has no
  identity labels) for chapter 5: verification, one-shot recognition, metric learning. Identity
  ids are any ints in ``[0, 2**31)``; :data:`FACE_SPLITS` fixes disjoint sets of 1,000 training,
  200 validation and 200 test identities.
- **An identity** (:func:`identity_traits`, from ``default_rng([identity, 0xFACE])`` alone, the
  same in every set) is about 40 numbers: face width and height, jaw shape (the exponent of the lower
  half's superellipse), skin tone (a light-to-dark scale with a little hue), hair colour (black,
  browns, blond, red, grey, white) and style (bald, short, to the jaw, long, curly volume),
  hairline, fringe and parting, eye height, spacing, size, shape and iris colour, eyebrow gap,
  thickness, length, slope and arch, nose length and width, mouth height and width, lip
  thickness and colour, ears, facial hair (none 70 %, moustache, beard, stubble), a mole (30 %),
  and how often the person wears glasses (5 % or 75 % of the photos).
- **A photo** (:func:`photo_nuisances`, from ``default_rng([seed, identity, photo])``) adds
  nuisances: in-plane rotation (normal, sd 7.5 degrees, clipped at ``max_rotation``), turning
  (yaw up to ``max_yaw`` radians: inner features slide sideways, the far eye narrows, one ear
  hides) and nodding (pitch), scale 0.95-1.25 and a shift of up to ``max_shift`` of the half
  width; lighting (gain 0.6-1.3, a light from any side shading a sphere-like head, a colour
  cast of sd ``0.12 light``: 6 %); expression (smile or frown, open mouth, eyes half shut or blinking, gaze, raised
  brows); glasses (clear, or sunglasses with ``p_sunglasses``); an occluding object (an ellipse
  or a rectangle of any colour, ``p_occlusion``); the background (any colour, a gradient and
  three soft blobs) and the shirt (any colour); sensor noise (sd 0.005-0.05) and a slight blur
  (``p_blur``).
- **Difficulty**: raw pixels fail. Nearest neighbour on raw pixels (Euclidean distance),
  5-way 1-shot over 600 episodes on the test identities (seed 10,000, 4 photos each), is right
  0.30 of the time (chance 0.20; 0.40 on the central 24x24 crop; an untrained CNN 0.22): the
  background, light and pose move pixels more than identity does (``tests/data/test_faces.py``
  asserts <= 0.5). The identity is still there: a four-block CNN (16-32-64-64 channels, batch
  norm, a 32-d embedding) trained with the batch-all triplet loss on 16 x 4 batches of the
  training identities for 60 s on one CPU thread reaches 0.91 on the same episodes.
- **Statistics** (10,000 photos of the 1,000 training identities, seed 0): mean pixel 0.44,
  sd 0.26; 11 % of the people bald, 68 % without facial hair, 33 % with a mole, 25 % often in
  glasses; glasses on 23 % of the photos (4.5 % sunglasses), 25 % occluded, 25 % blurred.
  :func:`faces_tensors` draws about 1,600 photos a second at 48x48 on one core (vectorised over
  chunks of photos); a :class:`FacesDataset` item drawn alone takes about 2 ms.
- **Splits**: photo ``j`` of identity ``i`` depends only on ``(seed, i, j)``, not on the order
  or size of a set. Train on the ``"train"`` identities, choose thresholds on ``"val"``, report
  on ``"test"``: these people are never seen in training.
- **Limits**: cartoon faces: no real skin texture, wrinkles, ageing, make-up or hats; no
  out-of-plane rotation beyond about 25 degrees; one face per photo, roughly centred (as after
  a face detector and alignment). Not a benchmark: what transfers to real faces is the method.
- **Intended use**: teaching face verification and recognition, one-shot learning, Siamese
  networks, contrastive, triplet and margin losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from cnnlib._checks import check_float, check_int
from cnnlib.data import _faces_draw as draw
from cnnlib.data._faces_params import nuisances, traits
from cnnlib.data.roads import _check_range

__all__ = ["FACE_SPLITS", "FaceConfig", "identity_traits", "photo_nuisances", "render_faces",
           "FacesDataset", "faces_tensors"]

#: Disjoint identity ranges: train on 1,000 people, choose thresholds on 200, test on 200 others.
FACE_SPLITS: dict[str, range] = {"train": range(0, 1000), "val": range(1000, 1200), "test": range(1200, 1400)}

_CHUNK = 16  # photos drawn together: small enough to stay in the CPU cache


@dataclass(frozen=True)
class FaceConfig:
    """How the photos are drawn: the image size and the strength of each nuisance.

    Args:
        image_size (int): side of the square photo (>= 24).
        grayscale (bool): one channel (luminance 0.299 R + 0.587 G + 0.114 B) instead of RGB.
        max_rotation (float): largest in-plane rotation in degrees (0 to 45).
        max_yaw (float): largest turn of the head in radians (0 to 0.6).
        max_pitch (float): largest nod of the head in radians (0 to 0.5).
        max_shift (float): largest shift, as a fraction of the half width (0 to 0.3).
        scale (tuple[float, float]): range of the face's scale (within [0.5, 1.5]).
        gain (tuple[float, float]): range of the overall brightness factor (within [0.2, 2]).
        light (float): largest strength of the side light (0 to 0.8); the colour cast's sd is
            ``0.12 light``.
        p_occlusion (float): probability of an occluding object.
        p_sunglasses (float): probability that glasses, when worn, are sunglasses.
        noise (tuple[float, float]): range of the sensor noise sd (within [0, 0.3]).
        p_blur (float): probability of a slight blur.
        plain_background (bool): a plain mid-grey background instead of a random one (to show
            or study the other nuisances alone).
    """

    image_size: int = 48
    grayscale: bool = False
    max_rotation: float = 15.0
    max_yaw: float = 0.45
    max_pitch: float = 0.3
    max_shift: float = 0.12
    scale: tuple[float, float] = (0.95, 1.25)
    gain: tuple[float, float] = (0.6, 1.3)
    light: float = 0.5
    p_occlusion: float = 0.25
    p_sunglasses: float = 0.2
    noise: tuple[float, float] = (0.005, 0.05)
    p_blur: float = 0.25
    plain_background: bool = False

    def __post_init__(self) -> None:
        check_int(self.image_size, "image_size", 24)
        for name in ("grayscale", "plain_background"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name, high in (("max_rotation", 45.0), ("max_yaw", 0.6), ("max_pitch", 0.5), ("max_shift", 0.3),
                           ("light", 0.8), ("p_occlusion", 1.0), ("p_sunglasses", 1.0), ("p_blur", 1.0)):
            check_float(getattr(self, name), name, 0.0, high, True, True)
        _check_range(self.scale, "scale", 0.5, 1.5)
        _check_range(self.gain, "gain", 0.2, 2.0)
        _check_range(self.noise, "noise", 0.0, 0.3)


def _check_id(value: object, name: str) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    return check_int(value, name, 0, 2 ** 31 - 1)


def identity_traits(identity: int) -> dict[str, float | np.ndarray]:
    """The traits of one person: the same for every photo, every seed and every set.

    Args:
        identity (int): the person, in ``[0, 2**31)``.

    Returns:
        dict[str, float | numpy.ndarray]: each trait a float (colours: RGB arrays of shape
        ``(3,)`` in [0, 1]); lengths are in units of the image's half width.

    Raises:
        TypeError, ValueError: for an identity that is not an int in range.

    Example:
        >>> t = identity_traits(7)
        >>> bool(np.all(t["skin"] == identity_traits(7)["skin"])), 0.3 < t["fw"] < 0.45
        (True, True)
    """
    t = traits(np.array([_check_id(identity, "identity")]))
    return {k: (v[0] if v.ndim > 1 else float(v[0])) for k, v in t.items()}


def photo_nuisances(seed: int, identity: int, photo: int,
                    config: FaceConfig | None = None) -> dict[str, float | np.ndarray]:
    """The nuisances of one photo: pose, lighting, expression, glasses, occlusion, background, noise.

    Args:
        seed (int): the set's seed (>= 0).
        identity (int): the person (>= 0); glasses depend on how often they wear them.
        photo (int): the photo's index (>= 0).
        config (FaceConfig | None): strengths of the nuisances; default ``FaceConfig()``.

    Returns:
        dict[str, float | numpy.ndarray]: floats (angles in radians), colours ``(3,)`` and the
        unit noise field ``(3, H, W)`` (scaled by ``"noise"``).

    Example:
        >>> n = photo_nuisances(0, 3, 1)
        >>> n["scale"] == photo_nuisances(0, 3, 1)["scale"], n["noise_field"].shape
        (True, (3, 48, 48))
    """
    cfg = _config(config)
    ids, shots = np.array([_check_id(identity, "identity")]), np.array([_check_id(photo, "photo")])
    n = nuisances(check_int(seed, "seed", 0), ids, shots, traits(ids)["p_glasses"], cfg)
    return {k: (v[0] if v.ndim > 1 else float(v[0])) for k, v in n.items()}


def _config(config: object) -> FaceConfig:
    cfg = config if config is not None else FaceConfig()
    if not isinstance(cfg, FaceConfig):
        raise TypeError(f"config must be a FaceConfig, got {type(cfg).__name__}")
    return cfg


def _ids(values: object, name: str) -> np.ndarray:
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__}")
    return np.array([_check_id(v, f"{name}[{i}]") for i, v in enumerate(values)], np.int64)


def render_faces(identities: Sequence[int], photos: Sequence[int], seed: int = 0,
                 config: FaceConfig | None = None) -> torch.Tensor:
    """Draw photo ``photos[k]`` of person ``identities[k]`` for every ``k``, all at once.

    Args:
        identities (Sequence[int]): identity of each photo, ``N`` ints.
        photos (Sequence[int]): index of each photo, ``N`` ints.
        seed (int): the set's seed (>= 0).
        config (FaceConfig | None): drawing settings; default ``FaceConfig()``.

    Returns:
        Tensor[N, C, H, W]: float32 in [0, 1], ``C = 3`` (1 if ``config.grayscale``).

    Raises:
        ValueError: if the two sequences differ in length or hold a negative id.
        TypeError: if they are not sequences of ints, or ``config`` is no FaceConfig.

    Example:
        >>> x = render_faces([0, 0, 5], [0, 1, 0])
        >>> tuple(x.shape), x.dtype, bool(torch.equal(x[2], render_faces([5], [0])[0]))
        ((3, 3, 48, 48), torch.float32, True)
    """
    cfg = _config(config)
    ids, shots = _ids(identities, "identities"), _ids(photos, "photos")
    if len(ids) != len(shots):
        raise ValueError(f"identities and photos must have the same length, got {len(ids)} and {len(shots)}")
    check_int(seed, "seed", 0)
    C, S = (1 if cfg.grayscale else 3), cfg.image_size
    out = torch.zeros(len(ids), C, S, S)
    if len(ids) == 0:
        return out
    people, where = np.unique(ids, return_inverse=True)
    per_person = traits(people)
    for k in range(0, len(ids), _CHUNK):
        sl = slice(k, k + _CHUNK)
        params = {name: v[where[sl]] for name, v in per_person.items()}
        params.update(nuisances(seed, ids[sl], shots[sl], params["p_glasses"], cfg))
        params["hair_vol"] = params["hair_vol"] * params.pop("hair_vol_jitter")
        images = draw.render(params, S)  # (n, 3, H, W)
        if cfg.grayscale:
            images = np.einsum("nchw,c->nhw", images, np.array([0.299, 0.587, 0.114], np.float32))[:, None]
        out[sl] = torch.from_numpy(images.astype(np.float32))
    return out


class FacesDataset(Dataset):
    """``photos`` photos of each of ``identities``: item ``i`` is photo ``i % photos`` of person ``i // photos``.

    Each item is drawn when read (about 3 ms); :func:`faces_tensors` draws a whole set at once,
    much faster. The label is the person's position in ``identities`` (``0 .. K - 1``, as a
    classifier head needs); ``dataset.identities[label]`` is the identity id.

    Args:
        identities (int | Sequence[int]): the people: ``K`` ids, or an int ``K`` for ``range(K)``;
            e.g. ``FACE_SPLITS["train"]``.
        photos (int): photos per person (>= 1).
        seed (int): the set's seed (>= 0).
        config (FaceConfig | None): drawing settings; keyword arguments (``image_size=64``)
            override single fields.
        transform (callable | None): applied to each image ``Tensor[C, H, W]``.

    Example:
        >>> ds = FacesDataset(FACE_SPLITS["val"], photos=3, seed=1, image_size=32)
        >>> image, label = ds[4]
        >>> len(ds), tuple(image.shape), label, ds.identities[label]
        (600, (3, 32, 32), 1, 1001)
    """

    def __init__(self, identities: int | Sequence[int], photos: int, seed: int = 0,
                 config: FaceConfig | None = None, transform: Callable | None = None, **overrides):
        if isinstance(identities, (int, np.integer)) and not isinstance(identities, bool):
            identities = range(check_int(int(identities), "identities", 1))
        self.identities = [int(i) for i in _ids(identities, "identities")]
        if len(set(self.identities)) != len(self.identities) or not self.identities:
            raise ValueError(f"identities must be a non-empty sequence of distinct ids, got {len(self.identities)} "
                             f"ids of which {len(set(self.identities))} distinct")
        check_int(photos, "photos", 1), check_int(seed, "seed", 0)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        base = _config(config)
        unknown = set(overrides) - set(asdict(base))
        if unknown:
            raise ValueError(f"unknown FaceConfig fields {sorted(unknown)}; valid: {sorted(asdict(base))}")
        self.photos, self.seed, self.transform = photos, seed, transform
        self.config = FaceConfig(**{**asdict(base), **overrides})

    def __len__(self) -> int:
        return len(self.identities) * self.photos

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} photos")
        label, photo = divmod(int(i) % len(self), self.photos)
        image = render_faces([self.identities[label]], [photo], self.seed, self.config)[0]
        return (self.transform(image) if self.transform is not None else image), label


def faces_tensors(identities: int | Sequence[int], photos: int, seed: int = 0,
                  config: FaceConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All photos of a :class:`FacesDataset` at once, in its order, as two tensors.

    Args:
        identities (int | Sequence[int]): ``K`` ids, or an int ``K`` for ``range(K)``.
        photos (int): photos per person (>= 1).
        seed (int): the set's seed (>= 0).
        config (FaceConfig | None): drawing settings.

    Returns:
        tuple: ``images`` float32 ``Tensor[K * photos, C, H, W]`` in [0, 1] and ``labels`` int64
        ``Tensor[K * photos]`` (positions in ``identities``; photo ``j`` of person ``k`` is row
        ``k * photos + j``).

    Raises:
        ValueError, TypeError: as :class:`FacesDataset`.

    Example:
        >>> images, labels = faces_tensors([10, 20], photos=2)
        >>> tuple(images.shape), labels.tolist()
        ((4, 3, 48, 48), [0, 0, 1, 1])
    """
    data = FacesDataset(identities, photos, seed, config)
    ids = np.repeat(np.array(data.identities), photos)
    shots = np.tile(np.arange(photos), len(data.identities))
    labels = torch.arange(len(data.identities)).repeat_interleave(photos)
    return render_faces(ids, shots, seed, data.config), labels
