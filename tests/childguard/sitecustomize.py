"""Guard the Python child processes of the test run like the test process.

The test suite puts this folder on ``PYTHONPATH``, so every Python process
it starts (the moto S3 server, dask workers, the command line under test)
imports this module at start-up. It installs the loopback guard of
``tests/loopbackguard.py`` and appends each blocked attempt, with the
process id, to the file named in ``INTAKE_EARTHSCOPE_TEST_GUARD_LOG``, which
the test run lists at its end.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

LOG_VARIABLE = "INTAKE_EARTHSCOPE_TEST_GUARD_LOG"


def _install() -> None:
    log = os.environ.get(LOG_VARIABLE)
    if not log:
        return
    path = Path(__file__).resolve().parent.parent / "loopbackguard.py"
    spec = importlib.util.spec_from_file_location("_child_loopbackguard", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.LoopbackGuard(log_path=log).install()


_install()
