/*
 * feed.js - the live feed: the Server-Sent Events stream of /api/feed, the
 * list of alerts (#feed), its filters and the connection indicator.
 *
 * Owns: the EventSource, the last seq seen (sessionStorage "ccc.lastSeq",
 * so that a reload of the page catches up from there), the alerts held
 * (at most MAX_ALERTS, newest on top, one per seq), the filters
 * (localStorage "ccc.filters"), #status.
 * Must never: drop an alert because a filter hides it (hidden only, shown
 * again when the filter changes); show an alert twice; keep more than
 * MAX_ALERTS rows in the page.
 *
 * Reconnection: on an error the page closes the EventSource itself and
 * opens a new one with ?after=<last seq seen> after a back-off, rather than
 * relying on the browser's own retry, so that the start point is always the
 * last alert this page has and never an older ?after of the first URL.
 */

import { t, stored, onLang } from './i18n.js';
import { state, el, timeEl, sevRank, sevBadge, tlpBadge, hcBadge, token,
    sectionName, categoryName, showError, activate } from './common.js';

const MAX_ALERTS = 500;		/* rows kept in the page */
const RETRY_MIN = 1000;		/* ms before the first reconnect */
const RETRY_MAX = 30000;	/* ms between reconnects at most */

const alerts = new Map();	/* seq -> summary, the MAX_ALERTS newest */
const rows = new Map();		/* seq -> <li> */
let lastSeq = null;		/* highest seq seen or the hello's "last" */
let source = null;		/* the open EventSource */
let opened = false;		/* source reached "open" */
let retries = 0;		/* failed attempts since the last open */
let retryTimer = 0;
let openDetail = () => {};	/* set by app.js */
const changeListeners = [];	/* told when the alerts held change */

/* ------------------------------------------------------------------ */
/* Connection indicator. */

export function setStatus(s) {
	const st = document.getElementById('status');
	st.dataset.state = s;
	const txt = document.getElementById('status-text');
	txt.dataset.i18n = `status.${s}`;
	txt.textContent = t(`status.${s}`);
}

let noticeKind = '';		/* "gap", "bye" or "" */

/* Show text above the list; kind "bye" is cleared once the feed is live. */
function notice(text, kind) {
	const n = document.getElementById('feed-notice');
	n.textContent = text;
	n.hidden = !text;
	noticeKind = text ? kind : '';
}

/* ------------------------------------------------------------------ */
/* Filters. */

const filters = { sections: [], category: '', severity: '', handling: '' };

function loadFilters() {
	try {
		const f = JSON.parse(stored('ccc.filters') || '{}');
		if (Array.isArray(f.sections))
			filters.sections = f.sections.filter((s) => typeof s === 'string');
		for (const k of ['category', 'severity', 'handling'])
			if (typeof f[k] === 'string')
				filters[k] = f[k];
	} catch (e) { /* a damaged entry: no filters */ }
}

function saveFilters() {
	stored('ccc.filters', JSON.stringify(filters));
}

function matches(a) {
	if (filters.sections.length && !filters.sections.includes(a.section))
		return false;
	if (filters.category && a.category !== filters.category)
		return false;
	if (filters.severity && sevRank(a.severity) < sevRank(filters.severity))
		return false;
	if (filters.handling && a.handling !== filters.handling)
		return false;
	return true;
}

/* Say how many rows the filters hide, or that there are none. */
function countHidden() {
	let hidden = 0;
	for (const li of rows.values())
		hidden += li.hidden;
	document.getElementById('feed-hidden').textContent =
	    hidden ? t('feed.hidden', { n: hidden }) : '';
	document.getElementById('feed-empty').hidden = rows.size > 0;
}

/* Show or hide every row by the filters. */
function applyFilters() {
	for (const [seq, li] of rows)
		li.hidden = !matches(alerts.get(seq));
	countHidden();
}

/* <option>s of select: "any" then values named by label(v). */
export function fillSelect(select, values, label, anyKey = 'filter.any') {
	select.replaceChildren(el('option', { value: '', text: t(anyKey) }),
	    ...values.map((v) => el('option', { value: v, text: label(v) })));
}

/* Options of a section select, grouped by border. */
export function fillSections(select, withAny) {
	const groups = new Map();
	for (const s of state.sections.values()) {
		if (!groups.has(s.border))
			groups.set(s.border, []);
		groups.get(s.border).push(s);
	}
	const children = withAny ? [el('option', { value: '', text: t('filter.any') })] : [];
	for (const [border, list] of groups) {
		const label = t(`border.${border}`);
		children.push(el('optgroup', { label: label.startsWith('border.') ?
		    border.toUpperCase() : label },
		    ...list.map((s) => el('option', { value: s.id, title: s.name, text: s.name }))));
	}
	select.replaceChildren(...children);
}

