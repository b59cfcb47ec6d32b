"""test_console.py — the console in real browsers: a real cccd (its console
on a loopback port), alerts published with the real `ccc publish`, and
headless Chromiums that present the client certificates of real endpoints
(harness.py says how). What a duty officer sees is checked through the
page's stable hooks (broker/console/app.js lists them):

  #feed .alert[data-seq][data-id][data-severity][data-section][data-category]
  #status[data-state=live|reconnecting|offline], #lang, #f-section,
  #f-category, #f-severity, #f-handling, #detail, #error, #map .marker,
  a[data-page=feed|map|history|operator], #history-form, .result[data-id]

Screenshots of the main pages go to $CONSOLE_SHOTS (default: a directory in
the run's temporary tree, removed at the end): `make console-shots` keeps
them in docs/console/.

Run by `make console-test` (part of `make test`); skipped, with the reason,
where Chromium, chromedriver, python3-selenium or NSS's tools are missing,
or where Chromium's policy directory is not writable (not root).
"""
import os
import re
import sys
import tempfile
import time
import unittest

import harness as h

GREEK = re.compile("[\u0370-\u03ff]")
LATENCY_S = 1.0     # publish's return to the alert on an open page

# module state: one broker and its browsers for every test
ctx = {}


def say(msg):
    print("console-test: " + msg, file=sys.stderr, flush=True)


def setUpModule():
    try:
        h.check_can_run()
    except h.Skip as e:
        say("BROWSER TESTS NOT RUN: %s" % e)
        raise unittest.SkipTest(str(e))
    try:
        start()
    except BaseException:
        tearDownModule()        # unittest does not, when this fails
        raise


def start():
    root = tempfile.mkdtemp(prefix="ccc-console-test.")
    ctx["root"] = root
    if not os.environ.get("CONSOLE_KEEP"):     # also when killed by a signal
        h.on_exit(lambda: h.remove_tree(root))
    ctx["shots"] = os.environ.get("CONSOLE_SHOTS") or os.path.join(root,
                                                                   "shots")
    ctx["pki"] = pki = h.Pki(os.path.join(root, "pki"))
    ctx["broker"] = broker = h.Broker(root, pki).start()
    ctx["policy"] = h.Policy(pki.ca_name, broker.console_port)
    # a few alerts before any page opens: history, map and screenshots
    ctx["early"] = [
        broker.publish("tr-customs", "drugs", "high", "tr-bg/kapikule",
                       "2 kg of heroin hidden in a lorry's spare tyre",
                       handling="h1", tlp="amber", grading="b2"),
        broker.publish("bg-border-police", "migrant_smuggling", "critical",
                       "tr-bg/strandzha",
                       "Group of 14 crossing the green border near Malko "
                       "Tarnovo", tlp="amber", grading="a2"),
        broker.publish("gr-police", "stolen_vehicle", "medium",
                       "tr-gr/ipsala", "Stolen black SUV, Greek plates, "
                       "heading east", tlp="green", grading="b3"),
        broker.publish("bg-customs", "customs", "low", "bg-gr/kulata",
                       "Undeclared cigarettes in a coach's luggage hold",
                       tlp="clear", grading="c3"),
        broker.publish("gr-customs", "weapons", "high", "bg-gr/makaza",
                       "Hunting rifles without papers in a van",
                       handling="h1", tlp="amber", grading="b2"),
    ]
    # gr-police subscribes to alerts/#: it may see every alert that is not
    # restricted to others
    ctx["page"] = open_page("gr-police")


def tearDownModule():
    try:
        for b in ctx.get("browsers", []):
            b.quit()
        if "policy" in ctx:
            ctx["policy"].remove()
        if "broker" in ctx:
            ctx["broker"].stop()    # a clean exit, or this fails
    finally:
        root = ctx.pop("root", None)
        if root is not None:
            if os.environ.get("CONSOLE_KEEP"):
                say("the run's files are kept in %s" % root)
            else:
                h.remove_tree(root)


def open_page(endpoint, lang=None):
    """A browser as ENDPOINT with the console open and its feed live."""
    b = h.Browser(ctx["root"], ctx["pki"], endpoint, lang=lang)
    ctx.setdefault("browsers", []).append(b)
    b.driver.get(ctx["broker"].url("/"))
    wait_live(b)
    return b


def wait_live(b, seconds=10):
    b.wait(lambda: b.js("var s = document.querySelector('#status');"
                        "return s && s.dataset.state === 'live';"), seconds,
           message="%s: the feed did not go live; status %r, error %r" % (
               b.endpoint, status(b), error_text(b)))


def status(b):
    return b.js("var s = document.querySelector('#status');"
                "return s ? s.dataset.state : null;")


