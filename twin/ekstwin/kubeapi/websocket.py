"""RFC 6455 WebSockets as kube-apiserver speaks them for ``pods/exec``: the handshake and
binary frames of the channel protocols (``v5.channel.k8s.io`` … ``channel.k8s.io``).

Each message carries one channel byte before its data: 0 stdin, 1 stdout, 2 stderr,
3 the error channel (a ``Status`` object from v4 on, plain text before), 4 resize, and
from v5 255 to close one stream (k8s.io/apimachinery wsstream).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import struct
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from typing import BinaryIO

from ekstwin.kubeapi.node_access import ExecResult

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)
STDOUT, STDERR, ERROR = 1, 2, 3
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
CLOSE_NORMAL = 1000
MAX_CLIENT_FRAME = 1 << 20  # stdin and resize messages are small; refuse anything larger
FIRST_OUTPUT_DELAY_SECONDS = 0.2
CLOSE_WAIT_SECONDS = 1.0  # how long the server waits for the client's close frame


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for the client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def choose_protocol(offered: str) -> str | None:
    """The first channel protocol the client offers that the server speaks.

    A client that offers none gets the original ``channel.k8s.io`` (wsstream's default);
    one that offers only unknown protocols gets ``None`` (the upgrade is refused).
    """
    names = [p.strip() for p in offered.split(",") if p.strip()]
    if not names:
        return ""
    return next((p for p in names if p in PROTOCOLS), None)


def status_on_error_channel(protocol: str) -> bool:
    """From v4 the error channel carries a JSON ``Status``; before, the error's text."""
    return protocol.startswith(("v4.", "v5."))


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (servers never mask)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def channel_message(channel: int, data: bytes) -> bytes:
    return frame(OP_BINARY, bytes([channel]) + data)


def close_frame(code: int = CLOSE_NORMAL) -> bytes:
    return frame(OP_CLOSE, struct.pack("!H", code))


def read_frame(rfile: BinaryIO | BufferedIOBase) -> tuple[int, bytes] | None:
    """The next client frame (opcode, unmasked payload), or None at end of stream."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    masked = bool(head[1] & 0x80)
    if length == 126:
        length = struct.unpack("!H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", rfile.read(8))[0]
    if length > MAX_CLIENT_FRAME:
        return None
    mask = rfile.read(4) if masked else b""
    payload = rfile.read(length)
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def error_message(protocol: str, command: Sequence[str], result: ExecResult) -> bytes:
    """What the error channel carries once the command has exited: from v4 a ``Status``
    (``NonZeroExitCode`` with the exit code as its cause), before only a failure's text."""
    failed = (
        f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(command)}], exit code {result.exit_code}"
    )
    if not status_on_error_channel(protocol):
        return failed.encode() if result.exit_code else b""
    if not result.exit_code:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    status = {
        "metadata": {},
        "status": "Failure",
        "message": failed,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]},
    }
    return json.dumps(status).encode()


def serve_exec(
    handler: BaseHTTPRequestHandler, protocol: str, command: Sequence[str], result: ExecResult
) -> None:
    """Upgrade ``handler``'s connection and stream ``result`` as the apiserver streams an
    exec from the kubelet: stdout, stderr, the error channel, then a close frame."""
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header(
        "Sec-WebSocket-Accept", accept_key(handler.headers.get("Sec-WebSocket-Key", ""))
    )
    if protocol:
        handler.send_header("Sec-WebSocket-Protocol", protocol)
    handler.end_headers()
    out = handler.wfile
    out.flush()
    # The kubelet's output follows the command's start, never the 101 at once: client-go
    # creates its streams after the upgrade and drops data that comes first ("Unknown
    # stream id 1, discarding message"; seen with Debian's kubectl under load).
    time.sleep(FIRST_OUTPUT_DELAY_SECONDS)
    if result.stdout:
        out.write(channel_message(STDOUT, result.stdout))
    if result.stderr:
        out.write(channel_message(STDERR, result.stderr))
    error = error_message(protocol, command, result)
    if error:
        out.write(channel_message(ERROR, error))
    out.write(close_frame())
    out.flush()
    with contextlib.suppress(OSError, ValueError):
        handler.connection.settimeout(CLOSE_WAIT_SECONDS)
        while (got := read_frame(handler.rfile)) is not None and got[0] != OP_CLOSE:
            pass