/* (Re)build the filter controls from the state and the saved filters. */
function renderFilters() {
	const fs = document.getElementById('f-section');
	fillSections(fs, false);
	for (const o of fs.options)
		o.selected = filters.sections.includes(o.value);
	const fc = document.getElementById('f-category');
	fillSelect(fc, state.categories, categoryName);
	fc.value = filters.category;
	const fv = document.getElementById('f-severity');
	fillSelect(fv, state.severities, (s) => t(`sev.${s}`));
	fv.value = filters.severity;
	const fh = document.getElementById('f-handling');
	fillSelect(fh, state.handling, (h) => h.toUpperCase());
	fh.value = filters.handling;
	for (const o of fh.options)
		if (o.value)
			o.title = t(`hc.${o.value}`);
}

function readFilters() {
	filters.sections = [...document.getElementById('f-section').selectedOptions]
	    .map((o) => o.value);
	filters.category = document.getElementById('f-category').value;
	filters.severity = document.getElementById('f-severity').value;
	filters.handling = document.getElementById('f-handling').value;
	saveFilters();
	applyFilters();
}

/* Show only the alerts of section id (a click on the map). */
export function filterSection(id) {
	filters.sections = [id];
	saveFilters();
	renderFilters();
	applyFilters();
}

/* ------------------------------------------------------------------ */
/* Rows. */

function rowFor(a) {
	const li = el('li', {
		class: `alert sev-${token(a.severity)}`, tabindex: 0,
		'data-seq': a.seq, 'data-id': a.id, 'data-severity': a.severity,
		'data-section': a.section, 'data-category': a.category,
		'data-handling': a.handling,
	},
	    el('div', { class: 'a-time' }, timeEl(a.published_at)),
	    el('div', { class: 'a-main' },
		el('div', { class: 'a-head' }, sevBadge(a.severity),
		    el('span', { class: 'a-cat', text: categoryName(a.category) }),
		    el('span', { class: 'a-sec', title: a.section, text: sectionName(a.section) })),
		el('div', { class: 'a-summary', text: a.summary || '' }),
		el('div', { class: 'a-meta' },
		    el('span', { class: 'a-origin', text: a.origin || '' }),
		    hcBadge(a.handling), tlpBadge(a.tlp),
		    a.grading ? el('span', { class: 'grading', text: String(a.grading).toUpperCase() }) : null,
		    a.restricted ? el('span', { class: 'restricted', title: t('feed.restricted.title'),
			text: t('feed.restricted') }) : null)));
	return li;
}

/* Remember seq as the start point of a reconnect or of a reload. */
function setLast(seq) {
	lastSeq = seq;
	try {
		sessionStorage.setItem('ccc.lastSeq', String(seq));
	} catch (e) { /* sessionStorage refused: a reload starts live */ }
}

/* Add summary a (from an "alert" event); false when it is not one. */
function addAlert(a) {
	if (!a || !Number.isSafeInteger(a.seq) || a.seq < 0)
		return false;
	if (lastSeq === null || a.seq > lastSeq)
		setLast(a.seq);
	if (alerts.has(a.seq))
		return true;			/* a replay seen already */
	const list = document.getElementById('feed');
	/* Newest on top: the list is in descending seq; usually a is first. */
	let before = null;
	for (const li of list.children) {
		if (Number(li.dataset.seq) < a.seq) {
			before = li;
			break;
		}
	}
	if (!before && rows.size >= MAX_ALERTS)
		return true;			/* older than all we keep */
	const li = rowFor(a);
	li.hidden = !matches(a);
	list.insertBefore(li, before);
	alerts.set(a.seq, a);
	rows.set(a.seq, li);
	while (rows.size > MAX_ALERTS) {	/* drop the oldest */
		const last = list.lastElementChild;
		const seq = Number(last.dataset.seq);
		last.remove();
		rows.delete(seq);
		alerts.delete(seq);
	}
	return true;
}

function rerender() {
	renderFilters();
	const list = document.getElementById('feed');
	const seqs = [...alerts.keys()].sort((x, y) => y - x);
	rows.clear();
	list.replaceChildren(...seqs.map((s) => {
		const li = rowFor(alerts.get(s));
		rows.set(s, li);
		return li;
	}));
	applyFilters();
}

