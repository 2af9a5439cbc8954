"""The helpers library's performance, in one run: three small tables.

Run with ``make bench-helpers`` (``.venv/bin/python -m benchmarks.helpers_perf``):

1. the fastest Lasso solver of ``helpers.l1`` against scikit-learn's ``Lasso`` on a
   2000 × 500 problem and on a 100-α path with warm starts (``lasso_solvers.py``);
2. inference latency of a neuron-pruned MLP against its dense parent, batch 256, CPU,
   next to the ratio of their MACs (``pruned_latency.py``);
3. dense matmul against ``torch.sparse`` CSR matmul from 50% to 99% sparsity, and where
   sparse starts to win (``sparse_matmul.py``).

Each part can also be run on its own. Timings depend on the machine and its load.
"""

from __future__ import annotations

import platform
import sys
import time

from benchmarks import lasso_solvers, pruned_latency, sparse_matmul


def main() -> int:
    started = time.perf_counter()
    print(f"# helpers performance ({platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()})\n")
    print("## 1. Lasso: helpers against scikit-learn\n")
    print(lasso_solvers.markdown(lasso_solvers.main()))
    print("\n## 2. Neuron-pruned MLP against its dense parent\n")
    pruned_latency.main()
    print("\n## 3. Dense against CSR matmul\n")
    sparse_matmul.main()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
