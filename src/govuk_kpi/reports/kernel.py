"""Warm kernels for the report builder: one IPython kernel per worker process, reused.

Starting a kernel and importing pandas, matplotlib and SQLAlchemy in it is most of a cold
report's time. A builder worker keeps one kernel (a jupyter_client `AsyncKernelManager`)
alive across the reports it builds; the heavy modules are imported in it once, when it starts
(`prepare_kernel`). Before each report, `reset_kernel` (run in the kernel) puts back what a
fresh kernel would have: an empty user namespace and execution count 1 (IPython's `reset`,
new session), the report's working directory, the environment and `sys.path` as started,
no open matplotlib figures and the rc settings as started, pandas' default options, and
empty warning registries (so a warning shows again in each report that triggers it).

Papermill still runs each notebook (parameters injected, partial output kept on failure):
the `govuk-kpi-warm` engine hands nbclient the running kernel and its client instead of
starting a kernel, and writes the output notebook when it starts and ends but not after
every cell. A report that fails, or a kernel that dies, gets a new kernel.

Kernels end with the process that started them, even when it is killed: they are started
through `govuk_kpi.reports.lifetime` (`OwnedKernelManager`), which sets their parent-death
signal before the kernel itself runs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from govuk_kpi.reports.lifetime import owned_command

ENGINE = "govuk-kpi-warm"
KERNEL_NAME = "python3"
# Imported in the kernel when it starts (matplotlib first, with the Agg backend).
HEAVY = ("matplotlib.pyplot", "pandas", "sqlalchemy", "govuk_kpi.kpi", "govuk_kpi.reports")
HERE = __name__
STARTUP_TIMEOUT = 60.0
SETUP_TIMEOUT = 300.0


class KernelSetupError(RuntimeError):
    """Starting, preparing or resetting a warm kernel failed."""


# -- in the kernel -----------------------------------------------------------------------------
_BASELINE: dict[str, Any] = {}


def prepare_kernel() -> None:
    """(In the kernel.) Import the heavy modules; remember the state to reset to."""
    import matplotlib

    matplotlib.use("Agg")
    for name in HEAVY:
        importlib.import_module(name)
    rc = matplotlib.rc_context()  # left open: leaving it restores the rc settings as now
    rc.__enter__()
    _BASELINE.update(
        cwd=os.getcwd(),
        environ=dict(os.environ),
        path=list(sys.path),
        warnings=list(warnings.filters),
        rc=rc,
    )
    # What the kernel holds now (the modules) stays for its life: keep it out of the
    # collections `reset_kernel` runs, which then visit only what reports made.
    gc.collect()
    gc.freeze()


def reset_kernel(cwd: str, environ: dict[str, str]) -> None:
    """(In the kernel.) Make it as a fresh, prepared kernel started in `cwd` with `environ`."""
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)  # user namespace, In/Out, execution count back to 1
    plt.close("all")
    _BASELINE["rc"].__exit__(None, None, None)
    _BASELINE["rc"] = matplotlib.rc_context()
    _BASELINE["rc"].__enter__()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
    warnings.filters[:] = _BASELINE["warnings"]  # type: ignore[index]  # typeshed: a Sequence, but a list
    with contextlib.suppress(AttributeError):
        warnings._filters_mutated()  # type: ignore[attr-defined]
    warnings.onceregistry.clear()  # type: ignore[attr-defined]
    for module in list(sys.modules.values()):
        registry = getattr(module, "__warningregistry__", None)
        if isinstance(registry, dict):
            registry.clear()
    os.environ.clear()
    os.environ.update(_BASELINE["environ"])
    os.environ.update(environ)
    os.chdir(cwd)
    sys.path[:] = [cwd if p == _BASELINE["cwd"] else p for p in _BASELINE["path"]]
    gc.collect()


# -- in the builder's worker process -----------------------------------------------------------
SOCKETS_PREFIX = "govuk-kpi-kernels-"
_sockets: Path | None = None


def _socket_folder() -> Path:
    """A private folder (mode 0700) for this process's kernel sockets: made when a kernel
    starts, removed when it ends (`_remove_sockets`) or, at the latest, when this process
    exits normally."""
    global _sockets
    if _sockets is None or not _sockets.is_dir():
        import atexit
        import tempfile

        _sockets = Path(tempfile.mkdtemp(prefix=SOCKETS_PREFIX))
        atexit.register(_remove_folder, _sockets)
    return _sockets


def _remove_folder(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _remove_sockets(km: Any) -> None:
    """Remove an ended kernel's socket folder (only one of ours: `ip` is a path there)."""
    if getattr(km, "transport", "") != "ipc":
        return
    folder = Path(str(getattr(km, "ip", ""))).parent
    if folder.name.startswith(SOCKETS_PREFIX):
        _remove_folder(folder)


