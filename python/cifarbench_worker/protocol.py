"""The transport: length-prefixed JSON control messages on a socket, bulk data in shared memory.

A control message is a 4-byte little-endian length followed by that many bytes of UTF-8 JSON.
Batches, logits and weights travel through a shared-memory file (a memfd the harness created and
passed as a file descriptor); messages name offsets into it. The harness grows the region when a
message needs more room and says so in the message's "shm_size"; the worker maps it again then.
"""
import json
import mmap
import socket
import struct

import numpy as np

_LENGTH = struct.Struct("<I")


class Channel:
    def __init__(self, control_fd, shm_fd):
        self.sock = socket.socket(fileno=control_fd)
        self.shm_fd = shm_fd
        self.shm = None
        self.shm_size = 0

    def _read_exactly(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(n)
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        """The next message as a dict, or None when the harness closed the channel."""
        head = self._read_exactly(_LENGTH.size)
        if head is None:
            return None
        body = self._read_exactly(_LENGTH.unpack(head)[0])
        if body is None:
            return None
        message = json.loads(body.decode("utf-8"))
        size = int(message.get("shm_size", 0))
        if size > self.shm_size:
            # Views of the old mapping may still be alive; dropping the reference (not closing)
            # lets it go when they do.
            self.shm = mmap.mmap(self.shm_fd, size)
            self.shm_size = size
        return message

    def send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.sock.sendall(_LENGTH.pack(len(body)) + body)

    def floats(self, offset, count):
        """A float32 numpy view of `count` values at byte `offset` (no copy)."""
        return np.frombuffer(self.shm, dtype=np.float32, count=count, offset=offset)

    def int64s(self, offset, count):
        return np.frombuffer(self.shm, dtype=np.int64, count=count, offset=offset)

    def batch(self, message):
        """(images, labels) of a batch message as numpy views in the harness's layout."""
        n = int(message["n"])
        shape = [n] + [int(d) for d in message["sample_shape"]]
        count = int(np.prod(shape))
        x = self.floats(int(message["x_offset"]), count).reshape(shape)
        y = self.int64s(int(message["y_offset"]), n)
        return x, y

    def write_floats(self, offset, values):
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        self.floats(offset, values.size)[:] = values
