"""Where the benchmarks find the peer scripts and the peers' interpreter.

The peer scripts (``dataver_dvc.py``, ``drift_evidently.py``, ...) live in the
shared peers folder next to this checkout (``../shared/peers``; ``NBMLOPS_PEERS``
overrides it). Evidently needs pandas<3, DVC and MLflow bring their own pins, so
the peers run in their own virtual environment, ``.venv-peers`` (``PEER_PYTHON``
overrides it); ``tools/run-benchmarks`` creates it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = os.environ.get("NBMLOPS_PEERS", str(ROOT.parent / "shared" / "peers"))
PEER_PYTHON = os.environ.get("PEER_PYTHON", str(ROOT / ".venv-peers" / "bin" / "python"))

if not Path(PEERS, "README.md").exists():
    sys.exit(
        f"The peer scripts are not at {PEERS}; set NBMLOPS_PEERS to the folder that holds them."
    )
if PEERS not in sys.path:
    sys.path.insert(0, PEERS)
