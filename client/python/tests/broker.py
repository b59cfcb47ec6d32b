"""broker.py — a real cccd for the Python tests, as tests/integration/
cli-lib.sh makes one for the shell tests: a throwaway PKI of the demo
endpoints (certs/mkpki.sh), the demo registry and a config in a temporary
directory, cccd on a free loopback port (read back from its log), always
stopped again. Also runs the C command line, ccc, as one endpoint.

CCC_BUILD names the build directory (default build) holding cccd and ccc.
Every wait is bounded.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                      ".."))
BUILD = os.path.abspath(os.environ.get("CCC_BUILD", "build"))
CCC = os.path.join(BUILD, "ccc")
CCCD = os.path.join(BUILD, "cccd")


def wait_for(what, seconds):
    """True once what() is true, polling every 0.1 s for at most seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if what():
            return True
        time.sleep(0.1)
    return what()


class Broker:
    """A running cccd; start() then stop()."""

    def __init__(self, name):
        self.name = name
        self.proc = None
        self.port = None
        self.tmp = None
        self.pki = None
        self.log = None

    def start(self):
        for path in (CCC, CCCD):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is not built" % path)
        self.tmp = tempfile.mkdtemp(prefix="ccc-%s." % self.name)
        self.pki = os.path.join(self.tmp, "pki")
        self.log = os.path.join(self.tmp, "cccd.log")
        subprocess.run(["sh", os.path.join(SRCDIR, "certs", "mkpki.sh"),
                        self.pki,
                        os.path.join(SRCDIR, "certs", "demo-endpoints.txt")],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT, timeout=120)
        shutil.copy(os.path.join(SRCDIR, "broker", "etc", "registry.yaml"),
                    os.path.join(self.tmp, "registry.yaml"))
        conf = os.path.join(self.tmp, "cccd.yaml")
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:0\n"
                    "tls:\n"
                    "  cert: %(pki)s/cccd.pem\n"
                    "  key: %(pki)s/cccd.key\n"
                    "  ca: %(pki)s/ca.pem\n"
                    "registry: %(tmp)s/registry.yaml\n"
                    "data_dir: %(tmp)s/data\n"
                    "log_level: debug\n"
                    % {"pki": self.pki, "tmp": self.tmp})
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([CCCD, "--config", conf],
                                         stdout=subprocess.DEVNULL,
                                         stderr=log)
        if not wait_for(lambda: self._port() is not None, 10):
            self.stop()
            raise RuntimeError("cccd did not start:\n" + self.log_text())
        self.port = self._port()
        return self

    def _port(self):
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log_text())
        return int(m.group(1)) if m else None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM to cccd (SIGKILL after 10 s), then remove its files."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def creds(self, endpoint):
        """(cert, key, ca) files of an endpoint of the demo PKI."""
        return (os.path.join(self.pki, endpoint + ".pem"),
                os.path.join(self.pki, endpoint + ".key"),
                os.path.join(self.pki, "ca.pem"))

    def client(self, endpoint, **kw):
        """A Python ccc.Client connected as endpoint."""
        import ccc
        cert, key, ca = self.creds(endpoint)
        return ccc.Client(self.server, cert, key, ca, **kw)

    def ccc_args(self, endpoint, *args):
        cert, key, ca = self.creds(endpoint)
        return [CCC, "--server", self.server, "--cert", cert, "--key", key,
                "--ca", ca] + list(args)

    def ccc(self, endpoint, *args, stdin=None):
        """Run ccc as endpoint (bounded to 30 s): a CompletedProcess."""
        return subprocess.run(self.ccc_args(endpoint, *args), input=stdin,
                              capture_output=True, text=True, timeout=30)

    def ccc_bg(self, endpoint, *args):
        """ccc as endpoint in the background; the caller waits for it."""
        return subprocess.Popen(self.ccc_args(endpoint, *args),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_log(self, text, seconds=10):
        """True once cccd's log holds text."""
        return wait_for(lambda: text in self.log_text(), seconds)

    def count_log(self, text):
        return self.log_text().count(text)

    def wait_log_count(self, text, n, seconds=10):
        """True once cccd's log holds text at least n times."""
        return wait_for(lambda: self.count_log(text) >= n, seconds)
