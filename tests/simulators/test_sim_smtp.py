"""``castwatch sim smtp``: a real SMTP sink as a process, as the demo runs it."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

from castwatch.simulators.smtp.sink import SmtpSink
from tests.support.victoria import free_port


def test_the_sink_keeps_what_it_receives() -> None:
    with SmtpSink() as sink:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@demo.invalid", "b@demo.invalid", "ORIGIN_DOWN"
        message.set_content("origin 3 is down")
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            client.send_message(message)
        (got,) = sink.messages
    assert (got.mail_from, got.rcpt_to, got.subject) == ("a@demo.invalid", ("b@demo.invalid",), "ORIGIN_DOWN")
    assert "origin 3 is down" in got.text


def test_sim_smtp_prints_every_email() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "sim", "smtp", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the sink did not start"
                time.sleep(0.2)
        with client:
            client.sendmail("castwatch@demo.invalid", ["engineer@demo.invalid"],
                            b"Subject: PLAYLIST_STALE DEMO_001\r\n\r\nstale\r\n")
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert f"SMTP_HOST=127.0.0.1 SMTP_PORT={port} SMTP_SECURITY=none" in out
    assert "email 1 from castwatch@demo.invalid to engineer@demo.invalid" in out
    assert "Subject: PLAYLIST_STALE DEMO_001" in out
