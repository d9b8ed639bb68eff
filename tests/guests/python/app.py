"""A `wasi:cli/command` written in Python, built with componentize-py.

The first argument picks what it does: `hello` (the default), `args`
(arguments and the sorted environment), `read PATH` (a file in a
preopen), `raise` (an uncaught exception).
"""

import os
import sys

from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        mode = sys.argv[1] if len(sys.argv) > 1 else "hello"
        if mode == "hello":
            print("hello from componentize-py")
        elif mode == "args":
            print(f"argc={len(sys.argv)}")
            for i, a in enumerate(sys.argv):
                print(f"arg[{i}]={a!r}")
            for k in sorted(os.environ):
                print(f"env {k}={os.environ[k]!r}")
            print("to stderr", file=sys.stderr)
        elif mode == "read":
            with open(sys.argv[2], "rb") as f:
                data = f.read()
            print(f"{len(data)} bytes: {data[:64]!r}")
            try:
                open("../outside", "rb")
            except OSError as e:
                print(f"escape: {type(e).__name__}")
        elif mode == "raise":
            raise RuntimeError("the app gave up on purpose")
        else:
            print(f"unknown mode {mode!r}")
