"""Tests for cnnlib.detection.detector.

Reference: the YOLO targets of :func:`yolo_encode` (a model that outputs them must score mAP 1),
boxes mirrored by hand for the flip augmentation, and a few seconds of training on a handful of
scenes, where the loss must fall.
"""

import pytest
import torch
from torch import nn

from cnnlib.data.shapes import ShapesDataset
from cnnlib.detection.detector import TinyYOLO, YOLOStep, _flip, evaluate_detector, predict_detector, train_yolo
from cnnlib.detection.yolo import yolo_decode, yolo_encode, yolo_loss, yolo_neighbour_targets
from cnnlib.train import StepContext

ANCHORS = torch.tensor([[10.0, 10.0], [16.0, 16.0], [24.0, 24.0]])


def test_output_shape_and_activations():
    torch.manual_seed(0)
    model = TinyYOLO(num_classes=3, num_anchors=3, width=8)
    out = model(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 8, 8, 3 * 8)
    p = out.reshape(2, 8, 8, 3, 8)
    assert ((p[..., 0] > 0) & (p[..., 0] < 1)).all()
    assert ((p[..., 1:3] > -0.5) & (p[..., 1:3] < 1.5)).all()
    assert ((p[..., 3:5] > 0) & (p[..., 3:5] < 4)).all()
    x = torch.rand(2, 3, 64, 64)  # the activations, written out from the raw head
    raw = model.head(model.backbone(x)).permute(0, 2, 3, 1).reshape(2, 8, 8, 3, 8)
    q = model(x).reshape(2, 8, 8, 3, 8)
    torch.testing.assert_close(q[..., 0], 1 / (1 + torch.exp(-raw[..., 0])))
    torch.testing.assert_close(q[..., 1:3], 2 / (1 + torch.exp(-raw[..., 1:3])) - 0.5)
    torch.testing.assert_close(q[..., 3:5], (2 / (1 + torch.exp(-raw[..., 3:5]))) ** 2)
    torch.testing.assert_close(p[..., 5:].sum(-1), torch.ones(2, 8, 8, 3))
    assert TinyYOLO(5, 2, width=4)(torch.rand(1, 3, 96, 64)).shape == (1, 12, 8, 2 * 10)


def test_anchors_are_a_buffer_with_sensible_defaults():
    model = TinyYOLO(3, 3)
    assert model.anchors.tolist() == [[8.0, 8.0], [16.0, 16.0], [32.0, 32.0]]
    assert "anchors" in model.state_dict() and TinyYOLO(3, 1).anchors.tolist() == [[8.0, 8.0]]
    custom = TinyYOLO(3, anchors=ANCHORS[:2])
    assert custom.num_anchors == 2 and torch.equal(custom.anchors, ANCHORS[:2])
    assert custom.to(torch.float64).anchors.dtype == torch.float64


def test_flipping_targets_equals_encoding_flipped_boxes():
    ds = ShapesDataset(30, seed=2)
    targets = [ds[i][1] for i in range(30)]
    boxes, labels = [t["boxes"] for t in targets], [t["labels"] for t in targets]
    enc = yolo_encode(boxes, labels, 8, ANCHORS, 3)
    images = torch.rand(30, 3, 64, 64)
    decoded = yolo_decode(enc, ANCHORS)
    for dim in (-1, -2):
        x, t = _flip(images, enc, dim, 3)
        assert torch.equal(x, images.flip(dim))
        for (got, _, lab), (want, _, want_lab) in zip(yolo_decode(t, ANCHORS), decoded):
            mirrored = want.clone()
            if dim == -1:
                mirrored[:, [0, 2]] = 64 - want[:, [2, 0]]
            else:
                mirrored[:, [1, 3]] = 64 - want[:, [3, 1]]
            key = lambda b, l: sorted(zip([tuple(round(v, 3) for v in r) for r in b.tolist()], l.tolist()))
            assert key(got, lab) == key(mirrored, want_lab)


class Oracle(nn.Module):
    """Outputs the true YOLO target of each image it has seen (looked up by the image itself)."""

    stride, num_classes, num_anchors = 8, 3, 3

    def __init__(self, images, targets):
        super().__init__()
        self.register_buffer("anchors", ANCHORS.clone())
        self.dummy = nn.Parameter(torch.zeros(()))
        self.images, self.targets = images, targets

    def forward(self, x):
        idx = [int((self.images - xi).abs().flatten(1).sum(1).argmin()) for xi in x]
        return self.targets[idx] + 0 * self.dummy


def test_a_model_that_outputs_the_targets_scores_map_one():
    ds = ShapesDataset(25, seed=8, max_objects=3)
    items = [ds[i] for i in range(25)]
    images = torch.stack([x for x, _ in items])
    boxes, labels = [t["boxes"] for _, t in items], [t["labels"] for _, t in items]
    enc = yolo_encode(boxes, labels, 8, ANCHORS, 3)
    assert all(len(d[0]) == len(b) for d, b in zip(yolo_decode(enc, ANCHORS), boxes))  # no collisions here
    scores = evaluate_detector(Oracle(images, enc), (images, boxes, labels))
    assert scores["map"] == pytest.approx(1.0) and scores["map_50"] == pytest.approx(1.0)
    preds = predict_detector(Oracle(images, enc), images, batch_size=7)
    assert len(preds) == 25 and set(preds[0]) == {"boxes", "scores", "labels"}
    again = evaluate_detector(Oracle(images, enc), ds)  # a data set or a triple
    assert (again["map"], again["map_50"]) == (scores["map"], scores["map_50"])
    # test-time mirroring: an oracle that also knows the mirrored scenes; wrong un-mirroring would hurt
    views, maps = [images], [enc]
    for dims in ((-1,), (-2,), (-1, -2)):
        x, t = images, enc
        for d in dims:
            x, t = _flip(x, t, d, 3)
        views.append(x)
        maps.append(t)
    oracle = Oracle(torch.cat(views), torch.cat(maps))
    assert evaluate_detector(oracle, ds, tta=True)["map"] == pytest.approx(1.0)
    tta = predict_detector(oracle, images, tta=True)
    for p, q in zip(tta, preds):
        torch.testing.assert_close(p["boxes"], q["boxes"])


