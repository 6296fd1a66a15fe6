"""The worker's protocol loop: python -m cifarbench_worker --control-fd N --shm-fd M.

Each request is answered by exactly one reply: {"ok": true, ...} or {"error": <traceback>,
"kind": "input" | "error"}. The loop ends on {"op": "quit"} or when the harness closes the
channel. docs/backends/python.md documents every message.
"""
import argparse
import math
import sys
import traceback

import numpy as np

from .faults import FaultInjector
from .protocol import Channel


def make_trainer(create, channel):
    framework = create["framework"]
    if framework in ("torch-py", "torch-py-compile"):
        from .torch_model import TorchTrainer
        return TorchTrainer(create, channel)
    if framework == "jax":
        from .jax_model import JaxTrainer
        return JaxTrainer(create, channel)
    if framework == "keras":
        from .keras_model import KerasTrainer
        return KerasTrainer(create, channel)
    raise ValueError(f"framework '{framework}': expected torch-py, torch-py-compile, jax or keras")


def step_value(v):
    """A step's loss or accuracy for JSON: a float, or 'nan', 'inf', '-inf' (JSON has none)."""
    v = float(v)
    return v if math.isfinite(v) else repr(v)


def handle(trainer, message, channel, unread):
    """The reply to one operation on a built trainer.

    A train step's loss and accuracy stay where the framework computed them (a device scalar,
    not yet computed while the device runs behind) in `unread` until read_steps: reading them
    at every step would make the host wait for the device and stop it queueing the next step.
    """
    op = message["op"]
    if op == "train_step":
        x, y = channel.batch(message)
        result = trainer.train_step(x, y)
        unread.append((result.pop("loss"), result.pop("accuracy")))
        return result
    if op == "read_steps":
        values = [(step_value(loss), step_value(accuracy)) for loss, accuracy in unread]
        unread.clear()
        return {"loss": [v[0] for v in values], "accuracy": [v[1] for v in values]}
    if op == "noop":
        return {}
    if op == "set_learning_rate":
        trainer.set_learning_rate(float(message["lr"]))
        return {}
    if op == "sync":
        trainer.sync()
        return {}
    if op in ("evaluate", "logits"):
        x, y = channel.batch(message)
        if op == "logits":
            channel.write_floats(int(message["out_offset"]), trainer.logits(x, y))
            return {}
        return getattr(trainer, op)(x, y)
    if op == "export_weights":
        values = trainer.export_weights()
        for d in message["tensors"]:
            channel.write_floats(int(d["offset"]), values[d["name"]])
        return {}
    if op == "import_weights":
        trainer.import_weights(message["tensors"], channel)
        return {}
    if op == "export_optimizer_state":
        values = trainer.export_optimizer_state()
        for d in message["tensors"]:
            channel.write_floats(int(d["offset"]), values[d["name"]])
        return {}
    if op == "import_optimizer_state":
        trainer.import_optimizer_state({d["name"]: channel.floats(int(d["offset"]), int(np.prod(d["shape"])))
                                        .reshape(d["shape"]) for d in message["tensors"]})
        return {}
    raise ValueError(f"unknown operation '{op}'")


def created(trainer):
    return {"parameter_count": int(trainer.parameter_count()),
            "input_layout": trainer.input_layout,
            "effective_settings": trainer.effective_settings(),
            "compile_time_s": float(getattr(trainer, "compile_time_s", 0.0)),
            "optimizer_state": hasattr(trainer, "export_optimizer_state")}


def serve(channel):
    faults = FaultInjector()
    trainer = None
    unread = []  # train steps' (loss, accuracy), until read_steps
    while True:
        message = channel.receive()
        if message is None or message["op"] == "quit":
            return 0
        op = message["op"]
        try:
            faults.before(op)
            if op == "create":
                trainer = make_trainer(message, channel)
                unread.clear()
                reply = created(trainer)
            elif trainer is None and op != "noop":
                raise RuntimeError(f"operation '{op}' before create")
            else:
                reply = handle(trainer, message, channel, unread)
            reply["ok"] = True
        except (ValueError, ImportError) as e:
            kind = "unsupported" if isinstance(e, ImportError) else "input"
            reply = {"error": traceback.format_exc(), "kind": kind, "message": str(e)}
        except Exception as e:  # every other failure fails the trial with its traceback
            reply = {"error": traceback.format_exc(), "kind": "error", "message": str(e)}
        channel.send(reply)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cifarbench_worker")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--shm-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return serve(Channel(args.control_fd, args.shm_fd))


if __name__ == "__main__":
    sys.exit(main())
