"""test_client.py — the Python client against a real cccd (broker.py):
connect, publish (and a refusal), subscribe plain and with since, a
durable subscription with acknowledgements, receipts; alerts exchanged with
the C command line, ccc, both ways.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import ccc
from ccc.v1 import alert_pb2, envelope_pb2

from broker import SRCDIR, Broker

broker = None


def setUpModule():
    global broker
    broker = Broker("py-client").start()


def tearDownModule():
    broker.stop()


def alert(summary, category=alert_pb2.CATEGORY_DRUGS):
    return alert_pb2.Alert(category=category,
                           severity=alert_pb2.SEVERITY_HIGH,
                           handling=alert_pb2.HANDLING_H1,
                           section="tr-bg/kapikule", summary=summary)


def deliveries(client, n, seconds=10):
    """The next n deliveries (Deliver messages), within seconds."""
    got = []
    end = time.monotonic() + seconds
    while len(got) < n and time.monotonic() < end:
        env = client.receive(max(end - time.monotonic(), 0.01))
        if env is not None and env.WhichOneof("body") == "deliver":
            got.append(env.deliver)
    return got


class TestClient(unittest.TestCase):

    def test_connect(self):
        with broker.client("tr-police") as c:
            self.assertEqual(c.endpoint, "tr-police")
            self.assertIn("publisher", c.roles)
            self.assertGreaterEqual(c.max_frame_size, 1024)
            c.ping()

    def test_unknown_ca_is_refused(self):
        cert, key, _ = broker.creds("tr-police")
        with self.assertRaises(OSError):    # ssl.SSLError is an OSError
            ccc.Client(broker.server, cert, key, cert, timeout=5)

    def test_publish_refused_raises(self):
        with broker.client("tr-police") as c:
            bad = alert("")
            with self.assertRaises(ccc.Error) as cm:
                c.publish(bad)
            e = cm.exception
            self.assertEqual(e.code, envelope_pb2.ERROR_CODE_INVALID_ALERT)
            self.assertEqual(e.name, "invalid_alert")
            self.assertIn("summary", e.message)
            self.assertFalse(e.fatal)
            self.assertTrue(str(e).startswith("invalid_alert: "))
            # the session goes on after a refusal
            ok = c.publish(alert("Heroin under the floor"))
            self.assertTrue(ok.id)

    def test_forbidden_section_raises(self):
        # gr-police may not publish on the Turkish-Bulgarian border
        with broker.client("gr-police") as c:
            with self.assertRaises(ccc.Error) as cm:
                c.publish(alert("not ours"))
            self.assertEqual(cm.exception.name, "forbidden")

    def test_python_publishes_cli_receives(self):
        before = broker.count_log("gr-police subscription")
        proc = broker.ccc_bg("gr-police", "subscribe", "--json", "--count",
                             "1", "alerts/weapons/tr-bg/#")
        try:
            self.assertTrue(broker.wait_log_count("gr-police subscription",
                                                  before + 1),
                            "ccc subscribe did not subscribe")
            with broker.client("tr-police") as c:
                ok = c.publish(alert("Pistols in a fuel tank",
                                     alert_pb2.CATEGORY_WEAPONS))
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        got = json.loads(out)
        self.assertEqual(got["id"], ok.id)
        self.assertEqual(got["summary"], "Pistols in a fuel tank")
        self.assertEqual(got["origin"], "tr-police")
        self.assertEqual(ok.topic, "alerts/weapons/tr-bg/kapikule")

    def test_cli_publishes_python_receives(self):
        with broker.client("gr-police") as c:
            sub = c.subscribe(["alerts/+/tr-bg/#"])
            r = broker.ccc("tr-police", "publish", "--category",
                           "stolen_vehicle", "--severity", "medium",
                           "--handling", "h1", "--section", "tr-bg/kapikule",
                           "--summary", "Stolen BMW X5 at the gate")
            self.assertEqual(r.returncode, 0, r.stderr)
            got = deliveries(c, 1)
        self.assertEqual(len(got), 1)
        d = got[0]
        self.assertEqual(d.alert.id, r.stdout.strip())
        self.assertEqual(d.alert.category, alert_pb2.CATEGORY_STOLEN_VEHICLE)
        self.assertEqual(d.alert.origin, "tr-police")
        self.assertEqual(list(d.subscription_ids), [sub])
        self.assertEqual(d.delivery_tag, 0)
        self.assertFalse(d.replayed)

    def test_subscribe_since_replays(self):
        with broker.client("tr-police") as pub:
            ok = pub.publish(alert("Earlier: cocaine in bananas"))
        since = ok.published_at - 1000000
        with broker.client("gr-police") as c:
            c.subscribe(["alerts/drugs/tr-bg/#"], since=since)
            got = [d for d in deliveries(c, 10, 3) if d.alert.id == ok.id]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].replayed)

    def test_durable_ack_and_receipts(self):
        name = "py-night-%d" % time.monotonic_ns()
        pattern = ["alerts/document_fraud/tr-bg/#"]
        with broker.client("gr-police") as c:
            sub, resumed = c.subscribe_durable(name, pattern)
            self.assertFalse(resumed)
        # published while the subscriber is away; the publisher asks for
        # receipt pushes
        with broker.client("tr-police", receipts=True) as pub:
            ok = pub.publish(alert("Forged passports",
                                   alert_pb2.CATEGORY_DOCUMENT_FRAUD))
            self.assertGreaterEqual(ok.recipients, 1)

            # first delivery, not acknowledged: delivered again next time
            with broker.client("gr-police") as c:
                _, resumed = c.subscribe_durable(name, pattern)
                self.assertTrue(resumed)
                first = deliveries(c, 1)
            self.assertEqual(len(first), 1)
            self.assertEqual(first[0].alert.id, ok.id)
            self.assertNotEqual(first[0].delivery_tag, 0)

            with broker.client("gr-police") as c:
                c.subscribe_durable(name, pattern)
                again = deliveries(c, 1)
                self.assertEqual(len(again), 1)
                self.assertEqual(again[0].alert.id, ok.id)
                self.assertGreaterEqual(again[0].redelivered, 1)
                c.ack(again[0].delivery_tag)
                c.ping()        # the Ack is read before the Pong

            # the publisher hears of the acknowledgement
            push = None
            end = time.monotonic() + 10
            while push is None and time.monotonic() < end:
                env = pub.receive(1)
                if env is not None and env.WhichOneof("body") == "receipts_ok":
                    push = env.receipts_ok
            self.assertIsNotNone(push, "no receipt push")
            self.assertEqual(push.alert_id, ok.id)
            self.assertEqual(push.receipts[0].endpoint, "gr-police")

            ro = pub.receipts(ok.id)
        rc = {r.endpoint: r for r in ro.receipts}
        self.assertIn("gr-police", rc)
        self.assertGreater(rc["gr-police"].acknowledged_at, 0)
        self.assertGreaterEqual(rc["gr-police"].deliveries, 2)

        # acknowledged: not delivered again; then forget the subscription
        with broker.client("gr-police") as c:
            sub, _ = c.subscribe_durable(name, pattern)
            self.assertEqual(deliveries(c, 1, 1), [])
            c.unsubscribe(sub, forget=True)

    def test_inbox(self):
        a = alert("For the Greek police only")
        a.recipients.append("gr-police")
        with broker.client("tr-police") as pub:
            ok = pub.publish(a)
        with broker.client("gr-police") as c:
            c.subscribe_durable(ccc.INBOX)
            got = [d for d in deliveries(c, 10, 3) if d.alert.id == ok.id]
            self.assertEqual(len(got), 1)
            self.assertNotEqual(got[0].delivery_tag, 0)
            c.ack(got[0].delivery_tag)
            c.ping()

    def test_receipts_of_anothers_alert_refused(self):
        with broker.client("tr-police") as pub:
            ok = pub.publish(alert("Mine"))
        with broker.client("tr-customs") as other:
            with self.assertRaises(ccc.Error) as cm:
                other.receipts(ok.id)
        self.assertEqual(cm.exception.name, "not_found")


class TestDocExample(unittest.TestCase):

    def test_client_md_program(self):
        """docs/client.md's complete Python program, run as it says."""
        with open(os.path.join(SRCDIR, "docs", "client.md")) as f:
            doc = f.read()
        python = doc[doc.index("\n## Python\n"):]
        m = re.search(r"### A complete program.*?```python\n(.*?)```", python,
                      re.S)
        self.assertIsNotNone(m, "no program in docs/client.md")
        with tempfile.NamedTemporaryFile("w", suffix=".py") as prog:
            prog.write(m.group(1))
            prog.flush()
            r = subprocess.run([sys.executable, prog.name, broker.server,
                                *broker.creds("tr-police")],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "connected as tr-police")
        self.assertTrue(lines[1].startswith("published "), r.stdout)
        alert_id = lines[1].split()[1]
        self.assertIn("received %s on alerts/drugs/tr-bg/kapikule" % alert_id,
                      lines[2:])


if __name__ == "__main__":
    unittest.main()
