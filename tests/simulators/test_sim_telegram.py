"""``castwatch sim telegram``: the Bot API stand-in as a process, as the demo runs it."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from tests.support.victoria import free_port


def test_sim_telegram_answers_the_bot_api_and_prints_what_it_receives() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "sim", "telegram", "--port", str(port),
                                "--token", "42:DEMO"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        base = f"http://127.0.0.1:{port}/bot42:DEMO"
        deadline = time.monotonic() + 30
        while True:
            try:
                me = requests.post(f"{base}/getMe", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "the stand-in did not start"
                time.sleep(0.2)
        assert me.json()["result"]["is_bot"] is True
        sent = requests.post(f"{base}/sendMessage", json={"chat_id": 7, "text": "PLAYLIST_STALE on DEMO_001"},
                             timeout=5)
        assert sent.json()["ok"] is True
        assert requests.post(f"http://127.0.0.1:{port}/bot1:WRONG/getMe", timeout=5).status_code == 401
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert f"TELEGRAM_API_BASE_URL=http://127.0.0.1:{port}/bot TELEGRAM_BOT_TOKEN=42:DEMO" in out
    assert "chat 7 message" in out and "PLAYLIST_STALE on DEMO_001" in out
