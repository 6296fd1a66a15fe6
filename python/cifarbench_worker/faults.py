"""Fault injection for the harness's failure tests (a testing aid, documented in
docs/backends/python.md): CIFARBENCH_WORKER_FAULT=<what>@<op>:<n> makes the n-th call of <op>
raise (raise), never answer (hang) or die by SIGKILL (kill), e.g. "kill@train_step:3". With
CIFARBENCH_WORKER_FAULT_ONCE=<file>, only the first worker that creates <file> faults (one trial
of a suite fails, the others run normally).
"""
import os
import signal
import time


class FaultInjector:
    def __init__(self, spec=None):
        spec = os.environ.get("CIFARBENCH_WORKER_FAULT", "") if spec is None else spec
        self.what = self.op = None
        self.at = 0
        self.calls = {}
        if not spec:
            return
        try:
            what, rest = spec.split("@", 1)
            op, at = rest.split(":", 1)
            self.what, self.op, self.at = what, op, int(at)
        except ValueError:
            raise ValueError(
                f"CIFARBENCH_WORKER_FAULT={spec!r}: expected <raise|hang|kill>@<op>:<n>")
        if what not in ("raise", "hang", "kill"):
            raise ValueError(f"CIFARBENCH_WORKER_FAULT={spec!r}: '{what}' is not raise, hang or kill")

    def before(self, op):
        """Called before every operation; injects the configured fault on its n-th call."""
        self.calls[op] = self.calls.get(op, 0) + 1
        if op != self.op or self.calls[op] != self.at:
            return
        marker = os.environ.get("CIFARBENCH_WORKER_FAULT_ONCE")
        if marker:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # another worker already faulted
        if self.what == "raise":
            raise RuntimeError(f"injected fault: {op} call {self.at} raises")
        if self.what == "hang":
            while True:
                time.sleep(3600)
        os.kill(os.getpid(), signal.SIGKILL)
