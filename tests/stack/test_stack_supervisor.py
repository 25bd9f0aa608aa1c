"""The supervisor behind ``castwatch up``: real child processes, restarts with backoff, one
prefixed stream, a refused command line left alone, a clean stop."""

from __future__ import annotations

import io
import sys
import threading
import time

from _stack_support import wait_until

from castwatch.supervisor import (
    ChildSpec,
    Supervisor,
    backoff_delay,
    is_usage_error,
    status_table,
)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_backoff_doubles_per_quick_failure_and_is_capped() -> None:
    assert [backoff_delay(n, base_s=1, cap_s=10) for n in range(6)] == [0, 1, 2, 4, 8, 10]


def test_only_exit_2_with_an_argparse_error_is_a_usage_error() -> None:
    assert is_usage_error(2, ["castwatch: error: unrecognized arguments: --nope"])
    assert not is_usage_error(1, ["castwatch: error: unrecognized arguments: --nope"])
    assert not is_usage_error(2, ["Traceback …", "ValueError: boom"])


def test_the_status_table_aligns_its_columns() -> None:
    table = status_table([("api", "starting", "http://127.0.0.1:8080/"), ("encoders", "up", "x")])
    assert table.splitlines() == ["  api       starting  http://127.0.0.1:8080/",
                                  "  encoders  up        x"]


def _run(supervisor: Supervisor) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    supervisor.start()
    thread = threading.Thread(target=supervisor.run_until, args=(stop,), kwargs={"tick_s": 0.05})
    thread.start()
    return stop, thread


def test_children_share_one_stream_prefixed_with_their_names() -> None:
    out = io.StringIO()
    sup = Supervisor([ChildSpec("api", py("print('hello from api')")),
                      ChildSpec("probe", py("import sys; print('to stderr', file=sys.stderr)"))],
                     out, base_s=30)
    stop, thread = _run(sup)
    try:
        wait_until(lambda: "[probe] to stderr" in out.getvalue() and "[api] hello from api" in
                   out.getvalue(), timeout_s=15, what="both children's lines")
    finally:
        stop.set()
        thread.join(5)
        sup.stop()


def test_a_crashing_child_is_restarted_with_growing_delays() -> None:
    out = io.StringIO()
    sup = Supervisor([ChildSpec("probe", py("import sys; print('crash'); sys.exit(3)"))], out,
                     base_s=0.2, cap_s=1.0, stable_after_s=30)
    stop, thread = _run(sup)
    try:
        child = sup.children["probe"]
        wait_until(lambda: child.starts >= 3, timeout_s=20, what="three starts")
        assert "[up] probe exited with code 3; restarting in 0.2s" in out.getvalue()
        assert "[up] probe exited with code 3; restarting in 0.4s" in out.getvalue()
        assert "[up] probe restarted" in out.getvalue()
    finally:
        stop.set()
        thread.join(5)
        sup.stop()


def test_a_child_whose_command_line_is_refused_is_not_restarted() -> None:
    out = io.StringIO()
    refuse = "import sys; print('castwatch: error: unrecognized arguments: --nope'); sys.exit(2)"
    sup = Supervisor([ChildSpec("notify", py(refuse))], out, base_s=0.05)
    stop, thread = _run(sup)
    try:
        child = sup.children["notify"]
        wait_until(lambda: child.status == "unavailable", timeout_s=15, what="the usage verdict")
        time.sleep(0.3)  # several supervision ticks: it must stay down
        assert child.starts == 1
        assert "notify refused its command line; not restarting it" in out.getvalue()
    finally:
        stop.set()
        thread.join(5)
        sup.stop()


def test_stop_terminates_children_and_kills_those_that_ignore_sigterm() -> None:
    out = io.StringIO()
    polite = py("import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.1)")
    stubborn = py("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                  "print('ready', flush=True)\nwhile True: time.sleep(0.1)")
    sup = Supervisor([ChildSpec("api", polite), ChildSpec("probe", stubborn)], out,
                     stop_timeout_s=1.0)
    stop, thread = _run(sup)
    wait_until(lambda: out.getvalue().count("ready") == 2, timeout_s=15, what="both children up")
    stop.set()
    thread.join(5)
    sup.stop()
    for child in sup.children.values():
        assert child.process is not None and child.process.poll() is not None
        assert child.status == "stopped"
    assert "probe did not stop in time; killing it" in out.getvalue()
