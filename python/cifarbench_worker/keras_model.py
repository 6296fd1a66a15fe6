"""keras: the spec as a tf.keras functional model (keras_plan.py), trained by a tf.function train
step (jit_compile = the recipe's XLA switch) with SGD / AdamW written out as backend.h defines
them (Keras' own SGD puts the learning rate inside the momentum buffer and decouples weight decay
differently). NHWC; weights converted by layouts.py. Compilation (the first trace of each batch
shape) is timed on its own.

Written against TensorFlow's public API; this machine has no TensorFlow, so only keras_plan.py
and layouts.py are tested here (docs/backends/python.md, "What was verified where").
"""
import time

import numpy as np
import tensorflow as tf

from . import layouts
from .keras_plan import plan
from .spec import read_spec


class PadChannels(tf.keras.layers.Layer):
    def __init__(self, out_channels, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels

    def call(self, x):
        return tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, self.out_channels - x.shape[-1]]])


class Subsample(tf.keras.layers.Layer):
    def __init__(self, stride, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride

    def call(self, x):
        return x[:, ::self.stride, ::self.stride, :]


class Scale(tf.keras.layers.Layer):
    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return x * self.scale


def make_layer(cls, kwargs):
    custom = {"PadChannels": PadChannels, "Subsample": Subsample, "Scale": Scale}
    if cls in custom:
        return custom[cls](**kwargs)
    if cls == "Activation" and kwargs.get("activation") == "gelu_exact":
        return tf.keras.layers.Activation(lambda x: tf.nn.gelu(x, approximate=False), name=kwargs["name"])
    return getattr(tf.keras.layers, cls)(**kwargs)


def build_model(spec):
    """(tf.keras.Model from NHWC images to logits, {name: Keras layer})."""
    c, h, w = spec.input
    outs = [tf.keras.Input(shape=(h, w, c))]
    layers = {}
    for index, spec_layer in enumerate(spec.layers[1:], start=1):
        steps = [(cls, kwargs) for i, cls, kwargs in plan(spec) if i == index]
        x = [outs[i] for i in spec_layer.inputs]
        x = x if spec_layer.op == "add" else x[0]
        for cls, kwargs in steps:  # a spec layer's padding, then the layer itself
            layers[kwargs["name"]] = make_layer(cls, kwargs)
            x = layers[kwargs["name"]](x)
        outs.append(x)
    logits = tf.keras.layers.Flatten()(outs[-1])
    return tf.keras.Model(outs[0], logits), layers


class KerasTrainer:
    input_layout = "nhwc"

    def __init__(self, create, channel):
        ex = create["execution"]
        tf.config.threading.set_intra_op_parallelism_threads(int(create["threads"]))
        tf.random.set_seed(int(create["seed"]))
        if ex["deterministic"]:
            tf.config.experimental.enable_op_determinism()
        if ex["precision"] != "off":
            tf.keras.mixed_precision.set_global_policy(
                "mixed_float16" if ex["precision"] == "fp16" else "mixed_bfloat16")
        self.device = "/GPU:" + ex["device"].split(":")[1] if ex["device"].startswith("cuda") else "/CPU:0"
        self.spec = read_spec(create["spec"])
        self.o = dict(create["optimizer"])
        with tf.device(self.device):
            self.model, self.layers = build_model(self.spec)
        self.import_weights(create["tensors"], channel)
        self.lr = tf.Variable(0.0, trainable=False)
        self.count = tf.Variable(0.0, trainable=False)
        self.slots = [[tf.Variable(tf.zeros_like(v), trainable=False) for v in self.model.trainable_variables]
                      for _ in range(1 if self.o["kind"] == "sgd" else 2)]
        self.xla = bool(ex["xla"])
        self.step_fn = tf.function(self._step, jit_compile=self.xla)
        self.eval_fn = tf.function(lambda x: tf.cast(self.model(x, training=False), tf.float32),
                                   jit_compile=self.xla)
        self.traced = set()
        self.compile_time_s = 0.0

    def _variables(self, name):
        """The spec tensors' Keras variables for spec layer `name`, by spec suffix."""
        layer = self.layers[name]
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            names = (["weight", "bias"] if layer.scale else []) + ["running_mean", "running_var"]
        else:
            names = ["weight", "bias"] if getattr(layer, "use_bias", False) else ["weight"]
        return {f"{name}.{s}": v for s, v in zip(names, layer.weights)}

    def _all_variables(self):
        out = {}
        for layer in self.spec.layers[1:]:
            if layer.name in self.layers:
                out.update(self._variables(layer.name))
        return out

    def import_weights(self, described, channel):
        named = {d["name"]: np.array(channel.floats(int(d["offset"]), int(np.prod(d["shape"])))
                                     .reshape(d["shape"])) for d in described}
        converted = layouts.to_nhwc(self.spec, named)
        for key, variable in self._all_variables().items():
            variable.assign(converted[key])

    def export_weights(self):
        named = {k: v.numpy().astype(np.float32) for k, v in self._all_variables().items()}
        return layouts.from_nhwc(self.spec, named)

    def parameter_count(self):
        return sum(int(np.prod(v.shape)) for v in self.model.trainable_variables)

    def effective_settings(self):
        return [["batch_norm.momentum", "Keras momentum = 1 - spec momentum"],
                ["batch_norm.running_var", "biased batch variance (Keras BatchNormalization)"],
                ["weight_decay.applies_to", "every trainable tensor (written out)"],
                ["xla", "on (tf.function jit_compile)" if self.xla else "off"]]

    def _step(self, x, y):
        with tf.GradientTape() as tape:
            logits = tf.cast(self.model(x, training=True), tf.float32)
            classes = self.spec.num_classes
            s = self.o["label_smoothing"]
            target = tf.one_hot(y, classes) * (1 - s) + s / classes
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(target, logits))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.count.assign_add(1.0)
        self._apply(grads)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.int64))
        return loss, correct

    def _apply(self, grads):
        o, lr = self.o, self.lr
        for i, (w, g) in enumerate(zip(self.model.trainable_variables, grads)):
            if o["kind"] == "sgd":
                g = g + o["weight_decay"] * w
                v = self.slots[0][i]
                v.assign(o["momentum"] * v + g)
                w.assign_sub(lr * (g + o["momentum"] * v if o["nesterov"] else v))
            else:
                w.assign(w * (1 - lr * o["weight_decay"]))
                m, v = self.slots[0][i], self.slots[1][i]
                m.assign(o["beta1"] * m + (1 - o["beta1"]) * g)
                v.assign(o["beta2"] * v + (1 - o["beta2"]) * g * g)
                c1 = 1 - tf.pow(o["beta1"], self.count)
                c2 = 1 - tf.pow(o["beta2"], self.count)
                w.assign_sub(lr / c1 * m / (tf.sqrt(v) / tf.sqrt(c2) + o["eps"]))

    def _timed(self, kind, fn, *args):
        key = (kind,) + tuple(a.shape for a in args)
        if key not in self.traced:
            start = time.perf_counter()
            fn.get_concrete_function(*[tf.TensorSpec(a.shape, a.dtype) for a in args])
            self.compile_time_s += time.perf_counter() - start
            self.traced.add(key)
        return fn(*args)

    def set_learning_rate(self, lr):
        self.lr.assign(lr)

    def train_step(self, x, y):
        with tf.device(self.device):
            loss, correct = self._timed("train", self.step_fn, tf.constant(x), tf.constant(y))
        # Tensors: read at read_steps, not here (no host wait).
        return {"loss": loss, "accuracy": tf.cast(correct, tf.float64) / x.shape[0],
                "compile_time_s": self.compile_time_s}

    def logits(self, x, y):
        with tf.device(self.device):
            return self._timed("eval", self.eval_fn, tf.constant(x)).numpy()

    def evaluate(self, x, y):
        logits = self.logits(x, y)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(y), logits)
        return {"correct": int((logits.argmax(1) == y).sum()), "loss_sum": float(tf.reduce_sum(loss)),
                "count": int(len(y)), "compile_time_s": self.compile_time_s}

    def sync(self):
        pass  # TensorFlow's eager results are ready when .numpy() returned


def version():
    return tf.__version__
