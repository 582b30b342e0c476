"""Tests for cnnlib.ops.unpool: max-unpooling with the switches of max pooling.

Reference: ``F.max_pool2d(return_indices=True)`` + ``F.max_unpool2d`` (equal values, shapes and
errors where PyTorch refuses), a hand-computed 4x4 case, ``torch.autograd.gradcheck``, and the
property that pooling the unpooled map gives back the pooled one.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import max_unpool2d

# kernel, stride, padding, input size (odd sizes lose rows to the floor of max pooling)
POOLS = [(2, None, 0, (8, 6)), (3, 2, 1, (7, 9)), ((2, 3), (2, 3), (1, 0), (7, 8)), (3, 1, 0, (5, 5)),
         (2, 3, 0, (8, 7))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("pool", POOLS, ids=str)
def test_max_unpool_matches_f_max_unpool2d(pool, seed, dtype):
    k, s, p, (H, W) = pool
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, H, W, dtype=dtype, generator=gen)
    pooled, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    try:
        ref = F.max_unpool2d(pooled, idx, k, s, p)  # default size: too small when pooling lost rows
    except RuntimeError:
        with pytest.raises(ValueError, match="indices must lie in"):
            max_unpool2d(pooled, idx, k, s, p)
    else:
        assert torch.equal(max_unpool2d(pooled, idx, k, s, p), ref)
    for size in ((H, W), x.shape):  # back to the pooled input's size, given either way
        out = max_unpool2d(pooled, idx, k, s, p, output_size=size)
        assert out.dtype == dtype and torch.equal(out, F.max_unpool2d(pooled, idx, k, s, p, output_size=size))
    if s is None or s == k:  # windows do not overlap: indices are distinct, any values may go back
        feats = torch.randn(pooled.shape, dtype=dtype, generator=gen)
        ref = F.max_unpool2d(feats, idx, k, s, p, (H, W))
        assert torch.equal(max_unpool2d(feats, idx, k, s, p, (H, W)), ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_unpool_of_pool_keeps_the_maxima_in_place(seed):
    x = torch.rand(2, 3, 9, 8, generator=torch.Generator().manual_seed(seed)) + 0.1  # positive
    pooled, idx = F.max_pool2d(x, 3, 2, return_indices=True)
    out = max_unpool2d(pooled, idx, 3, 2, output_size=x.shape)
    mask = out != 0
    assert torch.equal(out[mask], x[mask])  # every kept value sits where it came from
    assert mask.sum(dim=(2, 3)).le(pooled[0, 0].numel()).all()  # at most one per window
    assert torch.equal(F.max_pool2d(out, 3, 2), pooled)  # pooling again gives the same maxima


def test_max_unpool_hand_case_and_gradcheck():
    x = torch.tensor([[12.0, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]).view(1, 1, 4, 4)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    assert max_unpool2d(pooled, idx, 2)[0, 0].tolist() == [[0, 20, 30, 0], [0, 0, 0, 0], [0, 0, 37, 0],
                                                            [112, 0, 0, 0]]
    v = torch.randn(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: max_unpool2d(a, idx, 2), (v,))


def test_max_unpool_errors():
    pooled, idx = F.max_pool2d(torch.randn(1, 2, 6, 6), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"indices must have the shape of x \(1, 2, 3, 3\), got \(1, 2, 3, 2"):
        max_unpool2d(pooled, idx[..., :2], 2)
    with pytest.raises(TypeError, match="indices must be an int64 tensor, got torch.int32"):
        max_unpool2d(pooled, idx.int(), 2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 36\) .* got values in \[36, 36\]"):
        max_unpool2d(pooled, idx.clone().fill_(36), 2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 16\) for output size \(4, 4\)"):
        max_unpool2d(pooled, idx, 2, stride=1, padding=0)
    message = r"less than the stride \(2, 2\) away from the default \(6, 6\).* got \(8, 6\)"
    with pytest.raises(ValueError, match=message):
        max_unpool2d(pooled, idx, 2, output_size=(8, 6))
    with pytest.raises(ValueError, match=r"output_size must be \(H_out, W_out\) or .*, got \(6,\)"):
        max_unpool2d(pooled, idx, 2, output_size=(6,))
    with pytest.raises(TypeError, match="indices must be a torch.Tensor"):
        max_unpool2d(pooled, idx.tolist(), 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_f_max_unpool2d_on_the_cpu():
    x = torch.randn(2, 3, 9, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).cuda()
    pooled, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    out = max_unpool2d(pooled, idx, 3, 2, 1, output_size=x.shape)
    assert out.device.type == "cuda"
    assert torch.equal(out.cpu(), F.max_unpool2d(pooled.cpu(), idx.cpu(), 3, 2, 1, output_size=x.shape))
