"""jax: the spec in plain JAX (lax ops, NHWC), a jitted train step, and SGD / AdamW written out as
src/backends/backend.h defines them (PyTorch's rules). Weights arrive in the spec's layouts and
are converted by layouts.py (OIHW -> HWIO, linear [out, in] -> [in, out] with flatten rows
reordered); batch-norm keeps PyTorch's conventions (momentum on the batch statistic, unbiased
running variance). Compilation happens on a batch shape's first use and is timed on its own.

Written against the public jax API; this machine has no JAX, so it is untested here (see
docs/backends/python.md, "What was verified where").
"""
import time

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

from . import layouts
from .spec import read_spec


def _layer(layer, p, x, outs, training, key, dtype):
    op, name = layer.op, layer.name
    w = lambda suffix: p.get(f"{name}.{suffix}")
    if op == "conv2d":
        y = lax.conv_general_dilated(x, w("weight").astype(dtype), (layer.stride, layer.stride),
                                     [(layer.padding, layer.padding)] * 2,
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     feature_group_count=layer.groups)
        return y + w("bias").astype(dtype) if layer.bias else y
    if op in ("relu", "gelu"):
        return jax.nn.relu(x) if op == "relu" else jax.nn.gelu(x, approximate=False)
    if op in ("max_pool", "avg_pool"):
        pad = [(0, 0), (layer.padding, layer.padding), (layer.padding, layer.padding), (0, 0)]
        window, strides = (1, layer.kernel, layer.kernel, 1), (1, layer.stride, layer.stride, 1)
        if op == "max_pool":
            return lax.reduce_window(x, -jnp.inf, lax.max, window, strides, pad)
        return lax.reduce_window(x, 0.0, lax.add, window, strides, pad) / (layer.kernel ** 2)
    if op == "global_avg_pool":
        return jnp.mean(x, axis=(1, 2), keepdims=True)
    if op == "flatten":
        return x.reshape(x.shape[0], 1, 1, -1)
    if op == "linear":
        y = x.reshape(x.shape[0], -1) @ w("weight").astype(dtype)
        y = y + w("bias").astype(dtype) if layer.bias else y
        return y.reshape(y.shape[0], 1, 1, -1)
    if op == "dropout":
        if not training or layer.p == 0:
            return x
        keep = jax.random.bernoulli(key, 1 - layer.p, x.shape)
        return jnp.where(keep, x / (1 - layer.p), 0)
    if op == "add":
        return x + outs[layer.inputs[1]]
    if op == "pad_channels":
        return jnp.pad(x, [(0, 0), (0, 0), (0, 0), (0, layer.out_channels - x.shape[3])])
    if op == "subsample":
        return x[:, ::layer.stride, ::layer.stride, :]
    if op == "scale":
        return x * layer.scale
    raise ValueError(f"jax backend: op '{op}' of layer '{name}' is not implemented")


def _batch_norm(layer, p, b, x, training):
    """(y, new running_mean, new running_var) with PyTorch's conventions."""
    name = layer.name
    mean_key, var_key = f"{name}.running_mean", f"{name}.running_var"
    xf = x.astype(jnp.float32)
    if training:
        mean = jnp.mean(xf, axis=(0, 1, 2))
        var = jnp.mean(jnp.square(xf - mean), axis=(0, 1, 2))
        n = x.shape[0] * x.shape[1] * x.shape[2]
        m = layer.momentum
        new_mean = (1 - m) * b[mean_key] + m * mean
        new_var = (1 - m) * b[var_key] + m * var * n / max(n - 1, 1)
    else:
        mean, var, new_mean, new_var = b[mean_key], b[var_key], b[mean_key], b[var_key]
    y = (xf - mean) / jnp.sqrt(var + layer.eps)
    if layer.affine:
        y = y * p[f"{name}.weight"] + p[f"{name}.bias"]
    return y.astype(x.dtype), {mean_key: new_mean, var_key: new_var}


def forward(spec, params, buffers, x, training, key, dtype=jnp.float32):
    """(logits in float32, updated buffers)."""
    outs = [x.astype(dtype)]
    new_buffers = dict(buffers)
    for i, layer in enumerate(spec.layers[1:], start=1):
        inp = outs[layer.inputs[0]]
        if layer.op == "batch_norm":
            y, updated = _batch_norm(layer, params, buffers, inp, training)
            new_buffers.update(updated)
        else:
            y = _layer(layer, params, inp, outs, training, jax.random.fold_in(key, i), dtype)
        outs.append(y)
    return outs[-1].reshape(x.shape[0], -1).astype(jnp.float32), new_buffers


def cross_entropy(logits, labels, classes, smoothing):
    target = jax.nn.one_hot(labels, classes) * (1 - smoothing) + smoothing / classes
    return -jnp.mean(jnp.sum(target * jax.nn.log_softmax(logits), axis=1))


def optimizer_update(o, params, grads, state, lr, step):
    """backend.h's SGD / AdamW over every trainable tensor (weight decay on all of them)."""
    new_params, new_state = {}, {}
    for k, w in params.items():
        g = grads[k]
        if o["kind"] == "sgd":
            g = g + o["weight_decay"] * w
            v = o["momentum"] * state[k] + g
            new_state[k] = v
            new_params[k] = w - lr * (g + o["momentum"] * v if o["nesterov"] else v)
        else:
            w = w * (1 - lr * o["weight_decay"])
            m = o["beta1"] * state[k][0] + (1 - o["beta1"]) * g
            v = o["beta2"] * state[k][1] + (1 - o["beta2"]) * g * g
            c1, c2 = 1 - o["beta1"] ** step, 1 - o["beta2"] ** step
            new_params[k] = w - (lr / c1) * m / (jnp.sqrt(v) / jnp.sqrt(c2) + o["eps"])
            new_state[k] = (m, v)
    return new_params, new_state


