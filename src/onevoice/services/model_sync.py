"""Model and catalog updates reach every replica: a thread that reloads what changed.

A replica that learns saves the model in the database and announces its version in the
shared state; every other replica checks that version every ``interval`` seconds and
reloads from the database when it differs from the one it decides with. The action
catalog (loaded or PUT on any replica) is compared with the stored one the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from onevoice.services.decisions import Decisions

log = logging.getLogger("onevoice.models")


class ModelSync:
    def __init__(
        self,
        decisions: Decisions,
        interval: float = 2.0,
        on_reload: Callable[[], None] = lambda: None,
        *,
        catalog: Callable[[], object] | None = None,
        use_catalog: Callable[[], None] = lambda: None,
    ) -> None:
        self._decisions = decisions
        self._catalog = catalog
        self._use_catalog = use_catalog
        self._catalog_seen = catalog() if catalog is not None else None
        self._interval = interval
        self._on_reload = on_reload
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_catalog(self) -> bool:
        """Use the stored catalog if it changed since last seen; whether it did."""
        if self._catalog is None:
            return False
        stored = self._catalog()
        if stored == self._catalog_seen:
            return False
        self._use_catalog()
        self._catalog_seen = stored
        log.info("reloaded the action catalog")
        return True

    def check(self) -> bool:
        """Reload if the replicas' newest model is not the one in use; whether it did."""
        newest = self._decisions.newest_model()
        if newest is None or newest == self._decisions.learner.version:
            return False
        if self._decisions.reload_learner():
            self._on_reload()
            log.info("reloaded model %s", self._decisions.learner.version)
            return True
        return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="onevoice-models", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
                self.check_catalog()
            except Exception:  # isolation point: a failed check is retried next round
                log.exception("model reload check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
