"""The worker's pure parts, without any framework: the spec reader, the Keras plan, the weight
layout conversions (checked by computing the same conv and linear both ways in numpy), the
fault-injection syntax and the protocol loop's keeping of step values until read_steps.
Run: /usr/bin/python3 -m unittest discover -s python/tests -t python."""
import unittest

import numpy as np

from cifarbench_worker import keras_plan, layouts
from cifarbench_worker.faults import FaultInjector
from cifarbench_worker.spec import read_spec


def layer(name, op, inputs, in_shape, out_shape, **kw):
    return dict(name=name, op=op, inputs=inputs, in_shape=in_shape, out_shape=out_shape, **kw)


def small_spec():
    """input 3×6×6 → conv(4, k3, p1) → bn → relu → avg_pool(2) → flatten → linear(5)."""
    return read_spec({"name": "small", "input": [3, 6, 6], "num_classes": 5, "layers": [
        layer("input", "input", [], [3, 6, 6], [3, 6, 6]),
        layer("conv", "conv2d", [0], [3, 6, 6], [4, 6, 6], out_channels=4, kernel=3, padding=1, bias=True),
        layer("bn", "batch_norm", [1], [4, 6, 6], [4, 6, 6], momentum=0.1, eps=1e-5),
        layer("relu", "relu", [2], [4, 6, 6], [4, 6, 6]),
        layer("pool", "avg_pool", [3], [4, 6, 6], [4, 3, 3], kernel=2, stride=2),
        layer("flat", "flatten", [4], [4, 3, 3], [36, 1, 1]),
        layer("fc", "linear", [5], [36, 1, 1], [5, 1, 1], out_features=5, bias=True),
    ]})


