"""The worker's protocol loop: python -m cifarbench_worker --control-fd N --shm-fd M.

Each request is answered by exactly one reply: {"ok": true, ...} or {"error": <traceback>,
"kind": "input" | "error"}. The loop ends on {"op": "quit"} or when the harness closes the
channel. docs/backends/python.md documents every message.
"""
import argparse
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


def handle(trainer, message, channel):
    """The reply to one operation on a built trainer."""
    op = message["op"]
    if op == "noop":
        return {}
    if op == "set_learning_rate":
        trainer.set_learning_rate(float(message["lr"]))
        return {}
    if op == "sync":
        trainer.sync()
        return {}
    if op in ("train_step", "evaluate", "logits"):
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
    while True:
        message = channel.receive()
        if message is None or message["op"] == "quit":
            return 0
        op = message["op"]
        try:
            faults.before(op)
            if op == "create":
                trainer = make_trainer(message, channel)
                reply = created(trainer)
            elif trainer is None and op != "noop":
                raise RuntimeError(f"operation '{op}' before create")
            else:
                reply = handle(trainer, message, channel)
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