def error_text(b):
    """The page's error banner's text, '' when it shows none."""
    return b.js("var e = document.querySelector('#error');"
                "var x = document.querySelector('#error-text') || e;"
                "return e && visible(e) ? x.textContent.trim() : '';"
                .replace("visible(e)", VISIBLE_EXPR))


# true when element e is rendered (not display:none nor hidden)
VISIBLE_EXPR = ("(!!(e.offsetWidth || e.offsetHeight ||"
                " e.getClientRects().length) &&"
                " getComputedStyle(e).visibility !== 'hidden')")


def rows(b, alert_id):
    """The feed's rows of the alert: [{"visible": bool, ...data-*}]."""
    return b.js("return Array.from(document.querySelectorAll("
                "'#feed .alert[data-id=\"' + arguments[0] + '\"]'))"
                ".map(function (e) { var d = Object.assign({}, e.dataset);"
                " d.visible = " + VISIBLE_EXPR + "; return d; });", alert_id)


def visible_row(b, alert_id):
    r = rows(b, alert_id)
    return len(r) == 1 and r[0]["visible"]


def goto(b, page):
    """Click the nav link of PAGE (feed, map, history, operator)."""
    b.driver.find_element("css selector", 'a[data-page="%s"]' % page).click()


def set_filter(b, fid, values):
    """Set filter control #FID to VALUES (a list; [] = no filter): a select
    (single or multiple) or a list of checkboxes/radios with those values."""
    b.js("""
        var c = document.getElementById(arguments[0]), want = arguments[1];
        function fire(e) {
            e.dispatchEvent(new Event('input', {bubbles: true}));
            e.dispatchEvent(new Event('change', {bubbles: true}));
        }
        if (c.tagName === 'SELECT') {
            if (c.multiple) {
                Array.from(c.options).forEach(function (o) {
                    o.selected = want.indexOf(o.value) >= 0; });
            } else {
                c.value = want.length ? want[0] : '';
                if (c.value !== (want.length ? want[0] : ''))
                    throw new Error('#' + c.id + ' has no option ' + want);
            }
            fire(c);
            return;
        }
        var boxes = c.querySelectorAll('input[type=checkbox], input[type=radio]');
        Array.from(boxes).forEach(function (i) {
            var on = want.length === 0 ? (i.type === 'radio' && i.value === '')
                                       : want.indexOf(i.value) >= 0;
            if (i.checked !== on) { i.checked = on; fire(i); }
        });
    """, fid, list(values))


def reset_filters(b):
    for fid in ("f-section", "f-category", "f-severity", "f-handling"):
        if b.js("return !!document.getElementById(arguments[0]);", fid):
            set_filter(b, fid, [])


