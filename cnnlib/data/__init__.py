"""Data for the book, all available offline: nothing here downloads on import or by default.

- MNIST-5k, split once (:mod:`~cnnlib.data.mnist`), and a reader for the full MNIST IDX files
  (:mod:`~cnnlib.data.idx`);
- scikit-learn's 8x8 digits and scikit-image's sample photos (:mod:`~cnnlib.data.images`);
- DNA sequences with planted motifs, IUPAC one-hot encoded (:mod:`~cnnlib.data.dna`).
- data augmentation on tensors: flips, crops, rotation/shear, colour shifts, five/ten crops
  (:mod:`~cnnlib.data.augment`), and the geometric ones for an image together with its
  segmentation mask or its boxes (:mod:`~cnnlib.data.paired`, same class names, one draw for all).
- COCO-style detection annotations, written and read (:mod:`~cnnlib.data.coco`).
- shapes scenes for detection and segmentation, boxes and masks from a seed
  (:mod:`~cnnlib.data.shapes`).
- roads from above: aerial-looking tiles with road masks from a seed (:mod:`~cnnlib.data.roads`),
  and the colour-rule baseline they defeat (:mod:`~cnnlib.data.roads_baseline`).
- a segmentation folder on disk, ``images/`` paired with ``masks/`` by file stem
  (:mod:`~cnnlib.data.segfolder`).
- which worker process read an item of a ``DataLoader`` (:mod:`~cnnlib.data.workers`).
- mini-batches straight from tensors in memory, shuffled or drawn with replacement, and tiles
  with their masks cut and turned at random (:mod:`~cnnlib.data.batches`).
- procedural faces of many identities under pose, light, expression and occlusion, drawn from a
  seed (:mod:`~cnnlib.data.faces`), and a face-identity folder on disk laid out as LFW,
  ``root/<name>/<name>_0001.jpg`` (:mod:`~cnnlib.data.identity_folder`).
"""

from cnnlib.data.augment import (
    ColorShift, Compose, PCAColorShift, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotation, affine,
    center_crop, five_crop, ten_crop,
)
from cnnlib.data.batches import RandomBatches, ShuffledBatches, TileBatches
from cnnlib.data.coco import COCO_ANNOTATIONS_URL, download_coco_annotations, load_coco, read_image, save_coco
from cnnlib.data.dna import IUPAC_CODES, DNADataset, make_dna_dataset, one_hot_dna
from cnnlib.data.faces import (
    FACE_SPLITS, FaceConfig, FacesDataset, faces_tensors, identity_traits, photo_nuisances, render_faces,
)
from cnnlib.data.identity_folder import IdentityFolder, load_identity_folder
from cnnlib.data.idx import MNIST_FILES, download_mnist, load_mnist_idx, read_idx
from cnnlib.data.images import PHOTOS, load_digits_tensors, load_lfw_subset, load_photo
from cnnlib.data.mnist import MNIST_SPLIT, AugmentedDataset, MNISTSplit, mnist_loaders, mnist_split
from cnnlib.data.roads import ROAD_CLASSES, RoadsConfig, RoadsDataset, make_roads_tile, roads_tensors
from cnnlib.data.roads_baseline import ColourRule, colour_rule_baseline, fit_colour_rule
from cnnlib.data.segfolder import SegmentationFolder, read_image_float, read_mask
from cnnlib.data.shapes import (
    CLASS_NAMES, SEGMENTATION_CLASSES, ShapesConfig, ShapesDataset, ShapesScene, detection_collate, make_scene,
)
from cnnlib.data.workers import WithWorkerId

__all__ = [
    "MNIST_SPLIT", "MNISTSplit", "mnist_split", "mnist_loaders", "AugmentedDataset",
    "PHOTOS", "load_photo", "load_digits_tensors", "load_lfw_subset",
    "IUPAC_CODES", "one_hot_dna", "DNADataset", "make_dna_dataset",
    "read_idx", "load_mnist_idx", "download_mnist", "MNIST_FILES",
    "RandomHorizontalFlip", "RandomCrop", "RandomAffine", "RandomRotation", "ColorShift", "PCAColorShift",
    "Compose", "affine", "center_crop", "five_crop", "ten_crop",
    "save_coco", "load_coco", "read_image", "download_coco_annotations", "COCO_ANNOTATIONS_URL",
    "CLASS_NAMES", "SEGMENTATION_CLASSES", "ShapesConfig", "ShapesScene", "make_scene", "ShapesDataset",
    "detection_collate", "WithWorkerId", "ShuffledBatches", "RandomBatches", "TileBatches",
    "ROAD_CLASSES", "RoadsConfig", "make_roads_tile", "RoadsDataset", "roads_tensors", "ColourRule",
    "fit_colour_rule", "colour_rule_baseline", "SegmentationFolder", "read_mask", "read_image_float",
    "FACE_SPLITS", "FaceConfig", "identity_traits", "photo_nuisances", "render_faces", "FacesDataset",
    "faces_tensors", "IdentityFolder", "load_identity_folder",
]
