"""The spec as a list of Keras layers (pure Python: no TensorFlow needed to plan or to test).

Each spec layer becomes one or two Keras layers, NHWC, in the spec's order; keras_model.py turns
the plan into a tf.keras functional model. Conventions that differ from the spec's and how the
plan bridges them (docs/backends/python.md):
  - padding: Keras' "same" is asymmetric for even sizes, so a padded conv or average pool is an
    explicit ZeroPadding2D(p) followed by the layer with padding="valid" (count_include_pad);
  - max pooling with padding pads with -inf in the spec: refused (cannot_build says so);
  - batch-norm momentum: Keras keeps (momentum) of the old running value, the spec (1 - m):
    Keras' momentum = 1 - spec momentum; Keras updates the running variance with the biased
    batch variance, the spec with the unbiased one (a documented difference of n / (n - 1));
  - flatten: NHWC order (H, W, C); layouts.py reorders the following linear's rows.
"""


def plan_layer(layer):
    """[(keras class, kwargs)] for one spec layer; raises ValueError for what Keras cannot do."""
    op, name = layer.op, layer.name
    pad = [("ZeroPadding2D", {"padding": layer.padding, "name": f"{name}_pad"})] if layer.padding else []
    if op == "conv2d":
        return pad + [("Conv2D", {"filters": layer.out_channels, "kernel_size": layer.kernel,
                                  "strides": layer.stride, "padding": "valid",
                                  "groups": layer.groups, "use_bias": layer.bias, "name": name})]
    if op == "batch_norm":
        return [("BatchNormalization", {"axis": -1, "momentum": 1 - layer.momentum,
                                        "epsilon": layer.eps, "center": layer.affine,
                                        "scale": layer.affine, "name": name})]
    if op == "max_pool":
        if layer.padding:
            raise ValueError(f"keras: max_pool '{name}' with padding {layer.padding}: Keras pads "
                             "max pooling with zeros, the spec with -inf")
        return [("MaxPooling2D", {"pool_size": layer.kernel, "strides": layer.stride, "name": name})]
    if op == "avg_pool":
        return pad + [("AveragePooling2D", {"pool_size": layer.kernel, "strides": layer.stride,
                                            "padding": "valid", "name": name})]
    simple = {
        "relu": ("ReLU", {}),
        "gelu": ("Activation", {"activation": "gelu_exact"}),
        "global_avg_pool": ("GlobalAveragePooling2D", {"keepdims": True}),
        "flatten": ("Flatten", {}),
        "linear": ("Dense", {"units": layer.out_features, "use_bias": layer.bias}),
        "dropout": ("Dropout", {"rate": layer.p}),
        "add": ("Add", {}),
        "pad_channels": ("PadChannels", {"out_channels": layer.out_channels}),
        "subsample": ("Subsample", {"stride": layer.stride}),
        "scale": ("Scale", {"scale": layer.scale}),
    }
    if op not in simple:
        raise ValueError(f"keras: op '{op}' of layer '{name}' has no Keras layer")
    cls, kwargs = simple[op]
    return [(cls, dict(kwargs, name=name))]


def plan(spec):
    """[(spec layer index, keras class, kwargs)] for every layer after the input."""
    out = []
    for i, layer in enumerate(spec.layers[1:], start=1):
        for cls, kwargs in plan_layer(layer):
            out.append((i, cls, kwargs))
    return out


def cannot_build(spec):
    """Why Keras cannot build `spec`, or None."""
    try:
        plan(spec)
    except ValueError as e:
        return str(e)
    return None
