"""Data for the book, all available offline: nothing here downloads on import or by default.

- MNIST-5k, split once (:mod:`~cnnlib.data.mnist`), and a reader for the full MNIST IDX files
  (:mod:`~cnnlib.data.idx`);
- scikit-learn's 8x8 digits and scikit-image's sample photos (:mod:`~cnnlib.data.images`);
- DNA sequences with planted motifs, IUPAC one-hot encoded (:mod:`~cnnlib.data.dna`).
"""

from cnnlib.data.dna import IUPAC_CODES, DNADataset, make_dna_dataset, one_hot_dna
from cnnlib.data.idx import MNIST_FILES, download_mnist, load_mnist_idx, read_idx
from cnnlib.data.images import PHOTOS, load_digits_tensors, load_lfw_subset, load_photo
from cnnlib.data.mnist import MNIST_SPLIT, AugmentedDataset, MNISTSplit, mnist_loaders, mnist_split

__all__ = [
    "MNIST_SPLIT", "MNISTSplit", "mnist_split", "mnist_loaders", "AugmentedDataset",
    "PHOTOS", "load_photo", "load_digits_tensors", "load_lfw_subset",
    "IUPAC_CODES", "one_hot_dna", "DNADataset", "make_dna_dataset",
    "read_idx", "load_mnist_idx", "download_mnist", "MNIST_FILES",
]
