"""Tests for cnnlib.style.costs: Gram matrix, content and style costs, total variation.

Reference: seed 001's formulas written as loops over channels and positions (the unnormalised
``G_kk' = sum_ij a_ijk a_ijk'`` and ``J_style = 1/(2 n_H n_W n_C)^2 sum (G(S) - G(G))^2``),
hand-computed cases, and ``torch.autograd.gradcheck`` in float64.
"""

import pytest
import torch

from cnnlib.style import content_cost, gram_matrix, style_cost, style_layer_cost, total_variation_loss


def maps(seed, shape=(3, 4, 5), dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def gram_loop(a):
    """Seed 001's unnormalised style matrix of one map (C, H, W), as nested lists."""
    C, H, W = a.shape
    return [[sum(float(a[k, i, j] * a[kk, i, j]) for i in range(H) for j in range(W)) for kk in range(C)]
            for k in range(C)]


def style_loop(a_s, a_g):
    C, H, W = a_s.shape
    gs, gg = gram_loop(a_s), gram_loop(a_g)
    return sum((gs[k][kk] - gg[k][kk]) ** 2 for k in range(C) for kk in range(C)) / (2 * H * W * C) ** 2


@pytest.mark.parametrize("seed", range(3))
def test_gram_matrix_is_the_seeds_divided_by_chw(seed):
    a = maps(seed)
    C, H, W = a.shape
    assert torch.allclose(gram_matrix(a), torch.tensor(gram_loop(a), dtype=torch.float64) / (C * H * W))
    batch = torch.stack([a, 2 * a])
    g = gram_matrix(batch)
    assert g.shape == (2, 3, 3) and torch.allclose(g[1], 4 * g[0]) and torch.allclose(g[0], g[0].T)


@pytest.mark.parametrize("seed", range(3))
def test_style_layer_cost_is_the_seeds_formula(seed):
    a_s, a_g = maps(seed), maps(seed + 10)
    assert style_layer_cost(a_s, a_g).item() == pytest.approx(style_loop(a_s, a_g), rel=1e-10)
    assert style_layer_cost(a_s, a_s).item() == 0.0
    shifted = torch.roll(a_s, shifts=2, dims=2)  # where things are does not matter (circular shift)
    assert style_layer_cost(a_s, shifted).item() == pytest.approx(0.0, abs=1e-12)


def test_style_of_another_size_and_batches():
    small, big = torch.ones(1, 2, 3, 3), torch.ones(1, 2, 6, 5)
    assert style_layer_cost(small, big).item() == 0.0  # normalised Gram: same statistics, any size
    a_s, a_g = maps(1)[None], torch.stack([maps(2), maps(3)])
    expected = style_layer_cost(a_s, a_g[:1]) + style_layer_cost(a_s, a_g[1:])
    assert style_layer_cost(a_s, a_g).item() == pytest.approx(expected.item())


def test_content_cost_hand_case_and_loop():
    assert content_cost(torch.zeros(1, 2, 2), torch.ones(1, 2, 2)).item() == 2.0
    a, b = maps(0), maps(1)
    loop = 0.5 * sum((float(x) - float(y)) ** 2 for x, y in zip(a.flatten(), b.flatten()))
    assert content_cost(a, b).item() == pytest.approx(loop)
    assert content_cost(a[None], b[None]).item() == pytest.approx(loop)


def test_style_cost_weights_layers():
    s = {"a": maps(0), "b": maps(1, (2, 3, 3))}
    g = {"a": maps(2), "b": maps(3, (2, 3, 3))}
    ja, jb = style_layer_cost(s["a"], g["a"]), style_layer_cost(s["b"], g["b"])
    assert style_cost(s, g).item() == pytest.approx(((ja + jb) / 2).item())
    assert style_cost(s, g, {"a": 0.25, "b": 3.0}).item() == pytest.approx((0.25 * ja + 3 * jb).item())
    assert style_cost(s, {"b": g["b"]}).item() == pytest.approx(jb.item())  # the generated layers count


def test_total_variation_loop():
    x = maps(4, (2, 3, 4, 5))
    N, C, H, W = x.shape
    total = 0.0
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    if i + 1 < H:
                        total += abs(float(x[n, c, i + 1, j] - x[n, c, i, j]))
                    if j + 1 < W:
                        total += abs(float(x[n, c, i, j + 1] - x[n, c, i, j]))
    assert total_variation_loss(x).item() == pytest.approx(total / x.numel())
    assert total_variation_loss(torch.full((3, 5, 5), 0.3)).item() == 0.0
    assert total_variation_loss(torch.tensor([[[0.0, 2.0]]]), squared=True).item() == 2.0


def test_gradcheck():
    a, b = maps(0, (2, 3, 3)).requires_grad_(), maps(1, (2, 3, 3)).requires_grad_()
    assert torch.autograd.gradcheck(gram_matrix, (a,))
    assert torch.autograd.gradcheck(content_cost, (a, b))
    assert torch.autograd.gradcheck(style_layer_cost, (a, b))
    assert torch.autograd.gradcheck(lambda x: total_variation_loss(x, squared=True), (a,))


def test_errors():
    with pytest.raises(ValueError, match="a_c and a_g must have the same shape"):
        content_cost(torch.zeros(2, 3, 3), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="a_s must have the channels of a_g"):
        style_layer_cost(torch.zeros(2, 3, 3), torch.zeros(3, 3, 3))
    with pytest.raises(ValueError, match=r"features must be a floating-point tensor of shape \(C, H, W\)"):
        gram_matrix(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"style_features lacks the layers \['b'\]"):
        style_cost({"a": torch.zeros(1, 2, 2)}, {"b": torch.zeros(1, 2, 2)})
    with pytest.raises(ValueError, match="weights must give lambda for every layer"):
        style_cost({"a": torch.zeros(1, 2, 2)}, {"a": torch.zeros(1, 2, 2)}, {"b": 1.0})
