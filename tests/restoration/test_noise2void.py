"""Tests for cnnlib.restoration.noise2void: blind-spot masking and the masked loss.

Reference: inputs whose every value is unique (an arange), so the pixel a replacement came from
is read back from its value and checked by a loop in this file (same image and channel, inside
the window, never the pixel itself); the grid cells of Krull et al. (2019) recomputed by a loop
over cell edges ``floor(i / sqrt(ratio))``; hand-counted cases; autograd for the loss's gradient.
"""

import math

import pytest
import torch

from cnnlib.restoration import DnCNN, blind_spot_mask, masked_mse


def unique_images(N=2, C=2, H=20, W=17, dtype=torch.float64):
    return torch.arange(N * C * H * W, dtype=dtype).view(N, C, H, W)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def cell_of(v, side):
    """The grid cell index of coordinate v: the largest i with floor(i * side) <= v (a loop)."""
    i = 0
    while math.floor((i + 1) * side + 1e-9) <= v:
        i += 1
    return i


def test_one_pixel_per_cell_when_the_cells_tile_the_image():
    x = torch.rand(3, 1, 16, 12, generator=gen(0))
    masked, mask = blind_spot_mask(x, 1 / 16, gen(1))  # cells of exactly 4x4
    assert mask.shape == x.shape and mask.dtype == torch.bool
    per_cell = mask.view(3, 1, 4, 4, 3, 4).sum(dim=(3, 5))  # (N, C, 4, 3) cells
    assert per_cell.eq(1).all()
    assert int(mask.sum()) == 3 * 16 * 12 // 16


@pytest.mark.parametrize("ratio", [0.01, 0.05, 0.1, 0.3])
def test_count_is_about_ratio_and_at_most_one_per_cell(ratio):
    N, C, H, W = 40, 1, 37, 53
    x = torch.zeros(N, C, H, W)
    _, mask = blind_spot_mask(x, ratio, gen(2))
    side = 1 / math.sqrt(ratio)
    counts = mask.flatten(1).sum(dim=1).double()
    assert abs(counts.mean().item() / (ratio * H * W) - 1) < 0.08
    for n in range(0, N, 7):
        seen = set()
        for y, xx in mask[n, 0].nonzero().tolist():
            cell = (cell_of(y, side), cell_of(xx, side))
            assert cell not in seen  # stratified: never two in one cell
            seen.add(cell)


@pytest.mark.parametrize("window", [3, 5, 7])
@pytest.mark.parametrize("seed", range(3))
def test_replacement_comes_from_another_pixel_in_the_window(window, seed):
    x = unique_images()
    N, C, H, W = x.shape
    masked, mask = blind_spot_mask(x, 0.3, gen(seed), window=window)  # many border pixels
    assert torch.equal(masked[~mask], x[~mask])  # everything else untouched
    r = window // 2
    offsets = set()
    for n, c, y, xx in mask.nonzero().tolist():
        src = int(masked[n, c, y, xx].item())
        sn, rest = divmod(src, C * H * W)
        sc, rest = divmod(rest, H * W)
        sy, sx = divmod(rest, W)
        assert (sn, sc) == (n, c)
        assert (sy, sx) != (y, xx)
        assert abs(sy - y) <= r and abs(sx - xx) <= r
        offsets.add((sy - y, sx - xx))
    assert (0, 0) not in offsets
    assert len(offsets) == window * window - 1  # every other offset occurs


