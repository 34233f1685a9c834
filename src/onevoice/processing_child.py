"""The processor in a child process, so that filing events does not take the API's interpreter.

Identity resolution, profile folding and intents cost several times what storing an
event costs. Run on a thread of the API process they share its interpreter lock with
every request, and ingest runs at the speed of both together; in a process of their own
they use another core and the API only validates and appends. Event log order and the
commit-time check (:class:`~onevoice.services.ports.StaleBatch`) already make it safe for
more than one process to process: whoever commits a batch first wins, the other reads
again.

What reads and rewrites a person outside a processing batch (undoing a merge, erasure)
must not interleave with one; in-process that is the processor's thread lock, and here the
API and the child also share a process lock (:class:`TakingTurns`): the child holds it for
each batch, the API for each undo or erasure.

Read-your-writes is kept: the API counts its appends in shared memory, the child records
the count it had seen when it last ran dry, and a read after a write waits for the child
to pass it (or, if the child is not running yet or any more, or the reader holds the
processing turn itself, processes in-process as the thread does).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Semaphore as ProcessSemaphore
from typing import Any

from onevoice.config import Settings
from onevoice.services.processing import Processor

log = logging.getLogger("onevoice.processing")

_CTX = multiprocessing.get_context("spawn")  # never fork a process holding threads and sockets
_WAIT_STEP = 0.001
_SYNC_TIMEOUT = 30.0
_NICE = 10


class TakingTurns:
    """The processor's lock when a child processes: this process's threads take a thread
    lock, then the processes take a lock they share. Both re-entrant (erasure processes
    what waits while it holds the lock). A child that died holding the shared lock would
    hold it for ever: starting a new child gives it a new lock, and a waiter here looks
    again every half second."""

    def __init__(self, processes: Any) -> None:
        self._threads = threading.RLock()
        self.processes = processes
        self._held: list[Any] = []  # only the thread holding _threads touches it
        self._owner: int | None = None
        self.on_wait: Callable[[], None] = lambda: None  # a turn is slow to come: look why

    def __enter__(self) -> TakingTurns:
        self._threads.acquire()
        while True:
            lock = self.processes
            if lock.acquire(timeout=0.5):
                self._held.append(lock)
                self._owner = threading.get_ident()
                return self
            self.on_wait()

    def __exit__(self, *_exc: object) -> None:
        self._held.pop().release()
        if not self._held:
            self._owner = None
        self._threads.release()

    def held_here(self) -> bool:
        """Whether this thread holds the turn (the child then cannot process meanwhile)."""
        return self._owner == threading.get_ident()


class ProcessingChild:
    """Same face as :class:`~onevoice.services.processing.BackgroundProcessor`, but the
    work is done by a spawned ``onevoice`` process on the same database."""

    def __init__(self, settings: Settings, processor: Processor, *, idle_wait: float = 1.0):
        self.processor = processor  # for in-process catch-up while no child runs
        self.lock = TakingTurns(_CTX.RLock())
        self.lock.on_wait = self._respawn
        processor.lock = self.lock  # the same lock, shared with the child
        self._settings = settings
        self._idle_wait = idle_wait
        self._process: SpawnProcess | None = None
        # a semaphore and a flag, not multiprocessing Events: an Event's set() waits for
        # every process sleeping on it to wake, and a child killed in its sleep never does
        # (the next append, or the server's stop, would hang for ever)
        self._wake: ProcessSemaphore | None = None
        self._stop: Any = None  # a shared byte, 1 once the child must stop
        self._appended: Synchronized[int] | None = None
        self._processed: Synchronized[int] | None = None
        self._errors: Synchronized[int] | None = None
        self._erasures: Synchronized[int] | None = None
        self._local_appended = 1  # events may wait from before this process started
        self._local_processed = 0
        self.restarts = 0
        self._restart_lock = threading.Lock()

    @property
    def errors(self) -> int:
        """Failed processing steps, and children that died and were started again."""
        return (self._errors.value if self._errors is not None else 0) + self.restarts

    def start(self) -> None:
        self._wake, self._stop = _CTX.Semaphore(0), _CTX.RawValue("b", 0)
        self._appended = _CTX.Value("q", self._local_appended)
        self._processed = _CTX.Value("q", 0)
        self._errors = _CTX.Value("q", 0)
        self._erasures = _CTX.Value("q", 0)
        self._spawn()

    def _spawn(self) -> None:
        assert self._wake is not None
        self._process = _CTX.Process(
            target=_child_main,
            args=(
                os.getpid(),
                self._settings,
                self._idle_wait,
                self.lock.processes,
                self._wake,
                self._stop,
                self._appended,
                self._processed,
                self._errors,
                self._erasures,
            ),
            name="onevoice-processor",
            daemon=True,
        )
        self._process.start()
        self._wake.release()

    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def notify(self) -> None:
        """Events were appended: count it and wake the child."""
        if self._appended is None or self._wake is None:
            self._local_appended += 1
            return
        with self._appended.get_lock():
            self._appended.value += 1
        self._wake.release()
        if self._process is not None and not self._process.is_alive():
            self._respawn()

    def _respawn(self) -> None:
        """A child that died (killed, out of memory) is started again on the next append."""
        with self._restart_lock:
            if self._process is None or self._process.is_alive():
                return
            if self._stop is not None and self._stop.value:
                return
            log.error(
                "the processor process exited (code %s); starting another",
                self._process.exitcode,
            )
            self.restarts += 1
            self.lock.processes = _CTX.RLock()  # the dead child may have held the old one
            self._spawn()

    def forget_caches(self) -> None:
        """Erasure: the child drops its in-memory personal data before its next batch."""
        if self._erasures is None or self._wake is None:
            return
        with self._erasures.get_lock():
            self._erasures.value += 1
        self._wake.release()

    def caught_up(self) -> bool:
        if self._appended is None or self._processed is None:
            return self._local_processed >= self._local_appended
        return bool(self._processed.value >= self._appended.value)

    def sync(self) -> None:
        """Read-your-writes: wait until the child has processed what was appended so far."""
        if self._appended is None or self._processed is None:
            if self._local_processed < self._local_appended:
                target = self._local_appended
                self.processor.run_until_idle()
                self._local_processed = target
            return
        target = self._appended.value
        deadline = time.monotonic() + _SYNC_TIMEOUT
        while (processed := self._processed.value) < target:
            # an undo holding the turn cannot wait for the child, which waits for the turn;
            # a child still starting up (it has not run dry once) is not worth waiting for
            if (
                processed == 0
                or self.lock.held_here()
                or not self.running()
                or time.monotonic() > deadline
            ):
                # no child (or a stuck one): do it here; a batch raced is simply re-read
                self.processor.run_until_idle()
                return
            time.sleep(_WAIT_STEP)

    def stop(self, timeout: float = 15.0) -> None:
        process = self._process  # one object throughout: a second stop may clear the field
        if process is None or self._stop is None or self._wake is None:
            return
        self._stop.value = 1
        self._wake.release()
        process.join(timeout)
        if process.is_alive():
            log.warning("the processor process did not stop in %.0f s; terminating it", timeout)
            process.terminate()
            process.join(5)
        self._process = None


def _child_main(
    parent: int,
    settings: Settings,
    idle_wait: float,
    turn: Any,
    wake: ProcessSemaphore,
    stop: Any,
    appended: Synchronized[int],
    processed: Synchronized[int],
    errors: Synchronized[int],
    erasures: Synchronized[int],
) -> None:
    """The child: bootstrap onevoice on the same database and process whenever woken."""
    from onevoice.bootstrap import bootstrap
    from onevoice.ops.heap import tune_long_running
    from onevoice.ops.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    # Ctrl-C in a terminal reaches the whole process group: the server stops this process
    # itself (the stop flag), or this process sees it gone (``parent``)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _NICE and hasattr(os, "nice"):
        os.nice(_NICE)  # background work: requests come first when the cores are busy
    ov = bootstrap(replace(settings, processing="thread"))  # it is the processor
    tune_long_running()
    forgotten = erasures.value
    try:
        while not stop.value:
            if wake.acquire(True, idle_wait):
                while wake.acquire(False):  # one wake-up for every append since the last
                    pass
            if os.getppid() != parent:  # the server was killed (no stop came): go with it
                # (its pid is passed in: it may have died before this process looked)
                log.warning("the server process is gone; the processor process exits")
                break
            target = appended.value
            try:
                # a batch at a time, so an undo or erasure waits one batch at most, and a
                # stop is heeded between batches rather than after the whole backlog
                dry = False
                while not dry and not stop.value and os.getppid() == parent:
                    with turn:
                        if erasures.value != forgotten:  # someone was erased: forget them too
                            forgotten = erasures.value
                            ov.erasure.forget_caches()
                        dry = ov.processor.step().events == 0
            except Exception:  # isolation point: log, count, retry on the next wake
                with errors.get_lock():
                    errors.value += 1
                log.exception("processing step failed; it will be retried")
                time.sleep(0.5)
                continue
            if dry and target > processed.value:  # only a run to the end has caught up
                processed.value = target
    finally:
        ov.close()
