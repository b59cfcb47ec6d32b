"""client.py — one mutual-TLS session with cccd (docs/protocol.md).

Owns the session: the TLS connection (Python's ssl module, presenting the
endpoint's certificate and checking the broker's against the CA file and
the address connected to), the framing (section 2: a 4-byte big-endian
length, then one ccc.v1.Envelope), Hello/Welcome, request ids, answering
the broker's Ping, and the pushes that arrive while a request waits for
its reply (kept, in order, for receive()).

Must never: hand out a frame longer than MAX_FRAME or a partial one,
return from publish() before the broker's PublishOk (the alert is stored
and synced only then), or swallow an Error: a refusal raises Error with
the broker's code, its name and its message; a fatal one also closes the
session.
"""
import collections
import socket
import ssl
import struct
import time

from ccc.v1 import envelope_pb2

PROTOCOL_VERSION = 1
MAX_FRAME = 16 * 1024 * 1024    # clients should accept frames this large
DEFAULT_PORT = 7443
INBOX = "inbox"                 # the durable subscription of routed alerts
_ERROR_PREFIX = "ERROR_CODE_"


class Error(Exception):
    """The broker refused a request, or closed the session (fatal).

    code: the ccc.v1.ErrorCode number (envelope_pb2.ERROR_CODE_*);
    name: its short name as ccc prints it ("invalid_alert");
    message: the broker's text; fatal: the session is closed;
    subscription_id: the subscription revoked, if any.
    """

    def __init__(self, code, message, fatal=False, subscription_id=0):
        self.code = code
        self.name = _code_name(code)
        self.message = message
        self.fatal = fatal
        self.subscription_id = subscription_id
        super().__init__("%s: %s" % (self.name, message))


class ProtocolError(Exception):
    """The broker sent something the protocol does not allow."""


def _code_name(code):
    try:
        name = envelope_pb2.ErrorCode.Name(code)
    except ValueError:
        return "unknown"
    if name.startswith(_ERROR_PREFIX):
        name = name[len(_ERROR_PREFIX):]
    return name.lower()