def test_training_on_a_few_scenes_lowers_the_loss_and_is_seeded():
    ds = ShapesDataset(8, seed=3)
    torch.manual_seed(0)
    h = train_yolo(TinyYOLO(3, anchors=ANCHORS, width=4), ds, epochs=20, batch_size=8, lr=2e-2, progress=False)
    assert len(h["loss"]) == 20 and len(h["noobj"]) == 20 and len(h.seconds) == 20
    assert h["loss"][-1] < h["loss"][0] / 3
    assert h["noobj"][-1] < h["noobj"][0] / 5
    assert h.lr[-1] < h.lr[0]
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        runs.append(train_yolo(TinyYOLO(3, anchors=ANCHORS, width=4), ds, epochs=2, batch_size=4, progress=False,
                               loss_options={"objectness": "bce", "classification": "ce"}).batch_loss)
    assert runs[0] == runs[1] and runs[0][0] > 0


@pytest.mark.parametrize("recipe", ["seed", "yolov5"])
def test_yolo_step_equals_the_loss_of_the_batch_mirrored_by_hand(recipe):
    """Reference: images flipped with torch.flip, boxes mirrored by hand (x1' = W - x2) and
    encoded with yolo_encode (and yolo_neighbour_targets), the loss from yolo_loss; the step
    draws its flips from its seed."""
    ds = ShapesDataset(6, seed=4)
    images = torch.stack([ds[i][0] for i in range(6)])
    targets = [ds[i][1] for i in range(6)]
    torch.manual_seed(0)
    model = TinyYOLO(3, anchors=ANCHORS, width=4)
    v5 = recipe == "yolov5"
    options = {"box": "ciou"} if v5 else {}
    loss_options = {"num_anchors": len(ANCHORS), **({"box": "ciou", "anchors": ANCHORS, "image_size": 64} if v5 else {})}

    def encode(boxes, labels):
        t = yolo_encode(boxes, labels, 8, ANCHORS, 3, 64)
        return yolo_neighbour_targets(t, len(ANCHORS)) if v5 else t

    step = YOLOStep(model, options, flip=True, seed=5, channels_last=False, neighbours=v5)
    got = step(model, (images, targets), StepContext(True, torch.device("cpu")))
    gen = torch.Generator().manual_seed(5)
    flip_x, flip_y = torch.rand(6, generator=gen) < 0.5, torch.rand(6, generator=gen) < 0.5
    assert flip_x.any() and (~flip_x).any() and flip_y.any()
    x, boxes = images.clone(), []
    for i, t in enumerate(targets):
        b = t["boxes"].clone()
        if flip_x[i]:
            x[i], b = x[i].flip(-1), torch.stack((64 - b[:, 2], b[:, 1], 64 - b[:, 0], b[:, 3]), 1)
        if flip_y[i]:
            x[i], b = x[i].flip(-2), torch.stack((b[:, 0], 64 - b[:, 3], b[:, 2], 64 - b[:, 1]), 1)
        boxes.append(b)
    want = encode(boxes, [t["labels"] for t in targets])
    expected = yolo_loss(model(x), want, **loss_options)
    torch.testing.assert_close(got["loss"], expected)
    assert ("box" in got) == v5 and ("xy" in got) != v5
    plain = YOLOStep(model, options, flip=True, seed=5, neighbours=v5)(model, (images, targets),
                                                                    StepContext(False, torch.device("cpu")))
    encoded = encode([t["boxes"] for t in targets], [t["labels"] for t in targets])
    torch.testing.assert_close(plain["loss"], yolo_loss(model(images), encoded, **loss_options))


def test_training_from_a_dataloader():
    from torch.utils.data import DataLoader

    from cnnlib.data.shapes import detection_collate

    loader = DataLoader(ShapesDataset(8, seed=3), batch_size=4, shuffle=True, collate_fn=detection_collate,
                        generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    h = train_yolo(TinyYOLO(3, anchors=ANCHORS, width=4), loader, epochs=3, lr=2e-2, progress=False)
    assert len(h["loss"]) == 3 and h["loss"][-1] < h["loss"][0]
    with pytest.raises(TypeError, match="detection_collate"):
        train_yolo(TinyYOLO(3, 2, width=4), DataLoader(torch.zeros(4, 3)), progress=False)


def test_validation_errors():
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        TinyYOLO(0)
    with pytest.raises(TypeError, match="width must be an int, got float 2.5"):
        TinyYOLO(3, width=2.5)
    with pytest.raises(ValueError, match="anchors must be a positive"):
        TinyYOLO(3, anchors=torch.ones(3))
    model = TinyYOLO(3, 2, width=4)
    with pytest.raises(ValueError, match=r"Tensor\[N, 3, H, W\]"):
        model(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match="multiples of 8"):
        model(torch.rand(1, 3, 60, 64))
    ds = ShapesDataset(4)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        train_yolo(model, ds, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train_yolo(model, ds, batch_size=0)
    with pytest.raises(ValueError, match="train is empty"):
        train_yolo(model, ShapesDataset(0))
    with pytest.raises(TypeError, match="data set of"):
        train_yolo(model, 5)
    with pytest.raises(ValueError, match="images must be a Tensor"):
        predict_detector(model, torch.rand(3, 64, 64))
