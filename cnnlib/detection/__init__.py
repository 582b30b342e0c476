"""Object detection: boxes, IoU, non-max suppression, anchors, YOLO, two-stage pieces, evaluation.

- :mod:`~cnnlib.detection.boxes`: box formats (xyxy, COCO xywh, centre cxcywh), area, IoU,
  validation, clipping;
- :mod:`~cnnlib.detection.nms`: non-max suppression, vectorised, as the teaching loop, per class;
- :mod:`~cnnlib.detection.anchors`: anchor shapes, anchors on a grid, k-means anchors (YOLOv2),
  best-anchor assignment and Faster R-CNN's anchor labels;
- :mod:`~cnnlib.detection.sliding`: sliding windows, and FC layers turned into convolutions;
- :mod:`~cnnlib.detection.yolo` and :mod:`~cnnlib.detection.detector`: YOLO targets, decoding,
  loss, and a small YOLO trained on the shapes scenes (its step for :func:`cnnlib.train.fit`);
- :mod:`~cnnlib.detection.scenes`: a detection data set as stacked tensors;
- :mod:`~cnnlib.detection.two_stage`: R-CNN box deltas, the RPN head, RoI pooling / RoIAlign;
- :mod:`~cnnlib.detection.focal`: RetinaNet's focal loss;
- :mod:`~cnnlib.detection.metrics`: precision-recall, AP (all-point and COCO 101-point), COCO mAP;
- :mod:`~cnnlib.detection.cocoeval`: the same detections scored by pycocotools, for cross-checks;
- :mod:`~cnnlib.detection.draw`: boxes on images, precision-recall curves (matplotlib, imported
  only when called).

Boxes are ``Tensor[N, 4]`` in ``(x1, y1, x2, y2)`` pixels unless a name says otherwise.
"""

from cnnlib.detection.anchors import (
    anchor_shapes, assign_anchors, grid_anchors, kmeans_anchors, label_anchors, wh_iou,
)
from cnnlib.detection.boxes import (
    BOX_FORMATS, box_area, box_ciou, box_convert, box_iou, clip_boxes_to_image, validate_boxes,
    xywh_to_xyxy, xyxy_to_xywh,
)
from cnnlib.detection.cocoeval import coco_eval
from cnnlib.detection.detector import TinyYOLO, YOLOStep, evaluate_detector, predict_detector, train_yolo
from cnnlib.detection.draw import draw_boxes, plot_pr_curve
from cnnlib.detection.focal import sigmoid_focal_loss
from cnnlib.detection.metrics import (
    COCO_IOU_THRESHOLDS, ap_from_curve, average_precision, mean_average_precision, precision_recall_curve,
)
from cnnlib.detection.nms import NMSTrace, batched_nms, nms, nms_naive, nms_trace
from cnnlib.detection.scenes import scene_tensors
from cnnlib.detection.sliding import fc_to_conv, sliding_window_naive, total_stride, window_boxes
from cnnlib.detection.two_stage import (
    RegionProposalNetwork, decode_boxes, encode_boxes, roi_align, roi_pool,
)
from cnnlib.detection.yolo import (
    anchor_iou, yolo_boxes, yolo_decode, yolo_encode, yolo_filter_boxes, yolo_loss, yolo_loss_terms,
    yolo_neighbour_targets, yolo_postprocess, yolo_predictors,
)

__all__ = [
    # boxes
    "BOX_FORMATS", "box_area", "box_convert", "xywh_to_xyxy", "xyxy_to_xywh", "box_iou", "box_ciou",
    "validate_boxes", "clip_boxes_to_image",
    # nms
    "nms", "nms_naive", "batched_nms", "NMSTrace", "nms_trace",
    # anchors
    "anchor_shapes", "grid_anchors", "wh_iou", "assign_anchors", "kmeans_anchors", "label_anchors",
    # sliding windows
    "sliding_window_naive", "fc_to_conv", "total_stride", "window_boxes",
    # yolo
    "yolo_predictors", "anchor_iou", "yolo_encode", "yolo_neighbour_targets", "yolo_boxes", "yolo_filter_boxes",
    "yolo_decode", "yolo_postprocess", "yolo_loss_terms", "yolo_loss",
    "TinyYOLO", "YOLOStep", "train_yolo", "evaluate_detector", "predict_detector", "scene_tensors",
    # two-stage and one-stage pieces
    "encode_boxes", "decode_boxes", "RegionProposalNetwork", "roi_pool", "roi_align",
    "sigmoid_focal_loss",
    # evaluation and pictures
    "COCO_IOU_THRESHOLDS", "precision_recall_curve", "ap_from_curve", "average_precision",
    "mean_average_precision", "coco_eval", "draw_boxes", "plot_pr_curve",
]