def test_corner_pixels_take_a_neighbour_inside_the_image():
    x = unique_images(N=1, C=1, H=2, W=2)  # every window is cut by the border
    for seed in range(20):
        masked, mask = blind_spot_mask(x, 0.9, gen(seed), window=5)
        assert mask.all()  # cells of one pixel
        assert (masked != x).all() and set(masked.flatten().tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_one_row_images_work():
    x = unique_images(N=1, C=1, H=1, W=9)
    masked, mask = blind_spot_mask(x, 0.5, gen(0), window=3)
    i = mask[0, 0, 0].nonzero().flatten()
    assert len(i) > 0 and ((masked[0, 0, 0, i] - i.double()).abs() == 1).all()


def test_same_seed_same_mask_other_seed_other_mask():
    x = torch.rand(4, 3, 32, 32, generator=gen(0))
    a, ma = blind_spot_mask(x, 0.05, gen(7))
    b, mb = blind_spot_mask(x, 0.05, gen(7))
    c, mc = blind_spot_mask(x, 0.05, gen(8))
    assert torch.equal(a, b) and torch.equal(ma, mb)
    assert not torch.equal(ma, mc)
    assert not torch.equal(ma[:, 0], ma[:, 1])  # each channel has its own draw


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_is_kept_and_the_gradient_flows_to_the_sources(dtype):
    x = unique_images(N=1, C=1, H=9, W=8, dtype=dtype).requires_grad_()
    before = x.detach().clone()
    masked, mask = blind_spot_mask(x, 0.2, gen(0))
    assert masked.dtype == dtype and torch.equal(x.detach(), before)
    masked.sum().backward()
    expected = (~mask).to(dtype)  # an unmasked pixel counts once, plus once per use as a source
    for src in masked[mask].tolist():
        expected.view(-1)[int(src)] += 1
    assert torch.equal(x.grad, expected)


def test_errors():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"ratio must be in \(0.0, 1.0\), got 0"):
        blind_spot_mask(x, 0, gen(0))
    with pytest.raises(ValueError, match="ratio must be in"):
        blind_spot_mask(x, 1.0, gen(0))
    with pytest.raises(TypeError, match="ratio must be a number"):
        blind_spot_mask(x, "0.1", gen(0))
    with pytest.raises(ValueError, match="window must be odd"):
        blind_spot_mask(x, 0.1, gen(0), window=4)
    with pytest.raises(ValueError, match="window must be >= 3, got 1"):
        blind_spot_mask(x, 0.1, gen(0), window=1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator, got NoneType"):
        blind_spot_mask(x, 0.1, None)
    with pytest.raises(TypeError, match="generator must be a torch.Generator, got int"):
        blind_spot_mask(x, 0.1, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) \(4 dims\), got shape \(1, 8, 8\)"):
        blind_spot_mask(x[0], 0.1, gen(0))
    with pytest.raises(TypeError, match="floating-point"):
        blind_spot_mask(x.long(), 0.1, gen(0))
    with pytest.raises(ValueError, match="at least 2 pixels"):
        blind_spot_mask(torch.rand(1, 1, 1, 1), 0.5, gen(0))


def test_masked_mse_hand_case_and_loop():
    p = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    t = torch.zeros_like(p)
    m = torch.tensor([[[[True, False], [False, True]]]])
    assert masked_mse(p, t, m).item() == pytest.approx((1 + 16) / 2)
    g = gen(0)
    p, t = torch.randn(3, 2, 5, 6, generator=g), torch.randn(3, 2, 5, 6, generator=g)
    m = torch.rand(3, 1, 5, 6, generator=g) < 0.3  # one mask for every channel
    ref = [(p[n, c, y, x] - t[n, c, y, x]) ** 2 for n in range(3) for c in range(2) for y in range(5)
           for x in range(6) if m[n, 0, y, x]]
    assert masked_mse(p, t, m).item() == pytest.approx(sum(ref).item() / len(ref))


def test_n2v_loss_has_no_gradient_at_unmasked_outputs():
    torch.manual_seed(0)
    noisy = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    masked, mask = blind_spot_mask(noisy, 0.05, gen(3))
    net = DnCNN(depth=3, features=4).double()
    out = net(masked)
    (grad,) = torch.autograd.grad(masked_mse(out, noisy, mask), out)
    assert (grad[~mask] == 0).all()
    torch.testing.assert_close(grad[mask], 2 * (out - noisy)[mask].detach() / mask.sum())


def test_masked_mse_empty_mask_and_errors():
    p = torch.rand(1, 1, 3, 3, requires_grad=True)
    loss = masked_mse(p, torch.rand(1, 1, 3, 3), torch.zeros(1, 1, 3, 3, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0 and (p.grad == 0).all()
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        masked_mse(p, p, torch.ones(1, 1, 3, 3))
    with pytest.raises(ValueError, match="mask must have shape"):
        masked_mse(p, p, torch.ones(1, 1, 3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="same shape"):
        masked_mse(p, torch.rand(1, 1, 3, 4), torch.ones(1, 1, 3, 3, dtype=torch.bool))


@pytest.mark.gpu
def test_cuda_matches_cpu_with_a_cpu_generator():
    x = torch.rand(2, 3, 24, 24, generator=gen(0))
    a, ma = blind_spot_mask(x, 0.05, gen(5))
    b, mb = blind_spot_mask(x.cuda(), 0.05, gen(5))
    assert b.is_cuda and mb.is_cuda
    assert torch.equal(a, b.cpu()) and torch.equal(ma, mb.cpu())
    c, mc = blind_spot_mask(x.cuda(), 0.05, torch.Generator(device="cuda").manual_seed(5))
    assert torch.equal(c[~mc], x.cuda()[~mc]) and int(mc.sum()) > 0
