"""ccc — a Python client for the ccc broker (docs/client.md, "Python").

One Client is one mutual-TLS session with cccd, speaking the wire protocol
of docs/protocol.md. The message classes are generated from proto/ by
protoc --python_out into a directory of their own (make py-gen puts them in
build/python); that directory goes on sys.path beside this package, and
this package's ccc.v1 is found there:

    PYTHONPATH=client/python:build/python python3 ...

Owns: nothing on the broker side; must never commit generated code.
"""
import pkgutil

# ccc.v1 (alert_pb2, envelope_pb2) lives in the generated tree
__path__ = pkgutil.extend_path(__path__, __name__)

from ccc.client import INBOX, Client, Error, ProtocolError  # noqa: E402

__all__ = ["INBOX", "Client", "Error", "ProtocolError"]
