"""torch-py: the spec as torch.nn modules trained with torch.optim, the idiomatic PyTorch loop.

It computes what the C++ torch backend (src/backends/torch/) computes, op for op: the same
layer semantics (batch-norm eps and momentum from the spec, unbiased running variance), weight
decay on every trainable tensor, mean cross-entropy with the recipe's label smoothing,
torch.optim.SGD / AdamW (PyTorch's own rules, which backend.h's OptimizerConfig defines), autocast
and GradScaler for fp16/bf16 on CUDA, channels-last as a memory format.
"""
import contextlib
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .spec import read_spec


class Add(nn.Module):
    def forward(self, a, b):
        return a + b


class PadChannels(nn.Module):
    """The input's channels first, then zero channels up to `out` (spec.h's pad_channels)."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return F.pad(x, (0, 0, 0, 0, 0, self.out - x.size(1)))


class Subsample(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride]


class Scale(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x * self.scale


def make_module(layer):
    """The torch.nn module for one spec layer (None for the input)."""
    op = layer.op
    if op == "input":
        return None
    if op == "conv2d":
        return nn.Conv2d(layer.in_shape[0], layer.out_channels, layer.kernel, layer.stride,
                         layer.padding, groups=layer.groups, bias=layer.bias)
    if op == "batch_norm":
        return nn.BatchNorm2d(layer.in_shape[0], eps=layer.eps, momentum=layer.momentum,
                              affine=layer.affine)
    if op == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(
            layer.in_shape[0] * layer.in_shape[1] * layer.in_shape[2], layer.out_features,
            bias=layer.bias))
    simple = {
        "relu": lambda: nn.ReLU(),
        "gelu": lambda: nn.GELU(),
        "max_pool": lambda: nn.MaxPool2d(layer.kernel, layer.stride, layer.padding),
        "avg_pool": lambda: nn.AvgPool2d(layer.kernel, layer.stride, layer.padding,
                                         count_include_pad=True),
        "global_avg_pool": lambda: nn.AdaptiveAvgPool2d(1),
        "flatten": lambda: nn.Flatten(),
        "dropout": lambda: nn.Dropout(layer.p),
        "add": lambda: Add(),
        "pad_channels": lambda: PadChannels(layer.out_channels),
        "subsample": lambda: Subsample(layer.stride),
        "scale": lambda: Scale(layer.scale),
    }
    return simple[op]()


class SpecModule(nn.Module):
    """The spec's layers in order; each reads the outputs its resolved inputs name."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.layers = nn.ModuleList([make_module(l) or nn.Identity() for l in spec.layers])

    def forward(self, x):
        outs = [x]
        for layer, module in zip(self.spec.layers[1:], list(self.layers)[1:]):
            outs.append(module(*[outs[i] for i in layer.inputs]))
        y = outs[-1]
        return y.flatten(1) if y.dim() > 2 else y

    def named_spec_tensors(self):
        """(spec name, tensor, trainable) for every parameter and buffer, in spec order."""
        out = []
        for layer, module in zip(self.spec.layers, self.layers):
            if isinstance(module, nn.Sequential):  # linear: Flatten + Linear
                module = module[1]
            for suffix in ("weight", "bias"):
                t = getattr(module, suffix, None)
                if isinstance(t, nn.Parameter):
                    out.append((f"{layer.name}.{suffix}", t, True))
            if isinstance(module, nn.BatchNorm2d):
                out.append((f"{layer.name}.running_mean", module.running_mean, False))
                out.append((f"{layer.name}.running_var", module.running_var, False))
        return out


