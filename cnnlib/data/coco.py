"""COCO-style detection annotations: write and read the JSON format of MS COCO (Lin et al., 2014).

A COCO annotation file is one JSON object with three lists: ``images`` (``id``, ``file_name``,
``height``, ``width``), ``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` as
``[x, y, w, h]`` in pixels from the top-left corner, ``area``, ``iscrowd``, optionally
``segmentation``) and ``categories`` (``id``, ``name``). It is what ``pycocotools`` and most
detection tools read, so the book's shapes scenes can be written once and evaluated anywhere.

This module's conventions, in both directions:

- boxes are ``(x1, y1, x2, y2)`` float32 in memory and COCO ``[x1, y1, w, h]`` on disk (converted
  in float64, so float32 boxes come back bit for bit);
- labels are contiguous ``0 .. K-1``: label ``k`` is the ``k``-th category in increasing ``id``
  order (COCO's own ids have gaps: 1..90 for 80 classes); :func:`load_coco` returns that list;
- masks, when given, are stored as COCO run-length encoding (RLE, compressed ``counts``) with
  ``pycocotools.mask``, which is lossless (polygons would not be); their ``area`` is the pixel
  count, else ``area = w * h``;
- images are written as PNG files (Pillow) in a folder next to the JSON; ``file_name`` is
  relative to that folder, whose name the JSON records in ``info["image_dir"]``.

Nothing here downloads at import; :func:`download_coco_annotations` does, when asked.
"""

from __future__ import annotations

import io
import json
import urllib.request
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["save_coco", "load_coco", "read_image", "download_coco_annotations", "COCO_ANNOTATIONS_URL"]

#: The official 2017 train/val annotations archive (241 MB): instances_{train,val}2017.json inside.
COCO_ANNOTATIONS_URL = "http://images.cocodataset.org/annotations/annotations_trainval2017.zip"


def _categories(categories: Sequence[str] | Sequence[dict]) -> list[dict]:
    if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence) or len(categories) == 0:
        raise ValueError(f"categories must be a non-empty list of names or of {{'id', 'name'}} dicts, "
                         f"got {categories!r}")
    if all(isinstance(c, str) for c in categories):
        return [{"id": k + 1, "name": name, "supercategory": "object"} for k, name in enumerate(categories)]
    if not all(isinstance(c, dict) and "id" in c and "name" in c for c in categories):
        raise ValueError("categories must be all names or all dicts with 'id' and 'name'")
    ids = [c["id"] for c in categories]
    if ids != sorted(set(ids)):
        raise ValueError(f"category ids must be unique and increasing (label k is the k-th id), got {ids}")
    return [dict(c) for c in categories]


def _image_array(image: object, i: int) -> np.ndarray:
    """A uint8 Tensor[3|1, H, W] or [H, W] as an (H, W[, 3]) numpy array for Pillow."""
    if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8:
        got = getattr(image, "dtype", type(image).__name__)
        raise TypeError(f"images[{i}] must be a uint8 Tensor[C, H, W], got {got}")
    if image.dim() == 3 and image.shape[0] in (1, 3):
        arr = image.permute(1, 2, 0).cpu().numpy()  # (H, W, C)
        return arr[..., 0] if arr.shape[2] == 1 else np.ascontiguousarray(arr)
    if image.dim() == 2:
        return image.cpu().numpy()
    raise ValueError(f"images[{i}] must have shape (3, H, W), (1, H, W) or (H, W), got {tuple(image.shape)}")


