"""moto's server on a free loopback port, configured to execute state machines and run Lambda
without Docker, and put back as it was when stopped."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from moto.server import ThreadedMotoServer

from mlopscp_emulator.faults import FaultFront, Faults

EMULATOR_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


class MotoServer:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._server: ThreadedMotoServer | None = None
        self._saved_config: dict[str, Any] = {}
        self._saved_port: str | None = None
        self._werkzeug_level = logging.NOTSET
        self.url = ""

    def start(self) -> str:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        wsgi = self._server._server  # the werkzeug server; faults answer before moto does
        assert wsgi is not None
        wsgi.app = FaultFront(wsgi.app, self.faults)
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # The Step Functions interpreter calls AWS at localhost:$MOTO_PORT.
        self._saved_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)
        werkzeug = logging.getLogger("werkzeug")  # one line per request otherwise
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.ERROR)
        self._saved_config = self._moto_api("config")
        self._moto_api("reset", {})
        self._moto_api("config", EMULATOR_CONFIG)
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self.faults.clear()
        try:
            self._moto_api("reset", {})
            self._moto_api("config", self._saved_config)
        finally:
            self._server.stop()
            self._server = None
            if self._saved_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._saved_port
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)

    def _moto_api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{self.url}/moto-api/{path}",
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode() or "{}"
        try:
            return json.loads(text)
        except ValueError:
            return {}