def _split_server(server):
    """'HOST:PORT' or '[ADDRESS]:PORT' into (host, port)."""
    if server.startswith("["):
        host, sep, rest = server[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("bad server address %r" % server)
        port = rest[1:] or DEFAULT_PORT
    else:
        host, _, port = server.rpartition(":")
        if not host:
            host, port = server, DEFAULT_PORT
    return host, int(port)


class Client:
    """A session as one endpoint: connect, publish, subscribe, receive.

    Client(server, cert, key, ca) connects, sends Hello and waits for the
    Welcome (endpoint, roles, max_frame_size, ping_interval are then set).
    timeout bounds the connection and each wait for a reply, in seconds.
    receipts=True asks the broker to push a ReceiptsOk each time a recipient
    acknowledges an alert this endpoint published.
    """

    def __init__(self, server, cert, key, ca, timeout=10.0,
                 client_name="ccc-python/0.1.0", receipts=False):
        host, port = _split_server(server)
        self.timeout = timeout
        self._next_id = 1
        self._buf = bytearray()
        self._pushes = collections.deque()
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            self._sock = ctx.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        try:
            hello = envelope_pb2.Envelope()
            hello.hello.protocol_version = PROTOCOL_VERSION
            hello.hello.client_name = client_name
            hello.hello.receipts = receipts
            welcome = self._request(hello, "welcome")
        except BaseException:
            self.close()
            raise
        self.endpoint = welcome.endpoint
        self.roles = list(welcome.roles)
        self.server_version = welcome.server_version
        self.max_frame_size = welcome.max_frame_size
        self.ping_interval = welcome.ping_interval

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """End the session (close_notify, then close). Idempotent."""
        sock, self._sock = getattr(self, "_sock", None), None
        if sock is None:
            return
        try:
            sock.settimeout(1.0)
            sock.unwrap()
        except (OSError, ValueError):
            pass
        sock.close()

    # ---- requests ----------------------------------------------------------

    def publish(self, alert):
        """Publish a ccc.v1.Alert; return the PublishOk once it is stored.

        Raises Error when the broker refuses it (the alert is then not
        stored).
        """
        env = envelope_pb2.Envelope()
        env.publish.alert.CopyFrom(alert)
        return self._request(env, "publish_ok")

    def subscribe(self, patterns, since=None):
        """A plain subscription to topic patterns; returns its id.

        since: first replay the stored alerts published at or after this
        time (microseconds since the epoch), then continue live.
        """
        env = envelope_pb2.Envelope()
        env.subscribe.patterns.extend(patterns)
        if since is not None:
            env.subscribe.since = since
        return self._request(env, "subscribe_ok").subscription_id

    def subscribe_durable(self, name, patterns=()):
        """Create or resume the durable subscription name.

        Returns (subscription id, resumed). Its deliveries carry a
        delivery_tag to acknowledge with ack(). name INBOX with no patterns
        is the endpoint's inbox.
        """
        env = envelope_pb2.Envelope()
        env.subscribe.durable_name = name
        env.subscribe.patterns.extend(patterns)
        ok = self._request(env, "subscribe_ok")
        return ok.subscription_id, ok.resumed

    def unsubscribe(self, subscription_id, forget=False):
        """End a subscription; forget=True also deletes a durable one."""
        env = envelope_pb2.Envelope()
        env.unsubscribe.subscription_id = subscription_id
        env.unsubscribe.forget = forget
        self._request(env, "unsubscribe_ok")

    def ack(self, *tags):
        """Acknowledge durable deliveries by their delivery_tag (no reply)."""
        env = envelope_pb2.Envelope()
        env.ack.delivery_tags.extend(tags)
        self._send(env)

    def receipts(self, alert_id):
        """Who received an alert this endpoint published: a ReceiptsOk."""
        env = envelope_pb2.Envelope()
        env.receipts.alert_id = alert_id
        return self._request(env, "receipts_ok")

    def ping(self):
        """A round trip to the broker."""
        env = envelope_pb2.Envelope()
        env.ping.SetInParent()
        self._request(env, "pong")

    def receive(self, timeout=None):
        """The next push: an Envelope whose body is deliver, receipts_ok
        (receipts=True) or a non-fatal error; None after timeout seconds
        (default: the client's timeout) without one. A fatal Error raises.
        """
        if self._pushes:
            return self._pushes.popleft()
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            env = self._read(deadline)
            if env is None:
                return None
            if env.request_id == 0:
                return env
            # a late reply to a request that gave up waiting: dropped

    # ---- the wire ----------------------------------------------------------

    def _request(self, env, want):
        """Send env with a new request id and return its reply's want body.

        Pushes read meanwhile are kept for receive(); an Error answering the
        request raises.
        """
        env.request_id = rid = self._next_id
        self._next_id += 1
        self._send(env)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply is None:
                raise TimeoutError("no reply from the broker within %g s"
                                   % self.timeout)
            if reply.request_id != rid:
                if reply.request_id == 0:
                    self._pushes.append(reply)
                continue
            body = reply.WhichOneof("body")
            if body == "error":
                e = reply.error
                raise Error(e.code, e.message, e.fatal, e.subscription_id)
            if body != want:
                raise ProtocolError("expected %s, got %s" % (want, body))
            return getattr(reply, want)

    def _send(self, env):
        if self._sock is None:
            raise ConnectionError("the session is closed")
        payload = env.SerializeToString()
        self._sock.settimeout(self.timeout)
        self._sock.sendall(struct.pack(">I", len(payload)) + payload)

    def _read(self, deadline):
        """The next envelope other than Ping/Pong, or None at deadline."""
        while True:
            frame = self._frame(deadline)
            if frame is None:
                return None
            env = envelope_pb2.Envelope()
            try:
                env.ParseFromString(frame)
            except Exception as exc:
                self.close()
                raise ProtocolError("undecodable frame: %s" % exc) from None
            body = env.WhichOneof("body")
            if body == "ping":
                pong = envelope_pb2.Envelope(request_id=env.request_id)
                pong.pong.SetInParent()
                self._send(pong)
                continue
            if body == "pong" and env.request_id == 0:
                continue
            if body == "error" and env.error.fatal:
                e = env.error
                self.close()
                raise Error(e.code, e.message, True, e.subscription_id)
            return env

    def _frame(self, deadline):
        """One whole frame's payload, or None at deadline (the bytes read
        so far are kept for the next call)."""
        while True:
            if len(self._buf) >= 4:
                (length,) = struct.unpack(">I", self._buf[:4])
                if length == 0 or length > MAX_FRAME:
                    self.close()
                    raise ProtocolError("frame length %d" % length)
                if len(self._buf) >= 4 + length:
                    frame = bytes(self._buf[4:4 + length])
                    del self._buf[:4 + length]
                    return frame
            if self._sock is None:
                raise ConnectionError("the session is closed")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            if not data:
                self.close()
                raise ConnectionError("the broker closed the connection")
            self._buf += data