def save_coco(
    path: str | Path,
    images: Sequence[torch.Tensor],
    targets: Sequence[dict],
    categories: Sequence[str] | Sequence[dict],
    image_dir: str = "images",
) -> Path:
    """Write images (PNG) and their boxes, labels and optional masks as a COCO JSON file.

    Args:
        path (str | Path): the JSON file to write (its folder is created).
        images (Sequence[Tensor[3, H, W]]): uint8 images (``(1, H, W)`` or ``(H, W)``: grey).
        targets (Sequence[dict]): per image ``"boxes"`` (Tensor[K, 4], xyxy pixels),
            ``"labels"`` (int Tensor[K], ``0 <= label < len(categories)``) and optionally
            ``"masks"`` (bool Tensor[K, H, W]).
        categories (Sequence[str] | Sequence[dict]): class names (label ``k`` gets COCO id
            ``k + 1``) or COCO category dicts with increasing ``id`` (label ``k`` is the k-th).
        image_dir (str): folder for the PNG files, relative to the JSON's folder.

    Returns:
        Path: the JSON file. Image ``i`` gets id ``i + 1`` and file ``{i + 1:06d}.png``.

    Raises:
        TypeError, ValueError: for mismatched lengths, non-uint8 images, bad boxes (the message
            names the image and box), labels out of range or masks of the wrong shape.
        ImportError: if masks are given and ``pycocotools`` is not installed.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> img = torch.zeros(3, 8, 8, dtype=torch.uint8)
        >>> t = {"boxes": torch.tensor([[1.0, 2, 5, 7]]), "labels": torch.tensor([0])}
        >>> p = save_coco(f"{folder}/ann.json", [img], [t], ["square"])
        >>> json.loads(p.read_text())["annotations"][0]["bbox"]
        [1.0, 2.0, 4.0, 5.0]
    """
    from PIL import Image

    from cnnlib.detection.boxes import validate_boxes

    cats = _categories(categories)
    if len(images) != len(targets):
        raise ValueError(f"images and targets must have the same length, got {len(images)} and {len(targets)}")
    path = Path(path)
    folder = path.parent / image_dir
    folder.mkdir(parents=True, exist_ok=True)
    image_records, annotations = [], []
    for i, (image, target) in enumerate(zip(images, targets)):
        arr = _image_array(image, i)
        H, W = arr.shape[:2]
        name = f"{i + 1:06d}.png"
        Image.fromarray(arr).save(folder / name)
        image_records.append({"id": i + 1, "file_name": name, "height": int(H), "width": int(W)})
        if not isinstance(target, dict) or "boxes" not in target or "labels" not in target:
            raise ValueError(f"targets[{i}] must be a dict with 'boxes' and 'labels'")
        boxes = validate_boxes(target["boxes"], f"targets[{i}]['boxes']").detach().cpu().double()
        labels = torch.as_tensor(target["labels"]).cpu()
        if labels.shape != (boxes.shape[0],) or labels.is_floating_point():
            raise ValueError(f"targets[{i}]['labels'] must be an int Tensor of shape ({boxes.shape[0]},), got {labels}")
        if boxes.shape[0] and (labels.min() < 0 or labels.max() >= len(cats)):
            raise ValueError(f"targets[{i}]['labels'] must be in [0, {len(cats) - 1}], got {labels.tolist()}")
        masks = target.get("masks")
        rles = None
        if masks is not None:
            if not isinstance(masks, torch.Tensor) or masks.shape != (boxes.shape[0], H, W):
                raise ValueError(f"targets[{i}]['masks'] must be a bool Tensor of shape {(boxes.shape[0], H, W)}, "
                                 f"got {getattr(masks, 'shape', type(masks).__name__)}")
            from pycocotools import mask as mask_utils

            stack = masks.detach().cpu().numpy().astype(np.uint8).transpose(1, 2, 0)  # (H, W, K), as pycocotools wants
            rles = mask_utils.encode(np.asfortranarray(stack))
        for k, ((x1, y1, x2, y2), label) in enumerate(zip(boxes.tolist(), labels.tolist())):
            ann = {"id": len(annotations) + 1, "image_id": i + 1, "category_id": cats[label]["id"],
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
            if rles is not None:
                ann["segmentation"] = {"size": [int(H), int(W)], "counts": rles[k]["counts"].decode("ascii")}
                ann["area"] = float(masks[k].sum())
            annotations.append(ann)
    data = {"info": {"description": "written by cnnlib.data.coco.save_coco", "image_dir": image_dir},
            "images": image_records, "annotations": annotations, "categories": cats}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def read_image(path: str | Path) -> torch.Tensor:
    """Read an image file as a uint8 Tensor[3, H, W] (RGB, with Pillow).

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.fromarray(np.full((4, 5, 3), 7, np.uint8)).save(p)
        >>> x = read_image(p); (x.dtype, tuple(x.shape), int(x.max()))
        (torch.uint8, (3, 4, 5), 7)
    """
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()  # (H, W, 3) -> (3, H, W)


def load_coco(
    path: str | Path,
    image_dir: str | Path | None = None,
    load_images: bool = False,
    load_masks: bool = False,
) -> tuple[list[dict], list[dict], list[dict]]:
    """Read a COCO detection JSON file (ours or any other, e.g. ``instances_val2017.json``).

    Args:
        path (str | Path): the JSON file.
        image_dir (str | Path | None): folder of the image files; default ``info["image_dir"]``
            (as :func:`save_coco` writes it) or else the JSON's folder, relative to the JSON.
        load_images (bool): also read every image into ``image_infos[i]["image"]``.
        load_masks (bool): also decode segmentations (RLE or polygons, with ``pycocotools``)
            into ``targets[i]["masks"]`` (bool Tensor[K, H, W]).

    Returns:
        tuple[list[dict], list[dict], list[dict]]: ``image_infos`` (the JSON's image records in
        file order, plus ``"path"``), ``targets`` (per image: ``"boxes"`` float32 Tensor[K, 4]
        xyxy, ``"labels"`` int64 Tensor[K] (contiguous, see the module docstring), ``"image_id"``,
        ``"area"``, ``"iscrowd"`` (bool), ``"ids"`` (annotation ids)) and ``categories`` sorted by id.

    Raises:
        ValueError: for an annotation whose image or category is not listed, or a negative size.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> t = {"boxes": torch.tensor([[1.0, 2, 5, 7]]), "labels": torch.tensor([0])}
        >>> p = save_coco(f"{folder}/ann.json", [torch.zeros(3, 8, 8, dtype=torch.uint8)], [t], ["square"])
        >>> infos, targets, cats = load_coco(p)
        >>> targets[0]["boxes"].tolist(), cats[0]["name"], infos[0]["height"]
        ([[1.0, 2.0, 5.0, 7.0]], 'square', 8)
    """
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if image_dir is None:
        image_dir = data.get("info", {}).get("image_dir", ".") if isinstance(data.get("info"), dict) else "."
    folder = path.parent / image_dir
    categories = sorted(data.get("categories", []), key=lambda c: c["id"])
    label_of = {c["id"]: k for k, c in enumerate(categories)}
    infos = [dict(img, path=folder / img["file_name"]) for img in data.get("images", [])]
    by_image: dict[Any, list[dict]] = {img["id"]: [] for img in infos}
    for ann in data.get("annotations", []):
        if ann["image_id"] not in by_image:
            raise ValueError(f"annotation {ann.get('id')} refers to image_id {ann['image_id']}, "
                             "which is not in 'images'")
        if ann["category_id"] not in label_of:
            raise ValueError(f"annotation {ann.get('id')} has category_id {ann['category_id']}, "
                             "which is not in 'categories'")
        if ann["bbox"][2] < 0 or ann["bbox"][3] < 0:
            raise ValueError(f"annotation {ann.get('id')} has a negative width or height: bbox {ann['bbox']}")
        by_image[ann["image_id"]].append(ann)
    targets = []
    for info in infos:
        anns = by_image[info["id"]]
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float64).reshape(-1, 4)
        boxes = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1).float()  # (K, 4) xyxy
        target = {"boxes": boxes, "labels": torch.tensor([label_of[a["category_id"]] for a in anns], dtype=torch.long),
                  "image_id": info["id"], "ids": [a.get("id") for a in anns],
                  "area": torch.tensor([float(a.get("area", a["bbox"][2] * a["bbox"][3])) for a in anns]),
                  "iscrowd": torch.tensor([bool(a.get("iscrowd", 0)) for a in anns], dtype=torch.bool)}
        if load_masks:
            target["masks"] = _decode_masks(anns, info["height"], info["width"])
        if load_images:
            info["image"] = read_image(info["path"])
        targets.append(target)
    return infos, targets, categories