/* The alerts held, in no particular order (for the map). */
export function heldAlerts() { return [...alerts.values()]; }

export function onAlertsChange(fn) { changeListeners.push(fn); }

/*
 * Alerts were added: update the counts and tell the listeners, once per
 * burst of events (a catch-up sends up to console.catch_up at once).
 */
let changeQueued = false;
function changed() {
	if (changeQueued)
		return;
	changeQueued = true;
	setTimeout(() => {
		changeQueued = false;
		countHidden();
		for (const fn of changeListeners)
			fn();
	}, 200);
}

/* ------------------------------------------------------------------ */
/* The stream. */

function parse(e) {
	try {
		return JSON.parse(e.data);
	} catch (x) {
		return null;
	}
}

function feedUrl() {
	return lastSeq === null ? '/api/feed' : `/api/feed?after=${lastSeq}`;
}

function connect() {
	clearTimeout(retryTimer);
	if (source)
		source.close();
	opened = false;
	const url = feedUrl();
	const hadStart = lastSeq !== null;
	source = new EventSource(url);
	source.onopen = () => {
		opened = true;
		retries = 0;
		setStatus('live');
		if (noticeKind === 'bye')
			notice('', '');
	};
	source.addEventListener('hello', (e) => {
		const d = parse(e);
		/* From now on: the start point of a reconnect is this seq. */
		if (!hadStart && d && Number.isSafeInteger(d.last) && d.last >= 0 && lastSeq === null)
			setLast(d.last);
	});
	source.addEventListener('alert', (e) => {
		if (addAlert(parse(e)))
			changed();
	});
	source.addEventListener('gap', (e) => {
		const d = parse(e);
		notice(t('feed.gap', { n: d && Number.isSafeInteger(d.missed) ? d.missed : '?' }), 'gap');
	});
	source.addEventListener('bye', (e) => {
		const d = parse(e);
		notice(t('feed.bye', { reason: d && d.reason ? d.reason : '' }), 'bye');
		retries = 0;
		retry();
	});
	source.onerror = () => retry();
}

/*
 * The stream failed or ended: close it, say so, find out why when it never
 * opened (an error answer has the broker's reason; EventSource hides it),
 * and try again after a growing delay.
 */
function retry() {
	const neverOpened = !opened;
	const url = feedUrl();
	if (source) {
		source.close();
		source = null;
	}
	setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
	const delay = Math.min(RETRY_MAX, RETRY_MIN * 2 ** retries) * (0.75 + Math.random() / 2);
	retries = Math.min(retries + 1, 10);
	clearTimeout(retryTimer);
	retryTimer = setTimeout(connect, delay);
	if (neverOpened)
		probe(url);
}

/* Ask url once with fetch to read an error answer; stop at the headers. */
async function probe(url) {
	const ctl = new AbortController();
	try {
		const res = await fetch(url, { signal: ctl.signal, cache: 'no-store',
		    headers: { Accept: 'text/event-stream' } });
		if (res.ok) {
			ctl.abort();
			return;
		}
		let body = null;
		try { body = await res.json(); } catch (e) { /* not JSON */ }
		showError(body && typeof body.message === 'string' && body.message ?
		    body.message : t('error.http', { status: res.status }));
	} catch (e) {
		if (e.name !== 'AbortError')
			setStatus('offline');
	}
}

/* Wire the controls and open the stream. */
export function startFeed(opener) {
	openDetail = opener;
	loadFilters();
	try {
		const s = sessionStorage.getItem('ccc.lastSeq');
		if (s !== null && /^\d{1,16}$/.test(s))
			lastSeq = Number(s);
	} catch (e) { /* sessionStorage refused: live from now */ }
	renderFilters();
	applyFilters();
	for (const id of ['f-section', 'f-category', 'f-severity', 'f-handling'])
		document.getElementById(id).addEventListener('change', readFilters);
	document.getElementById('f-clear').addEventListener('click', () => {
		Object.assign(filters, { sections: [], category: '', severity: '', handling: '' });
		saveFilters();
		renderFilters();
		applyFilters();
	});
	activate(document.getElementById('feed'), '.alert', (li) => openDetail(li.dataset.id));
	window.addEventListener('offline', () => setStatus('offline'));
	window.addEventListener('online', () => {
		retries = 0;
		connect();
	});
	onLang(rerender);
	connect();
}
