"""cifarbench's Python worker: runs one trainer's math in a framework driven from Python.

The C++ harness (src/backends/python/) starts `python -m cifarbench_worker` once per trainer and
drives it through the operations of src/backends/backend.h. The protocol is documented in
docs/backends/python.md; this package needs only the standard library and numpy for its pure
parts (spec.py, layouts.py), and the framework itself for its model modules.
"""
