"""test_json.py — ccc --json=proto3 against protobuf's own JSON mapping:
what ccc writes, google.protobuf.json_format parses into the generated
Python messages; what json_format writes, ccc publish --json=proto3 reads.
Against a real cccd (broker.py).
"""
import calendar
import json
import unittest

from google.protobuf import json_format

from ccc.v1 import alert_pb2, envelope_pb2

from broker import Broker

broker = None


def setUpModule():
    global broker
    broker = Broker("py-json").start()


def tearDownModule():
    broker.stop()


def subscribed(endpoint, before, seconds=10):
    """True once cccd logged one more subscription of endpoint."""
    text = "%s subscription" % endpoint
    return broker.wait_log_count(text, before + 1, seconds)


class TestProto3Json(unittest.TestCase):

    def follow(self, *args):
        """ccc subscribe as gr-police in the background, once subscribed."""
        before = broker.count_log("gr-police subscription")
        proc = broker.ccc_bg("gr-police", "subscribe", *args)
        self.addCleanup(self._reap, proc)
        self.assertTrue(subscribed("gr-police", before),
                        "ccc subscribe did not subscribe")
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=10)

    def test_subscribe_output_parses_with_json_format(self):
        proc = self.follow("--json=proto3", "--count", "1",
                           "alerts/drugs/tr-bg/#")
        r = broker.ccc("tr-police", "publish", "--category", "drugs",
                       "--severity", "critical", "--handling", "h1",
                       "--section", "tr-bg/kapikule", "--summary",
                       "Cannabis in a spare tyre", "--grading", "b2",
                       "--tlp", "amber", "--lat", "41.7", "--lon", "26.4",
                       "--observed-at", "2026-11-30T01:46:43.5Z",
                       "--reference", "0193f1a4-7c2e-7d4b-9a6f-2b1c3d4e5f60",
                       "--expires-in", "2h")
        self.assertEqual(r.returncode, 0, r.stderr)
        alert_id = r.stdout.strip()
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        line = out.strip()
        self.assertEqual(len(line.splitlines()), 1, out)

        a = json_format.Parse(line, alert_pb2.Alert())
        self.assertEqual(a.id, alert_id)
        self.assertEqual(a.category, alert_pb2.CATEGORY_DRUGS)
        self.assertEqual(a.severity, alert_pb2.SEVERITY_CRITICAL)
        self.assertEqual(a.handling, alert_pb2.HANDLING_H1)
        self.assertEqual(a.grading, alert_pb2.GRADING_B2)
        self.assertEqual(a.tlp, alert_pb2.TLP_AMBER)
        self.assertEqual(a.section, "tr-bg/kapikule")
        self.assertAlmostEqual(a.location.lat, 41.7)
        self.assertAlmostEqual(a.location.lon, 26.4)
        observed = calendar.timegm((2026, 11, 30, 1, 46, 43)) * 1000000 + 500000
        self.assertEqual(a.observed_at, observed)
        self.assertEqual(list(a.references),
                         ["0193f1a4-7c2e-7d4b-9a6f-2b1c3d4e5f60"])
        self.assertEqual(a.origin, "tr-police")
        self.assertGreater(a.published_at, 0)
        self.assertGreater(a.expires_at, a.published_at)

        # the canonical form itself, as json_format writes it
        obj = json.loads(line)
        self.assertEqual(obj["observedAt"], str(observed))
        self.assertEqual(obj["severity"], "SEVERITY_CRITICAL")
        self.assertNotIn("observed_at", obj)
        self.assertEqual(obj, json.loads(json_format.MessageToJson(a)))

    def test_ccc_form_is_not_proto3(self):
        # the default form stays ccc's own: json_format refuses it
        proc = self.follow("--json", "--count", "1", "alerts/customs/tr-bg/#")
        r = broker.ccc("tr-police", "publish", "--category", "customs",
                       "--severity", "low", "--handling", "h1",
                       "--section", "tr-bg/kapikule", "--summary", "Cigarettes")
        self.assertEqual(r.returncode, 0, r.stderr)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(json.loads(out)["severity"], "low")
        with self.assertRaises(json_format.ParseError):
            json_format.Parse(out, alert_pb2.Alert())

    def written_by_python(self, summary):
        a = alert_pb2.Alert(
            category=alert_pb2.CATEGORY_MIGRANT_SMUGGLING,
            severity=alert_pb2.SEVERITY_HIGH,
            handling=alert_pb2.HANDLING_H1,
            section="tr-bg/kapikule", summary=summary,
            details="Found at the X-ray scanner", language="en",
            observed_at=1764467203123456, grading=alert_pb2.GRADING_A1)
        a.location.lat = 41.71
        a.location.lon = 26.35
        a.persons.count = 23
        a.persons.nationalities.extend(["AF", "SY"])
        v = a.vehicles.add()
        v.plate = "34 ABC 123"
        v.registration_country = "TR"
        v.make = "Scania"
        g = a.goods.add()
        g.description = "blankets"
        g.hs_code = "6301"
        g.declared_value = 1500.5
        g.currency = "EUR"
        return a

    def test_publish_reads_json_format_output(self):
        a = self.written_by_python("23 migrants hidden in a lorry")
        text = json_format.MessageToJson(a, indent=None)
        self.assertIn('"observedAt": "1764467203123456"', text)
        self.assertIn('"hsCode": "6301"', text)
        self.assertIn('"registrationCountry": "TR"', text)

        with broker.client("gr-police") as sub:
            sub.subscribe(["alerts/migrant_smuggling/tr-bg/#"])
            r = broker.ccc("tr-police", "publish", "--json=proto3", "-",
                           stdin=text + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            env = sub.receive(10)
        self.assertIsNotNone(env, "no delivery")
        got = env.deliver.alert
        self.assertEqual(got.id, r.stdout.strip())
        for f in ("category", "severity", "handling", "section", "summary",
                  "details", "language", "observed_at", "grading",
                  "location", "persons", "vehicles", "goods"):
            self.assertEqual(getattr(got, f), getattr(a, f), f)

    def test_publish_proto3_refuses_ccc_names(self):
        line = ('{"category":"drugs","severity":"high","handling":"h1",'
                '"section":"tr-bg/kapikule","summary":"x"}\n')
        r = broker.ccc("tr-police", "publish", "--json=proto3", "-",
                       stdin=line)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('field "category": unknown value "drugs"', r.stderr)
        self.assertIn("CATEGORY_DRUGS", r.stderr)

    def test_receipts_and_explain_parse_with_json_format(self):
        with broker.client("gr-police") as sub:
            sub.subscribe(["alerts/weapons/tr-bg/#"])
            r = broker.ccc("tr-police", "publish", "--category", "weapons",
                           "--severity", "high", "--handling", "h1",
                           "--section", "tr-bg/kapikule", "--summary", "Rifles")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNotNone(sub.receive(10), "no delivery")
        alert_id = r.stdout.strip()
        r = broker.ccc("tr-police", "receipts", "--json=proto3", alert_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        ro = json_format.Parse(r.stdout, envelope_pb2.ReceiptsOk())
        self.assertEqual(ro.alert_id, alert_id)
        self.assertIn("gr-police", [x.endpoint for x in ro.receipts])
        self.assertIn('"deliveredAt":"', r.stdout)

        a = self.written_by_python("explained")
        r = broker.ccc("ccc-operator", "admin", "explain", "--json=proto3",
                       "-", "--origin", "tr-police", "--reply-json=proto3",
                       stdin=json_format.MessageToJson(a))
        self.assertEqual(r.returncode, 0, r.stderr)
        reply = json_format.Parse(r.stdout, envelope_pb2.AdminReply())
        self.assertEqual(reply.topic,
                         "alerts/migrant_smuggling/tr-bg/kapikule")
        self.assertGreater(reply.revision, 0)
        self.assertIsInstance(json.loads(r.stdout)["revision"], str)


if __name__ == "__main__":
    unittest.main()
