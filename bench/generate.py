"""Generate a big, realistic shop history for the benchmarks: `carecli.demo.bulk`, run as a script.

    python bench/generate.py --tickets 1000000 --db /tmp/care-1m.db [--seed 1] [--end 2026-03-14T10:00:00+00:00]

The generator lives in the package (carecli/demo/bulk.py) so that it writes through the records'
own writers and stays inside the import rule; see its docstring for what it writes.
"""

from carecli.demo.bulk import main

if __name__ == "__main__":
    main()
