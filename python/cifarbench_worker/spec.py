"""The analysed spec as the harness sends it, read into plain layers (pure Python, no framework).

The create message carries the spec the harness analysed once (src/model/analysis.h): every
layer with its op, its resolved input indices, its first input's shape and its output shape
(C, H, W). Nothing is inferred again here.
"""
from dataclasses import dataclass, field
from typing import List

OPS = ("input", "conv2d", "batch_norm", "relu", "max_pool", "avg_pool", "global_avg_pool",
       "flatten", "linear", "dropout", "add", "pad_channels", "subsample", "scale", "gelu")


@dataclass
class Layer:
    name: str
    op: str
    inputs: List[int]
    in_shape: List[int]   # C, H, W of the first input
    out_shape: List[int]  # C, H, W of the output
    out_channels: int = 0
    kernel: int = 0
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    momentum: float = 0.1
    eps: float = 1e-5
    affine: bool = True
    out_features: int = 0
    p: float = 0.0
    scale: float = 1.0
    tensors: List[str] = field(default_factory=list)


@dataclass
class Spec:
    name: str
    input: List[int]
    num_classes: int
    layers: List[Layer]


def read_spec(message):
    """A Spec from the create message's "spec" object; refuses unknown ops by name."""
    layers = []
    for i, raw in enumerate(message["layers"]):
        if raw["op"] not in OPS:
            raise ValueError(f"spec layer {i} '{raw.get('name')}': unknown op '{raw['op']}'")
        kwargs = {k: raw[k] for k in Layer.__dataclass_fields__ if k in raw}
        layers.append(Layer(**kwargs))
    if not layers or layers[0].op != "input":
        raise ValueError("spec: the first layer must be the input")
    return Spec(name=message["name"], input=list(message["input"]),
                num_classes=int(message["num_classes"]), layers=layers)


def consumers(spec):
    """How many later layers read each layer's output."""
    counts = [0] * len(spec.layers)
    for layer in spec.layers[1:]:
        for i in layer.inputs:
            counts[i] += 1
    return counts
