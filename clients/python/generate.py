#!/usr/bin/env python3
"""Generates the Python protobuf and gRPC modules of sealgrid's services into gen/.

Runs grpcio-tools' protoc (the version pinned in requirements.txt) on the .proto files
in the repository's proto/ directory:

    python -m grpc_tools.protoc -I ../../proto --python_out=gen --grpc_python_out=gen \
        sealgrid/market/v1/coordinator.proto sealgrid/committee/v1/trustee.proto

gen/ is not committed: it is made again before every use (the tests and .ci/run call
this script), so it cannot drift from the .proto files.
"""

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
PROTO = HERE.parent.parent / "proto"
GEN = HERE / "gen"
FILES = [
    "sealgrid/market/v1/coordinator.proto",
    "sealgrid/committee/v1/trustee.proto",
]


def main() -> int:
    # Start from an empty directory so that a removed .proto leaves no stale module.
    shutil.rmtree(GEN, ignore_errors=True)
    GEN.mkdir()
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO}",
            f"--python_out={GEN}",
            f"--grpc_python_out={GEN}",
            *FILES,
        ]
    )
    if rc != 0:
        print(f"generate.py: protoc failed with exit code {rc}", file=sys.stderr)
        return 1
    print(f"generated {', '.join(FILES)} into {GEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