@functools.cache
def owned_kernel_manager() -> type:
    """A jupyter_client `AsyncKernelManager` whose kernels end when this process ends (their
    command runs through `govuk_kpi.reports.lifetime`). Pass it to papermill as
    `kernel_manager_class` for kernels it starts itself."""
    from jupyter_client.manager import AsyncKernelManager

    class OwnedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            # Unix sockets in a folder only this user can enter, not TCP ports on localhost
            # that any local process could connect to (ipykernel warns of those, rightly).
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(_socket_folder() / "kernel"))
            super().__init__(**kwargs)

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return owned_command(super().format_kernel_cmd(extra_arguments))

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart:  # the kernel has ended: its sockets' folder goes too
                _remove_sockets(self)

    return OwnedKernelManager


def _engine() -> type:
    """The papermill engine running a notebook on a `WarmKernel` (registered once)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            warm_kernel: WarmKernel | None = None,
            **kwargs: Any,
        ) -> Any:
            if warm_kernel is None or warm_kernel.km is None or warm_kernel.kc is None:
                raise KernelSetupError("the warm engine needs a started WarmKernel")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, km=warm_kernel.km, **final_kwargs)
            client.kc = warm_kernel.kc  # not owned: nbclient neither starts nor stops it
            # Papermill writes the output notebook when it starts and when it ends (also
            # after an error or a dead kernel: `notebook_complete`), and by default also at
            # every cell's start and end: the whole notebook, images and all, twice a cell,
            # for a reader watching it run. A report is read only when finished: skip those.
            output_path, nb_man.output_path = nb_man.output_path, None
            try:
                return client.execute()
            finally:
                nb_man.output_path = output_path

    papermill_engines.register(ENGINE, WarmEngine)
    return WarmEngine


class WarmKernel:
    """One kernel, started and prepared once, that runs notebook after notebook."""

    def __init__(self, kernel_name: str = KERNEL_NAME) -> None:
        self.kernel_name = kernel_name
        self.km: Any = None
        self.kc: Any = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def is_alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def start(self, cwd: str | Path) -> WarmKernel:
        """Start the kernel in `cwd` (with the worker's environment) and prepare it."""
        from jupyter_core.utils import run_sync

        _engine()
        self.km = owned_kernel_manager()(kernel_name=self.kernel_name)
        self.starts += 1
        try:
            # As nbclient starts its kernels: IPython history in memory, not a shared file.
            run_sync(self.km.start_kernel)(
                extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(cwd)
            )
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=STARTUP_TIMEOUT)
            self.kc.allow_stdin = False
            self.run(f"__import__({HERE!r}, fromlist=['_']).prepare_kernel()")
        except Exception:
            self.shutdown()
            raise
        return self

    def run(self, code: str) -> None:
        """Run `code` in the kernel, outside its history; raise if it fails."""
        from jupyter_core.utils import run_sync

        reply = run_sync(self.kc.execute_interactive)(
            code,
            store_history=False,
            allow_stdin=False,
            timeout=SETUP_TIMEOUT,
            output_hook=lambda _msg: None,
        )
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise KernelSetupError(
                f"{content.get('ename', 'error')}: {content.get('evalue', content)}"
            )

    def reset(self, cwd: str | Path, environ: dict[str, str]) -> None:
        """Make the kernel as a fresh one started in `cwd` with `environ` added."""
        self.run(
            f"__import__({HERE!r}, fromlist=['_']).reset_kernel({str(cwd)!r}, {dict(environ)!r})"
        )

    def execute_notebook(
        self, notebook: str, output: str, parameters: dict[str, Any], cwd: str | Path
    ) -> Any:
        """`papermill.execute_notebook` on this kernel (which must be reset first)."""
        import papermill

        return papermill.execute_notebook(
            notebook,
            output,
            parameters=parameters,
            engine_name=ENGINE,
            kernel_name=self.kernel_name,
            progress_bar=False,
            log_output=False,
            cwd=str(cwd),
            warm_kernel=self,
        )

    def kill(self) -> None:
        """Stop the kernel at once, without talking to it: kill its process group and remove
        its connection file. Safe in a signal handler; the worker is about to end."""
        km, self.kc, self.km = self.km, None, None
        process = getattr(getattr(km, "provisioner", None), "process", None)
        pid = getattr(process, "pid", None)
        if pid is not None and getattr(process, "returncode", None) is None:  # not reaped
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session
            except OSError:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        connection_file = getattr(km, "connection_file", None)
        if connection_file:
            with contextlib.suppress(OSError):
                os.unlink(connection_file)
        _remove_sockets(km)

    def shutdown(self) -> None:
        """Stop the kernel (and its client); harmless when already stopped or dead."""
        from jupyter_core.utils import run_sync

        kc, km, self.kc, self.km = self.kc, self.km, None, None
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is not None:
            with contextlib.suppress(Exception):
                run_sync(km.shutdown_kernel)(now=True)
            with contextlib.suppress(Exception):
                run_sync(km.cleanup_resources)()
