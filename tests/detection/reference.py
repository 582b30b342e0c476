"""Box overlaps written out with Python floats, one pair at a time: the references the detection
tests compare :mod:`cnnlib.detection` against (one copy, shared by test_boxes, test_nms, test_yolo).
"""

import math


def iou_loop(a, b):
    """IoU of two xyxy boxes given as lists of Python floats; 0 when the union is empty."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ciou_loop(a, b):
    """Complete IoU of two xyxy boxes (Zheng et al. 2020): IoU, minus the squared centre distance
    over the squared diagonal of the enclosing box, minus the aspect-ratio term ``alpha v``."""
    iou = iou_loop(a, b)
    cx = ((a[0] + a[2]) - (b[0] + b[2])) / 2
    cy = ((a[1] + a[3]) - (b[1] + b[3])) / 2
    cw, ch = max(a[2], b[2]) - min(a[0], b[0]), max(a[3], b[3]) - min(a[1], b[1])
    v = 4 / math.pi ** 2 * (math.atan((b[2] - b[0]) / (b[3] - b[1])) - math.atan((a[2] - a[0]) / (a[3] - a[1]))) ** 2
    alpha = v / (1 - iou + v) if v > 0 else 0.0
    return iou - (cx * cx + cy * cy) / (cw * cw + ch * ch) - alpha * v
