"""wasi-testsuite runtime adapter for ringwasm (used by scripts/conformance).

The runner loads this file as a module and asks it for the runtime's name,
version, the WASI versions and worlds it runs, and the command line of one
test. `RINGWASM` names the binary (default: `ringwasm` on PATH). The flags
mirror `wasmtime run`'s, which ringwasm takes: `--env K=V`, `--dir ROOT::/`,
and for WASI 0.3 `-W component-model-async -S p3` (plus `,http` and
`,inherit-network` when a test needs them); `wasi:http/service` tests run
under `serve -Scli --addr=127.0.0.1:0`.
"""

import os
import shlex
import subprocess
from typing import Dict, List, Optional, Tuple

RINGWASM = shlex.split(os.getenv("RINGWASM", "ringwasm"))


def get_name() -> str:
    return "ringwasm"


def get_version() -> str:
    out = subprocess.run(RINGWASM[0:1] + ["--version"], encoding="UTF-8",
                         capture_output=True, check=True)
    return out.stdout.split()[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1", "wasm32-wasip3"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command", "wasi:http/service"]


def get_timeout_seconds() -> float:
    return 30.0


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    args, env, root = args_env_root
    command = ["serve", "-Scli", "--addr=127.0.0.1:0"] \
        if wasi_world == "wasi:http/service" else ["run"]
    flags: List[str] = []
    if wasi_version == "wasm32-wasip3":
        extra = "".join(f",{p}" for p, on in (("http", "http" in proposals),
                                               ("inherit-network", "sockets" in proposals)) if on)
        flags += ["-Wcomponent-model-async", f"-Sp3{extra}"]
    for key, value in env.items():
        flags += ["--env", f"{key}={value}"]
    if root:
        flags += ["--dir", f"{root}::/"]
    return RINGWASM + command + flags + [test_path] + args