class JaxTrainer:
    input_layout = "nhwc"

    def __init__(self, create, channel):
        ex = create["execution"]
        self.spec = read_spec(create["spec"])
        platform = "gpu" if ex["device"].startswith("cuda") else "cpu"
        index = int(ex["device"].split(":")[1]) if ":" in ex["device"] else 0
        self.device = jax.devices(platform)[index]
        self.dtype = jnp.bfloat16 if ex["precision"] == "bf16" else jnp.float32
        self.o = dict(create["optimizer"])
        self.smoothing = float(self.o["label_smoothing"])
        self.trainable = {d["name"]: bool(d["trainable"]) for d in create["tensors"]}
        self.key = jax.random.PRNGKey(int(create["seed"]) & 0xFFFFFFFF)
        self.lr = 0.0
        self.step = 0
        self.compile_time_s = 0.0
        self.compiled = {}
        self.import_weights(create["tensors"], channel)
        zeros = lambda w: jnp.zeros_like(w)
        self.opt_state = {k: zeros(w) if self.o["kind"] == "sgd" else (zeros(w), zeros(w))
                          for k, w in self.params.items()}

    def _put(self, named):
        return {k: jax.device_put(jnp.asarray(v), self.device) for k, v in named.items()}

    def import_weights(self, described, channel):
        named = {d["name"]: np.array(channel.floats(int(d["offset"]), int(np.prod(d["shape"])))
                                     .reshape(d["shape"])) for d in described}
        converted = layouts.to_nhwc(self.spec, named)
        self.params = self._put({k: v for k, v in converted.items() if self.trainable[k]})
        self.buffers = self._put({k: v for k, v in converted.items() if not self.trainable[k]})

    def export_weights(self):
        named = {k: np.asarray(v, dtype=np.float32) for k, v in {**self.params, **self.buffers}.items()}
        return layouts.from_nhwc(self.spec, named)

    def parameter_count(self):
        return sum(int(np.prod(v.shape)) for v in self.params.values())

    def effective_settings(self):
        return [["batch_norm.momentum", "running = (1 - m) running + m batch (PyTorch's, written out)"],
                ["batch_norm.running_var", "unbiased batch variance (written out)"],
                ["weight_decay.applies_to", f"every trainable tensor ({len(self.params)} of {len(self.params)})"],
                ["loss.reduction", "mean over the batch (written out)"],
                ["jit", "jax.jit per batch shape; compile time reported apart"]]

    def _train_fn(self):
        spec, classes, smoothing, o, dtype = self.spec, self.spec.num_classes, self.smoothing, self.o, self.dtype

        def loss_fn(params, buffers, x, y, key):
            logits, new_buffers = forward(spec, params, buffers, x, True, key, dtype)
            return cross_entropy(logits, y, classes, smoothing), (logits, new_buffers)

        def step(params, buffers, opt_state, x, y, lr, count, key):
            (loss, (logits, new_buffers)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, buffers, x, y, key)
            params, opt_state = optimizer_update(o, params, grads, opt_state, lr, count)
            return params, new_buffers, opt_state, loss, jnp.sum(jnp.argmax(logits, 1) == y)

        return jax.jit(step)

    def _eval_fn(self):
        spec, dtype = self.spec, self.dtype
        return jax.jit(lambda params, buffers, x: forward(spec, params, buffers, x, False,
                                                          jax.random.PRNGKey(0), dtype)[0])

    def _compiled(self, kind, args):
        """The function for `kind` compiled for these argument shapes (timed on first use)."""
        key = (kind,) + tuple(getattr(a, "shape", ()) for a in args)
        if key not in self.compiled:
            start = time.perf_counter()
            fn = self._train_fn() if kind == "train" else self._eval_fn()
            self.compiled[key] = fn.lower(*args).compile()
            self.compile_time_s += time.perf_counter() - start
        return self.compiled[key]

    def set_learning_rate(self, lr):
        self.lr = lr

    def train_step(self, x, y):
        self.step += 1
        args = (self.params, self.buffers, self.opt_state, jax.device_put(x, self.device),
                jax.device_put(y.astype(np.int32), self.device), jnp.float32(self.lr),
                jnp.float32(self.step), jax.random.fold_in(self.key, self.step))
        fn = self._compiled("train", args)
        self.params, self.buffers, self.opt_state, loss, correct = fn(*args)
        # Device arrays, still being computed: read at read_steps, not here (no host wait).
        return {"loss": loss, "accuracy": correct / x.shape[0], "compile_time_s": self.compile_time_s}

    def logits(self, x, y):
        args = (self.params, self.buffers, jax.device_put(x, self.device))
        return np.asarray(self._compiled("eval", args)(*args))

    def evaluate(self, x, y):
        logits = self.logits(x, y).astype(np.float64)
        shifted = logits - logits.max(1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        loss_sum = -log_probs[np.arange(len(y)), y].sum()
        return {"correct": int((logits.argmax(1) == y).sum()), "loss_sum": float(loss_sum),
                "count": int(len(y)), "compile_time_s": self.compile_time_s}

    def sync(self):
        jax.block_until_ready(self.params)


def version():
    return jax.__version__
