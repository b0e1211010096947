"""Write the IMPLEMENT long CSV that examples/implement.yaml reads, from the published RDS file.

Usage::

    pip install rdata        # once; a pure-Python reader of R data files (not a project dependency)
    python examples/implement_rds_to_csv.py path/to/completedata.RDS my_study/implement/

``completedata.RDS`` (GitHub repository PsychometricsMZ/dsem_tutorial, ``data/``, MIT licence) is an
R list ``list(data = num[57, 15, 12], therapist = int[57])``: patients x time points x variables,
the variables in the order WAI task 1-3, goal 1-3, bond 1-3, BAI parcels 1-3 (all centred at their
t = 1 sample mean). The CSV has one row per patient x time point (855 rows), columns ``patient``
(1-57, the array's row), ``therapist``, ``t`` (1-15), ``wai_task_1..3``, ``wai_goal_1..3``,
``wai_bond_1..3``, ``bai_parcel_1..3``; a missing value (R's NA) is an empty cell. Values are
written unchanged (shortest repr that reads back to the same double).

The same in R::

    x <- readRDS("completedata.RDS"); d <- x$data
    long <- do.call(rbind, lapply(1:15, function(t) data.frame(patient = 1:57,
      therapist = x$therapist, t = t, d[, t, ])))
    names(long)[4:15] <- c(paste0("wai_task_", 1:3), paste0("wai_goal_", 1:3),
      paste0("wai_bond_", 1:3), paste0("bai_parcel_", 1:3))
    long <- long[order(long$patient, long$t), ]
    write.csv(long, "implement_sessions_long_centered.csv", row.names = FALSE, na = "")
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

VARIABLES = [f"wai_{s}_{i}" for s in ("task", "goal", "bond") for i in (1, 2, 3)] + [
    f"bai_parcel_{i}" for i in (1, 2, 3)
]
FILENAME = "implement_sessions_long_centered.csv"


def rows_from_rds(path: str | Path) -> list[list[object]]:
    """The long rows (patient, therapist, t, 12 variables) of ``completedata.RDS``."""
    try:
        import rdata
    except ImportError:
        sys.exit("this script needs the PyPI package rdata: pip install rdata")
    import numpy as np

    obj = rdata.read_rds(str(path))
    data = np.asarray(obj["data"], dtype=float)
    therapist = np.asarray(obj["therapist"])
    if data.shape != (57, 15, 12) or therapist.shape != (57,):
        sys.exit(f"{path}: expected data[57, 15, 12] and therapist[57], got {data.shape}")
    out = []
    for p in range(data.shape[0]):
        for t in range(data.shape[1]):
            vals = ["" if np.isnan(v) else repr(float(v)) for v in data[p, t]]
            out.append([p + 1, int(therapist[p]), t + 1, *vals])
    return out


def main(argv: list[str]) -> int:
    """Convert ``completedata.RDS`` (argv[0]) into the long CSV in folder argv[1]; exit code."""
    if len(argv) != 2:
        print(__doc__)
        return 2
    src, folder = Path(argv[0]), Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILENAME
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["patient", "therapist", "t", *VARIABLES])
        w.writerows(rows_from_rds(src))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
