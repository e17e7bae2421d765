"""Keeping the garbage collector's pauses out of a class's answers (used by ``byhand serve``).

CPython's full collection walks every tracked object while holding the GIL: the server's event loop and its
writer stop for all of it. ``byhand serve`` holds some 100,000 objects after start-up (modules, templates,
SQLAlchemy's tables) and, in a class, up to 8,192 exercises it keeps made (about 40 objects each); under load the
default thresholds ran a full collection every second or two, each one stopping every Check in flight for
70–130 ms of CPU (``benchmarks/serve.py`` counts them). So:

- what start-up made is collected once and frozen (:func:`gc.freeze`): later collections never walk it again;
- young collections stay automatic (they are short: a few thousand objects each), with a first threshold a little
  higher than CPython's 700 so that fewer short-lived objects of the requests in flight get promoted;
- the automatic full collection is off; a thread runs one every :data:`FULL_EVERY` seconds instead, so cyclic
  garbage is still freed, and a pause that a class meets every few seconds is met once a minute.
"""

from __future__ import annotations

import gc
import threading
import time

YOUNG = (2000, 10)
"""The thresholds of generations 0 and 1 (CPython's: 700 and 10; 3.13's first is 2000)."""
FULL_EVERY = 60.0
"""Seconds between the server's own full collections."""


def quiet_gc(every: float = FULL_EVERY) -> threading.Thread:
    """Freeze what start-up made, turn the automatic full collection off, and collect in full every ``every`` s.
    Call once, after the app is made and before serving; returns the (daemon) thread that collects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG[0], YOUNG[1], 2**31 - 1)  # a full collection only when the thread below asks for one

    def run() -> None:
        while True:
            time.sleep(every)
            gc.collect()

    t = threading.Thread(target=run, name="byhand-gc", daemon=True)
    t.start()
    return t
