"""Kill -9 under load: every answer the server acknowledged as saved is still there after a restart."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.web.server import Server, setup_class, submit


def test_acknowledged_answers_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "durable.sqlite3"
    srv = Server(db)
    try:
        aid, students = setup_class(srv.url, 16)
        acked: list[int] = []
        lock = threading.Lock()
        stop = threading.Event()

        def student(i: int, c: httpx.Client) -> None:
            n = 0
            while not stop.is_set():
                try:
                    r = submit(c, aid, n % 3, {"1": str(n), "2": str(i)})
                except httpx.HTTPError:
                    return  # the server died under us: this answer was never acknowledged
                if r.status_code == 200 and r.json().get("saved"):
                    with lock:
                        acked.append(r.json()["submission"])
                n += 1

        threads = [threading.Thread(target=student, args=(i, c)) for i, c in enumerate(students)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        srv.kill9()  # mid-flight: requests are being answered right now
        stop.set()
        for th in threads:
            th.join(10)
        for c in students:
            c.close()
    finally:
        srv.stop()
    assert len(acked) > 100, f"too few submissions under load ({len(acked)})"

    srv = Server(db)  # the restart runs the migrations again and must find everything
    try:
        assert httpx.get(srv.url + "/healthz").text == "ok"
    finally:
        srv.stop()
    conn = sqlite3.connect(db)
    stored = {r[0] for r in conn.execute("select id from submissions")}
    conn.close()
    lost = set(acked) - stored
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged answers were lost"
