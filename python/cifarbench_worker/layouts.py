"""Weight layout conversions between the spec's layouts (src/model/spec.h: PyTorch's, NCHW
activations) and the NHWC frameworks' (jax, keras). Pure numpy; every change is listed in
docs/backends/python.md ("Weight layouts"), and to_nhwc followed by from_nhwc is the identity.

  conv2d.weight  spec [out, in/groups, kh, kw] (OIHW)  ->  [kh, kw, in/groups, out] (HWIO)
  linear.weight  spec [out, in]                         ->  [in, out]
                 and, when the linear reads a flattened C×H×W map with H·W > 1, its input rows
                 are reordered from C,H,W order (NCHW flatten) to H,W,C order (NHWC flatten)
  everything else (biases, batch-norm weight, bias, running_mean, running_var): unchanged [C]
"""
import numpy as np


def conv_to_hwio(w):
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))


def conv_from_hwio(w):
    return np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))


def chw_to_hwc_rows(c, h, w):
    """perm such that x_hwc_flat[i] == x_chw_flat[perm[i]] for a C×H×W map."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


def linear_to_nhwc(weight, flat_from=None):
    """[out, in] -> [in, out]; `flat_from` = (C, H, W) of the map a flatten made the input of."""
    w = np.asarray(weight)
    if flat_from is not None and flat_from[1] * flat_from[2] > 1:
        w = w[:, chw_to_hwc_rows(*flat_from)]
    return np.ascontiguousarray(w.T)


def linear_from_nhwc(weight, flat_from=None):
    w = np.asarray(weight).T
    if flat_from is not None and flat_from[1] * flat_from[2] > 1:
        inverse = np.argsort(chw_to_hwc_rows(*flat_from))
        w = w[:, inverse]
    return np.ascontiguousarray(w)


def flatten_source(spec, layer_index):
    """(C, H, W) of the spatial map whose NCHW flatten feeds layer `layer_index`, or None."""
    layer = spec.layers[layer_index]
    source = spec.layers[layer.inputs[0]] if layer.inputs else None
    if layer.op == "linear" and layer.in_shape[1] * layer.in_shape[2] > 1:
        return tuple(layer.in_shape)  # the linear flattens its own input
    while source is not None and source.op in ("flatten", "dropout"):
        if source.op == "flatten":
            return tuple(source.in_shape)
        source = spec.layers[source.inputs[0]] if source.inputs else None
    return None


def _convert(spec, named, conv, linear):
    """The spec's tensors with every conv weight passed through `conv` and every linear weight
    through `linear` (given the shape its flatten saw)."""
    out = dict(named)
    for i, layer in enumerate(spec.layers):
        key = f"{layer.name}.weight"
        if layer.op == "conv2d":
            out[key] = conv(named[key])
        elif layer.op == "linear":
            out[key] = linear(named[key], flatten_source(spec, i))
    return out


def to_nhwc(spec, named):
    """The spec's tensors {name: array} in the NHWC frameworks' layouts."""
    return _convert(spec, named, conv_to_hwio, linear_to_nhwc)


def from_nhwc(spec, named):
    """The inverse of to_nhwc: back to the spec's layouts."""
    return _convert(spec, named, conv_from_hwio, linear_from_nhwc)
