"""`make chaos`: SIGKILL the engine process many times against the persistent simulator venue,
restart it each time, then check that nothing was lost or repeated (see
`tests/integration/chaos.py` for the invariants and what exactly they prove).

    python bench/chaos.py --kills 200 [--seed N] [--workdir DIR]

Prints a summary; exits 1 when an invariant fails (the workdir, kept, has every life's logs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.integration

from tests.integration.chaos import ChaosConfig, run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs before the clean finish")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    parser.add_argument("--sim-seed", type=int, default=7, help="seed of the simulated world")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a new temp dir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tailgate-chaos-"))
    result = run_chaos(
        ChaosConfig(workdir=workdir, kills=args.kills, seed=args.seed, sim_seed=args.sim_seed)
    )
    print(result.summary())
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