def _decode_masks(anns: list[dict], H: int, W: int) -> torch.Tensor:
    from pycocotools import mask as mask_utils

    masks = torch.zeros(len(anns), H, W, dtype=torch.bool)
    for k, ann in enumerate(anns):
        segm = ann.get("segmentation")
        if not segm:
            continue  # no mask recorded: all False
        if isinstance(segm, list) or isinstance(segm.get("counts"), list):  # polygons or uncompressed RLE
            rle = mask_utils.frPyObjects(segm, H, W)
            rle = mask_utils.merge(rle) if isinstance(rle, list) else rle
        else:
            rle = segm
        with warnings.catch_warnings():  # pycocotools' own numpy-2 DeprecationWarning, harmless
            warnings.simplefilter("ignore", DeprecationWarning)
            masks[k] = torch.from_numpy(mask_utils.decode(rle).astype(bool))
    return masks


def download_coco_annotations(folder: str | Path, url: str = COCO_ANNOTATIONS_URL) -> list[Path]:
    """Download COCO's annotation archive and extract its ``instances_*.json`` files (online only).

    The archive is read into memory; JSON files already in ``folder`` are not overwritten.

    Args:
        folder (str | Path): where ``instances_*.json`` go.
        url (str): the zip archive (any URL ``urllib`` opens, e.g. ``file://`` for a local copy).

    Returns:
        list[Path]: the extracted JSON files, sorted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url) as response:  # noqa: S310 (explicit URL)
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    out = []
    for name in archive.namelist():
        base = Path(name).name
        if base.startswith("instances_") and base.endswith(".json"):
            target = folder / base
            if not target.exists():
                target.write_bytes(archive.read(name))
            out.append(target)
    return sorted(out)
