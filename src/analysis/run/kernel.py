"""Notebook kernels of the main job: a temporary kernelspec and one kernel per run.

:func:`project_kernel` makes this interpreter available as a kernel while the job runs (never a
kernel registered by hand); :class:`RunKernel` keeps one kernel alive for all the notebooks of a
run, resetting its namespace between notebooks (imported modules stay: that is the saving) and
replacing it after a failure.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analysis.registry import paths

__all__ = ["KERNEL_NAME", "project_kernel", "RunKernel"]

KERNEL_NAME = "analysis-project"


@contextmanager
def project_kernel() -> Iterator[str]:
    """A kernelspec that runs this interpreter, visible only while the context is open.

    Notebooks therefore always execute in the project's own environment, whatever kernels the
    user registered by hand (the notebooks' own ``python3`` kernelspec is never looked up), and
    import the same ``analysis`` package as the pipeline (its folder leads the kernel's
    ``PYTHONPATH``; relative entries are made absolute, since kernels run in the output folder).
    """
    with tempfile.TemporaryDirectory(prefix="analysis-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / KERNEL_NAME
        kdir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "analysis (project environment)",
            "language": "python",
            "env": {
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                # the kernel imports the same ``analysis`` as this process, whatever its folder
                "PYTHONPATH": os.pathsep.join(
                    [
                        str(paths.PACKAGE_DIR.parent),
                        *[
                            str(Path(p).resolve())
                            for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                            if p
                        ],
                    ]
                ),
            },
        }
        (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + old if old else "")
        try:
            yield KERNEL_NAME
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


def _kernel_manager_class() -> type | None:
    """A kernel manager on IPC sockets (POSIX): no open TCP ports, no plain-text TCP warning."""
    if os.name != "posix":
        return None
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class _IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

    return _IPCKernelManager


# Run in the kernel before every notebook but the first: a fresh user namespace (``%reset -f``;
# imported modules stay loaded, which is what makes one kernel per run fast), no open figures,
# and the matplotlib, pandas, warnings and working-folder state the kernel started with.
_RESET_CODE = """%reset -f
import analysis.run.kernel as _analysis_kernel
_analysis_kernel._restore_state()
del _analysis_kernel
"""
_SNAPSHOT_CODE = """import analysis.run.kernel as _analysis_kernel
_analysis_kernel._snapshot_state()
del _analysis_kernel
"""
_STATE: dict = {}


def _snapshot_state() -> None:
    """In the kernel: remember the state that :func:`_restore_state` brings back."""
    import warnings

    import matplotlib

    _STATE.update(
        cwd=os.getcwd(),
        warnings=list(warnings.filters),
        rc=matplotlib.rcParams.copy(),
    )


def _restore_state() -> None:
    """In the kernel: close every figure; restore rcParams, pandas options, warnings, folder."""
    import warnings

    import matplotlib

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_STATE["rc"])
        if "pandas" in sys.modules:
            sys.modules["pandas"].reset_option("all")
    warnings.filters[:] = _STATE["warnings"]
    os.chdir(_STATE["cwd"])


class RunKernel:
    """One kernel for every notebook of a run (use inside :func:`project_kernel`).

    The kernel starts on the first :meth:`manager` call, in ``cwd`` (the run's output folder).
    Before each later notebook its namespace is reset (``%reset -f``, figures closed, matplotlib
    and pandas settings restored); imported modules stay loaded. After a failing notebook call
    :meth:`discard`: the next notebook gets a new kernel (a timed-out cell may still be running,
    a killed kernel is gone). :meth:`close` shuts the kernel down.

    Parameters
    ----------
    kernel_name : str
        Kernelspec name (:data:`KERNEL_NAME` inside :func:`project_kernel`).
    cwd : path
        Working folder of the kernel.
    startup_timeout : float
        Seconds allowed for the kernel to start (default 60, papermill's).

    Examples
    --------
    >>> with project_kernel() as name:  # doctest: +SKIP
    ...     kernel = RunKernel(name, "/tmp/out")
    ...     km = kernel.manager()  # started; hand it to execute_notebook(..., kernel=kernel)
    ...     kernel.close()
    """

    def __init__(self, kernel_name: str, cwd: str | Path, startup_timeout: float = 60) -> None:
        self.kernel_name = kernel_name
        self.cwd = str(cwd)
        self.startup_timeout = startup_timeout
        self.km = None
        self.starts = 0  # kernels started (1 for a run without failures)
        self.used = False  # a notebook ran in the current kernel: reset before the next
        self._ipc_dir: str | None = None

    def manager(self):
        """The running kernel's manager (an ``AsyncKernelManager``), started when needed."""
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.discard()
        if self.km is None:
            cls = _kernel_manager_class()
            if cls is None:
                from jupyter_client.manager import AsyncKernelManager as cls
            km = cls(kernel_name=self.kernel_name)
            if km.transport == "ipc":  # socket files by absolute path: the kernel runs in cwd
                if self._ipc_dir is None:
                    self._ipc_dir = tempfile.mkdtemp(prefix="analysis-ipc-")
                km.ip = os.path.join(self._ipc_dir, f"kernel{self.starts}")
            run_sync(km.start_kernel)(cwd=self.cwd)
            self.km = km
            self.starts += 1
            self.used = False
        return self.km

    def prepare_code(self) -> str:
        """Code to run before the next notebook (snapshot in a new kernel, reset in a used one)."""
        code = _RESET_CODE if self.used else _SNAPSHOT_CODE
        self.used = True
        return code

    def discard(self) -> None:
        """Shut the kernel down now (after a failure); the next :meth:`manager` starts another."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        except RuntimeError:  # already gone
            pass
        finally:
            run_sync(km.cleanup_resources)()

    def close(self) -> None:
        """Shut the kernel down (at the end of the run)."""
        self.discard()
        if self._ipc_dir is not None:
            import shutil

            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None