class Console(unittest.TestCase):
    """One broker, one page as gr-police; more browsers where a test needs
    them. The methods run in name order; the broker's restart comes last."""

    @property
    def broker(self):
        return ctx["broker"]

    @property
    def page(self):
        return ctx["page"]

    def setUp(self):
        goto(self.page, "feed")
        reset_filters(self.page)

    def test_a_feed_latency(self):
        """An alert published with ccc publish is on the open page within
        1 s of the command's return, with its data."""
        b = self.page
        wait_live(b)
        aid = self.broker.publish(
            "tr-police", "human_trafficking", "critical", "tr-bg/kapikule",
            "Minibus with 9 passengers without papers at the lorry park",
            handling="h1", tlp="amber", grading="b2")
        t0 = time.monotonic()
        b.wait(lambda: rows(b, aid), LATENCY_S + 5, step=0.01,
               message="alert %s not on the page" % aid)
        took = time.monotonic() - t0
        say("alert on the page %.0f ms after ccc publish returned" %
            (took * 1000))
        self.assertLess(took, LATENCY_S)
        r = rows(b, aid)
        self.assertEqual(len(r), 1)
        self.assertTrue(r[0]["visible"])
        self.assertEqual(r[0]["severity"], "critical")
        self.assertEqual(r[0]["section"], "tr-bg/kapikule")
        self.assertEqual(r[0]["category"], "human_trafficking")

    def test_b_filters(self):
        """Section, category and severity filters hide the alert, and show
        it again when cleared."""
        b = self.page
        aid = self.broker.publish(
            "bg-customs", "customs", "medium", "bg-gr/kulata",
            "Counterfeit perfume in a delivery van", tlp="green")
        b.wait(lambda: visible_row(b, aid), 5, message="alert not shown")
        cases = [
            ("f-section", ["tr-bg/kapikule"], ["bg-gr/kulata"]),
            ("f-category", ["drugs"], ["customs"]),
            ("f-severity", ["high"], ["low"]),
        ]
        for fid, hide, show in cases:
            with self.subTest(filter=fid):
                set_filter(b, fid, hide)
                b.wait(lambda: not visible_row(b, aid), 3,
                       message="#%s=%s did not hide it" % (fid, hide))
                self.assertEqual(len(rows(b, aid)), 1,
                                 "hidden, not dropped")
                set_filter(b, fid, show)
                b.wait(lambda: visible_row(b, aid), 3,
                       message="#%s=%s did not show it" % (fid, show))
                set_filter(b, fid, hide)
                b.wait(lambda: not visible_row(b, aid), 3)
                set_filter(b, fid, [])
                b.wait(lambda: visible_row(b, aid), 3,
                       message="clearing #%s did not show it" % fid)

    def test_c_refused_shows_reason(self):
        """A history search the broker refuses (its end before its start):
        the page shows the broker's reason in its error banner."""
        b = self.page
        goto(b, "history")
        b.js("document.getElementById('h-from').value = '2030-01-02T00:00';"
             "document.getElementById('h-to').value = '2030-01-01T00:00';")
        submit_history(b)
        b.wait(lambda: "to is before from" in error_text(b), 5,
               message="no reason shown; banner %r" % error_text(b))
        self.assertIn("Bad history query", error_text(b))
        b.driver.find_element("id", "error-close").click()
        b.wait(lambda: error_text(b) == "", 3, message="not dismissed")
        b.js("document.getElementById('h-from').value = '';"
             "document.getElementById('h-to').value = '';")

    def test_f_greek(self):
        """The language switch makes the page Greek; a browser whose
        language is Greek gets the Greek page by itself."""
        b = self.page
        english = nav_text(b)
        try:
            set_filter(b, "lang", ["el"])
            b.wait(lambda: b.js("return document.documentElement.lang;")
                   == "el", 5, message="<html lang> not el")
            b.wait(lambda: all(GREEK.search(t) for t in nav_text(b)), 5,
                   message="nav not in Greek: %r" % nav_text(b))
            self.assertNotEqual(nav_text(b), english)
            b.shot(ctx["shots"], "greek")
        finally:
            set_filter(b, "lang", ["en"])
        b.wait(lambda: nav_text(b) == english, 5,
               message="back to English failed: %r" % nav_text(b))
        el = open_page("gr-customs", lang="el")
        self.assertEqual(el.js("return document.documentElement.lang;"), "el")
        self.assertTrue(all(GREEK.search(t) for t in nav_text(el)),
                        nav_text(el))
        self.assertEqual(el.js("return document.getElementById('lang')"
                               ".value;"), "el")
        el.quit()

    def test_d_restricted(self):
        """A restricted alert (h2) addressed to gr-police shows on its page,
        not on bg-border-police's, although both subscribe to alerts/#."""
        other = open_page("bg-border-police")
        secret = self.broker.publish(
            "tr-police", "wanted_person", "high", "tr-gr/ipsala",
            "Wanted person expected at the crossing tonight",
            handling="h2", tlp="amber", recipient="gr-police")
        # published after it: once the other page shows this one, the
        # restricted one would have arrived before it
        marker = self.broker.publish(
            "tr-police", "other", "low", "tr-gr/ipsala",
            "Queue of 2 km at the exit lanes")
        self.page.wait(lambda: visible_row(self.page, secret), 5,
                       message="the recipient's page lacks the alert")
        other.wait(lambda: rows(other, marker), 5,
                   message="the other page lacks the unrestricted alert")
        self.assertEqual(rows(other, secret), [])
        # a link to it (#alert=ID) opens a detail that says "not found",
        # exactly as for an alert that does not exist: no oracle
        other.driver.get(self.broker.url("/#alert=" + secret))
        other.wait(lambda: other.js(
            "var d = document.getElementById('detail');"
            "return d && d.dataset.state;") == "notfound", 5,
            message="the other page's detail did not say not found")
        self.assertNotIn("Wanted person", other.js(
            "return document.getElementById('detail').textContent;"))
        self.assertEqual(api_status(other, "/api/alerts/" + secret), 404)
        self.assertEqual(api_status(self.page, "/api/alerts/" + secret), 200)
        other.quit()

    def test_e_detail_journalled(self):
        """Clicking an alert opens its detail, and the broker journals the
        consultation ("consult") for this certificate."""
        b = self.page
        aid = self.broker.publish(
            "tr-gendarmerie", "drugs", "high", "tr-bg/derekoy",
            "Cannabis plantation found 3 km from the border",
            handling="h1", tlp="amber", grading="b2",
            details="About 400 plants, irrigation from the river.",
            remarks="Site under observation.")
        b.wait(lambda: visible_row(b, aid), 5)
        before = self.broker.audit("consult", alert=aid, endpoint="gr-police")
        self.assertEqual(before, 0)
        b.driver.find_element("css selector",
                              '#feed .alert[data-id="%s"]' % aid).click()
        b.wait(lambda: b.js("var e = document.getElementById('detail');"
                            "return e && " + VISIBLE_EXPR + " && "
                            "e.textContent.indexOf(arguments[0]) >= 0;",
                            "Cannabis plantation"), 5,
               message="the detail did not open")
        b.wait(lambda: self.broker.audit(
            "consult", alert=aid, endpoint="gr-police",
            detail="%alerts/drugs/tr-bg/derekoy%") == 1, 5,
            message="no consult record for %s" % aid)
        # by this certificate, and only this consultation of it
        self.assertEqual(self.broker.audit("consult", alert=aid), 1)
        self.assertEqual(self.broker.audit(
            "consult", alert=aid, fingerprint=ctx["pki"].fingerprint(
                "gr-police")), 1)
        b.shot(ctx["shots"], "detail")
        close_detail(b)

    def test_g_map_and_history(self):
        """The map places the sections; the history finds the alerts
        published before the page opened (a page opened without a start
        point shows only what comes after)."""
        b = self.page
        b.wait(lambda: b.js("return document.querySelectorAll("
                            "'#feed .alert').length;") >= 5, 5)
        b.shot(ctx["shots"], "feed")
        goto(b, "map")
        b.wait(lambda: b.js("return document.querySelectorAll("
                            "'#map .marker[data-section]').length;") >= 14,
               5, message="fewer than 14 markers on the map")
        b.shot(ctx["shots"], "map")
        goto(b, "history")
        submit_history(b)
        for aid in ctx["early"]:
            b.wait(lambda: b.js("return !!document.querySelector("
                                "'.result[data-id=\"' + arguments[0] + "
                                "'\"]');", aid), 5,
                   message="history lacks %s" % aid)
        b.shot(ctx["shots"], "history")

    def test_h_operator_approval(self):
        """Four-eyes approval of a registry change on the operator pages."""
        self.skipTest("operator pages not built yet")

    def test_z_reconnect(self):
        """After a restart of the broker the feed reconnects by itself and
        shows the alerts published while it was away, each once."""
        b = self.page
        wait_live(b)
        before = self.broker.publish(
            "tr-police", "document_fraud", "medium", "tr-gr/pazarkule",
            "Forged residence permits in a coach", tlp="green")
        b.wait(lambda: visible_row(b, before), 5)
        self.broker.stop()
        b.wait(lambda: status(b) in ("reconnecting", "offline"), 10,
               message="the page did not notice: %r" % status(b))
        # keep the page away until the alerts are in: Chromium's network
        # emulation fails its reconnection attempts
        b.offline(True)
        try:
            self.broker.start()
            missed = [self.broker.publish(
                "gr-police", "migrant_smuggling", "high", "tr-gr/evros",
                "Boat on the river with %d people aboard" % n, tlp="amber")
                for n in (6, 11)]
            time.sleep(1)
            self.assertNotEqual(status(b), "live",
                                "the page reconnected while offline")
            for aid in missed:
                self.assertEqual(rows(b, aid), [])
        finally:
            b.offline(False)
        wait_live(b, 25)     # the page's back-off: up to ~10 s here
        for aid in missed:
            b.wait(lambda: rows(b, aid), 5,
                   message="missed alert %s not shown" % aid)
        time.sleep(0.5)         # a duplicate would come right after
        for aid in missed + [before]:
            self.assertEqual(len(rows(b, aid)), 1, "alert %s not once" % aid)


def nav_text(b):
    """The nav links' texts: feed, map, history."""
    return b.js("return ['feed', 'map', 'history'].map(function (p) {"
                " var a = document.querySelector('a[data-page=\"' + p +"
                " '\"]'); return a ? a.textContent.trim() : null; });")


def submit_history(b):
    b.driver.find_element(
        "css selector", "#history-form button[type=submit], "
        "#history-form input[type=submit]").click()


def close_detail(b):
    """Close the detail panel (its close button, else Escape)."""
    from selenium.webdriver.common.keys import Keys
    btn = b.driver.find_elements("css selector",
                                 "#detail button.close, #detail [data-close],"
                                 " #detail .close")
    if btn:
        btn[0].click()
    else:
        b.driver.find_element("tag name", "body").send_keys(Keys.ESCAPE)


def api_status(b, path):
    """The HTTP status of a GET of PATH from within the page (the
    browser's certificate, same origin)."""
    return b.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'})"
        ".then(function (r) { done(r.status); })"
        ".catch(function (e) { done(String(e)); });", path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