class TorchTrainer:
    input_layout = "nchw"

    def __init__(self, create, channel):
        ex = create["execution"]
        torch.set_num_threads(int(create["threads"]))
        torch.manual_seed(int(create["seed"]))
        torch.use_deterministic_algorithms(bool(ex["deterministic"]))
        torch.backends.cudnn.benchmark = bool(ex["autotune"])
        self.device = torch.device(ex["device"])
        self.precision = ex["precision"]
        self.channels_last = bool(ex["channels_last"])
        self.spec = read_spec(create["spec"])
        self.model = SpecModule(self.spec).to(self.device)
        self.tensors = self.model.named_spec_tensors()
        self.import_weights(create["tensors"], channel)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = self._optimizer(create["optimizer"])
        self.kind = create["optimizer"]["kind"]
        self.steps = 0  # optimizer steps taken (the C++ backend's "optimizer.step")
        self.label_smoothing = float(create["optimizer"]["label_smoothing"])
        self.scaler = torch.cuda.amp.GradScaler(enabled=self.precision == "fp16")
        self.compile_time_s = 0.0
        self.forward = self.model
        if create.get("compile"):
            self._compile(channel)

    def _optimizer(self, o):
        params = [t for _, t, trainable in self.tensors if trainable]
        if o["kind"] == "sgd":
            return torch.optim.SGD(params, lr=0.0, momentum=o["momentum"], nesterov=o["nesterov"],
                                   weight_decay=o["weight_decay"])
        return torch.optim.AdamW(params, lr=0.0, betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                 weight_decay=o["weight_decay"])

    def _compile(self, channel):
        """torch.compile, compiled here (a forward and backward on zeros) so that its time is
        reported on its own rather than inside the first step's; state is restored after."""
        if not hasattr(torch, "compile"):
            raise RuntimeError(f"PyTorch {torch.__version__} has no torch.compile (needs ≥ 2.0)")
        start = time.perf_counter()
        saved = {name: t.detach().clone() for name, t, _ in self.tensors}
        self.forward = torch.compile(self.model)
        c, h, w = self.spec.input
        x = torch.zeros(2, c, h, w, device=self.device)
        self.model.train()
        self.forward(x).sum().backward()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for name, t, _ in self.tensors:
                t.copy_(saved[name])
        self.sync()
        self.compile_time_s = time.perf_counter() - start

    def parameter_count(self):
        return sum(t.numel() for _, t, trainable in self.tensors if trainable)

    def effective_settings(self):
        bns = [m for m in self.model.modules() if isinstance(m, nn.BatchNorm2d)]
        convs = [m for m in self.model.modules() if isinstance(m, nn.Conv2d)]
        group = self.optimizer.param_groups[0]
        n = len(group["params"])
        return [["batch_norm.eps", distinct([m.eps for m in bns])],
                ["batch_norm.momentum", distinct([m.momentum for m in bns]) +
                 " (running = (1 - m) running + m batch, nn.BatchNorm2d)"],
                ["batch_norm.running_var", "unbiased batch variance (nn.BatchNorm2d)"],
                ["weight_decay.applies_to", "every trainable tensor, biases and batch-norm "
                 f"included ({n} of {len([1 for _, _, tr in self.tensors if tr])})"],
                ["conv.padding", distinct([m.padding[0] for m in convs]) + " (zeros, symmetric)"],
                ["loss.reduction", "mean over the batch (F.cross_entropy, reduction='mean')"],
                ["torch.compile", f"{self.compile_time_s:.3f} s" if self.forward is not self.model
                 else "off"]]

    def _tensors(self, x, y):
        x = torch.from_numpy(x).to(self.device)
        y = torch.from_numpy(y).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _autocast(self):
        if self.precision == "off":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast("cuda", dtype=dtype)

    def set_learning_rate(self, lr):
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_step(self, x, y):
        x, y = self._tensors(x, y)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = self.forward(x)
        logits = logits.float()
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.steps += 1
        with torch.no_grad():  # device scalars: read at read_steps, not here (no host wait)
            accuracy = (logits.argmax(1) == y).sum() / x.shape[0]
        return {"loss": loss.detach(), "accuracy": accuracy}

    def _inference(self, x):
        self.model.eval()
        with torch.inference_mode(), self._autocast():
            return self.forward(x).float()

    def evaluate(self, x, y):
        x, y = self._tensors(x, y)
        logits = self._inference(x)
        loss_sum = F.cross_entropy(logits, y, reduction="sum").item()
        correct = (logits.argmax(1) == y).sum().item()
        return {"correct": int(correct), "loss_sum": loss_sum, "count": int(x.shape[0])}

    def logits(self, x, y):
        x, _ = self._tensors(x, y)
        return self._inference(x).cpu().numpy()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def export_weights(self):
        return {name: t.detach().cpu().contiguous().numpy() for name, t, _ in self.tensors}

    def import_weights(self, described, channel):
        """Copies the tensors the message describes (name, shape, offset) from shared memory."""
        by_name = {name: t for name, t, _ in self.tensors}
        with torch.no_grad():
            for d in described:
                target = by_name[d["name"]]
                values = channel.floats(int(d["offset"]), int(np.prod(d["shape"]))).reshape(d["shape"])
                target.copy_(torch.from_numpy(values))


def _optimizer_state_names(trainer):
    suffixes = ("momentum_buffer",) if trainer.kind == "sgd" else ("exp_avg", "exp_avg_sq")
    return [(name, t, suffix) for name, t, trainable in trainer.tensors if trainable
            for suffix in suffixes]


def export_optimizer_state(trainer):
    """The C++ torch backend's names: "<tensor>.momentum_buffer" (SGD) or ".exp_avg" and
    ".exp_avg_sq" (AdamW) for every trainable tensor, and "optimizer.step"."""
    out = {}
    for name, t, suffix in _optimizer_state_names(trainer):
        value = trainer.optimizer.state.get(t, {}).get(suffix)
        value = torch.zeros_like(t) if value is None else value
        out[f"{name}.{suffix}"] = value.detach().cpu().contiguous().numpy()
    out["optimizer.step"] = np.array([trainer.steps], dtype=np.float32)
    return out


def import_optimizer_state(trainer, values):
    for name, t, suffix in _optimizer_state_names(trainer):
        state = trainer.optimizer.state[t]
        state[suffix] = torch.zeros_like(t).copy_(torch.from_numpy(np.array(values[f"{name}.{suffix}"])))
        if trainer.kind == "adamw":
            state["step"] = torch.tensor(float(values["optimizer.step"][0]))
    trainer.steps = int(values["optimizer.step"][0])


TorchTrainer.export_optimizer_state = export_optimizer_state
TorchTrainer.import_optimizer_state = import_optimizer_state


def distinct(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in seen) or "none"


def version():
    return torch.__version__