def conv_nchw(x, w, padding):
    """Cross-correlation, stride 1, NCHW input, OIHW weights (the spec's definition)."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    out = np.zeros((n, o, h + 2 * padding - k + 1, wd + 2 * padding - k + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.einsum("nchw,ochw->no", xp[:, :, i:i + k, j:j + k], w)
    return out


def conv_nhwc(x, w, padding):
    """The same in NHWC with HWIO weights (what jax and Keras compute)."""
    n, h, wd, c = x.shape
    k, _, _, o = w.shape
    xp = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    out = np.zeros((n, h + 2 * padding - k + 1, wd + 2 * padding - k + 1, o))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", xp[:, i:i + k, j:j + k, :], w)
    return out


class LayoutTest(unittest.TestCase):
    def test_a_converted_conv_computes_the_same_output_in_nhwc(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal((2, 3, 5, 5))
        w = rng.standard_normal((4, 3, 3, 3))
        want = conv_nchw(x, w, 1).transpose(0, 2, 3, 1)
        got = conv_nhwc(x.transpose(0, 2, 3, 1), layouts.conv_to_hwio(w), 1)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)

    def test_a_linear_after_a_spatial_flatten_gets_its_rows_reordered(self):
        rng = np.random.default_rng(2)
        fmap = rng.standard_normal((2, 4, 3, 3))  # N, C, H, W
        w = rng.standard_normal((5, 36))
        want = fmap.reshape(2, -1) @ w.T  # the spec: NCHW flatten
        nhwc_flat = fmap.transpose(0, 2, 3, 1).reshape(2, -1)
        got = nhwc_flat @ layouts.linear_to_nhwc(w, (4, 3, 3))
        np.testing.assert_allclose(got, want, rtol=1e-12)
        # Without the reordering the result is wrong (the test can fail).
        self.assertFalse(np.allclose(nhwc_flat @ w.T, want))

    def test_to_nhwc_then_from_nhwc_is_the_identity_and_changes_only_conv_and_linear(self):
        spec = small_spec()
        rng = np.random.default_rng(3)
        named = {"conv.weight": rng.standard_normal((4, 3, 3, 3)), "conv.bias": rng.standard_normal(4),
                 "bn.weight": rng.standard_normal(4), "bn.bias": rng.standard_normal(4),
                 "bn.running_mean": rng.standard_normal(4), "bn.running_var": rng.random(4),
                 "fc.weight": rng.standard_normal((5, 36)), "fc.bias": rng.standard_normal(5)}
        converted = layouts.to_nhwc(spec, named)
        self.assertEqual(converted["conv.weight"].shape, (3, 3, 3, 4))
        self.assertEqual(converted["fc.weight"].shape, (36, 5))
        for key in ("conv.bias", "bn.weight", "bn.running_var", "fc.bias"):
            np.testing.assert_array_equal(converted[key], named[key])
        back = layouts.from_nhwc(spec, converted)
        for key, value in named.items():
            np.testing.assert_array_equal(back[key], value, err_msg=key)

    def test_the_flatten_source_of_a_linear_is_the_flattened_map(self):
        spec = small_spec()
        self.assertEqual(layouts.flatten_source(spec, 6), (4, 3, 3))
        self.assertIsNone(layouts.flatten_source(spec, 1))


class KerasPlanTest(unittest.TestCase):
    def test_padding_becomes_an_explicit_zero_padding_and_momentum_is_flipped(self):
        steps = keras_plan.plan(small_spec())
        classes = [cls for _, cls, _ in steps]
        self.assertEqual(classes, ["ZeroPadding2D", "Conv2D", "BatchNormalization", "ReLU",
                                   "AveragePooling2D", "Flatten", "Dense"])
        conv = steps[1][2]
        self.assertEqual((conv["padding"], conv["filters"], conv["kernel_size"], conv["use_bias"]),
                         ("valid", 4, 3, True))
        self.assertEqual(steps[0][2]["padding"], 1)
        bn = steps[2][2]
        self.assertAlmostEqual(bn["momentum"], 0.9)
        self.assertEqual(bn["epsilon"], 1e-5)
        self.assertEqual(steps[-1][0], 6)  # Dense belongs to spec layer 6

    def test_a_padded_max_pool_cannot_be_built_and_says_why(self):
        spec = small_spec()
        spec.layers[4].op, spec.layers[4].padding = "max_pool", 1
        why = keras_plan.cannot_build(spec)
        self.assertIn("max_pool 'pool' with padding 1", why)
        self.assertIsNone(keras_plan.cannot_build(small_spec()))


class SpecTest(unittest.TestCase):
    def test_an_unknown_op_is_refused_by_layer_name(self):
        raw = {"name": "x", "input": [3, 4, 4], "num_classes": 2,
               "layers": [layer("input", "input", [], [3, 4, 4], [3, 4, 4]),
                          layer("odd", "conv3d", [0], [3, 4, 4], [3, 4, 4])]}
        with self.assertRaisesRegex(ValueError, "layer 1 'odd': unknown op 'conv3d'"):
            read_spec(raw)


class FaultTest(unittest.TestCase):
    def test_the_fault_fires_on_the_nth_call_of_its_op_only(self):
        f = FaultInjector("raise@train_step:2")
        f.before("train_step")
        f.before("evaluate")
        with self.assertRaisesRegex(RuntimeError, "train_step call 2"):
            f.before("train_step")
        f.before("train_step")

    def test_a_malformed_fault_is_refused_naming_the_syntax(self):
        with self.assertRaisesRegex(ValueError, "expected <raise|hang|kill>@<op>:<n>"):
            FaultInjector("explode")
        with self.assertRaisesRegex(ValueError, "'melt' is not raise, hang or kill"):
            FaultInjector("melt@train_step:1")


if __name__ == "__main__":
    unittest.main()


class FakeChannel:
    """A channel whose batches are fixed arrays (handle() reads a batch from the message)."""
    def batch(self, message):
        return np.zeros((2, 3, 1, 1), np.float32), np.zeros(2, np.int64)


class FakeTrainer:
    """Answers train_step with the next of the given (loss, accuracy) values."""
    def __init__(self, values):
        self.values = list(values)

    def train_step(self, x, y):
        loss, accuracy = self.values.pop(0)
        return {"loss": loss, "accuracy": accuracy, "compile_time_s": 0.5}


class ReadStepsTest(unittest.TestCase):
    def test_train_step_answers_without_values_and_read_steps_sends_them_all_in_order(self):
        from cifarbench_worker.__main__ import handle
        trainer, unread = FakeTrainer([(2.5, 0.5), (float("nan"), 0.0), (float("inf"), 1.0)]), []
        for _ in range(3):
            self.assertEqual(handle(trainer, {"op": "train_step"}, FakeChannel(), unread),
                             {"compile_time_s": 0.5})
        self.assertEqual(handle(trainer, {"op": "read_steps"}, FakeChannel(), unread),
                         {"loss": [2.5, "nan", "inf"], "accuracy": [0.5, 0.0, 1.0]})
        self.assertEqual(handle(trainer, {"op": "read_steps"}, FakeChannel(), unread),
                         {"loss": [], "accuracy": []})
