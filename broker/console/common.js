/*
 * common.js - what every page of the console shares: the state read from
 * the broker, DOM building, the /api/ client, the error banner, formatting
 * of times and of the alert's coded fields (severity, TLP, handling).
 *
 * Owns: `state` (the endpoint from /api/me, the sections and enums from
 * /api/sections), the #error banner.
 * Must never: build HTML from strings (every text goes in with textContent,
 * so nothing an alert carries can become markup); send a cookie or a
 * request to another origin.
 */

import { t, locale } from './i18n.js';

export const state = {
	me: null,		/* answer of GET /api/me */
	sections: new Map(),	/* id -> {id, border, name, lat?, lon?} */
	categories: [],		/* short names, in the broker's order */
	severities: ['low', 'medium', 'high', 'critical'],
	handling: ['h0', 'h1', 'h2', 'h3'],
};

/* Rank of a severity: 0 unknown, 1 low .. 4 critical. */
export function sevRank(s) { return state.severities.indexOf(s) + 1; }

/*
 * Element tag with attributes attrs (class, data-*, plain attributes;
 * a false/null value is left out) and children (nodes or strings).
 */
export function el(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'class')
			e.className = v;
		else if (k === 'text')
			e.textContent = v;
		else
			e.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		e.append(c instanceof Node ? c : String(c));
	}
	return e;
}

/* A short token usable in a class name, or "unknown". */
export function token(v) {
	return typeof v === 'string' && /^[a-z0-9_-]{1,40}$/.test(v) ? v : 'unknown';
}

/* An alert id as the broker writes them (UUID, canonical text form). */
export function isUuid(s) {
	return typeof s === 'string' &&
	    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/* ------------------------------------------------------------------ */
/* The /api/ client. */

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;	/* HTTP status, 0 when unreachable */
		this.code = code;	/* the broker's "error" code */
	}
}

/*
 * GET path and return the parsed JSON. A 4xx/5xx answer throws an ApiError
 * carrying the broker's {"error","message"} (or a generic text when the
 * answer has none); a network failure throws an ApiError with status 0.
 */
export async function api(path, opts = {}) {
	let res;
	try {
		res = await fetch(path, {
			method: opts.method || 'GET',
			headers: Object.assign({ Accept: 'application/json' }, opts.headers),
			body: opts.body,
			credentials: 'same-origin',
			cache: 'no-store',
			signal: opts.signal,
		});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', t('error.network'));
	}
	let body = null;
	try {
		body = await res.json();
	} catch (e) { /* not JSON: body stays null */ }
	if (!res.ok) {
		const code = body && typeof body.error === 'string' ? body.error : 'http';
		const msg = body && typeof body.message === 'string' && body.message ?
		    body.message : t('error.http', { status: res.status });
		throw new ApiError(res.status, code, msg);
	}
	return body;
}

/*
 * POST a JSON body with the CSRF token of /api/me (every state-changing
 * request needs it). For the pages that change things (later slices).
 */
export function apiPost(path, obj) {
	return api(path, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json',
		    'X-CSRF-Token': state.me ? state.me.csrf : '' },
		body: JSON.stringify(obj),
	});
}

/* ------------------------------------------------------------------ */
/* The error banner (#error): the broker's reason, shown until dismissed. */

export function showError(message) {
	document.getElementById('error-text').textContent = message;
	document.getElementById('error').hidden = false;
}

export function hideError() {
	document.getElementById('error').hidden = true;
}

/* ------------------------------------------------------------------ */
/* Times: the broker writes RFC 3339 UTC with microseconds. */

/* Date of an RFC 3339 string, or null. */
export function parseTime(s) {
	if (typeof s !== 'string')
		return null;
	const d = new Date(s.replace(/(\.\d{3})\d+/, '$1'));
	return isNaN(d) ? null : d;
}

const fmtCache = new Map();
function formatter(opts) {
	const key = locale() + JSON.stringify(opts);
	if (!fmtCache.has(key))	/* a 24-hour clock in every language */
		fmtCache.set(key, new Intl.DateTimeFormat(locale(),
		    Object.assign({ hourCycle: 'h23' }, opts)));
	return fmtCache.get(key);
}

/*
 * <time> element for s: the browser's local time (time only when today,
 * else date and time), the UTC time in the title for hover.
 */
export function timeEl(s) {
	const d = parseTime(s);
	if (!d)
		return el('time', { text: s || '' });
	const today = new Date().toDateString() === d.toDateString();
	const text = formatter(today ? { timeStyle: 'medium' } :
	    { dateStyle: 'short', timeStyle: 'medium' }).format(d);
	const utc = d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	return el('time', { datetime: d.toISOString(), title: utc, text });
}

/* Local date and time in full, for the detail. */
export function fullTime(s) {
	const d = parseTime(s);
	return d ? formatter({ weekday: 'short', year: 'numeric', month: 'long', day: 'numeric',
	    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }).format(d) :
	    (s || '');
}

/* ------------------------------------------------------------------ */
/* Coded fields as badges. */

export function sectionName(id) {
	const s = state.sections.get(id);
	return s ? s.name : id || '';
}

export function categoryName(c) { return c ? t(`cat.${c}`) : ''; }

export function sevBadge(sev) {
	return el('span', { class: `sev sev-${token(sev)}`, text: sev ? t(`sev.${sev}`) : '?' });
}

/* TLP short label as FIRST writes it: TLP:AMBER+STRICT. */
export function tlpLabel(tlp) {
	return 'TLP:' + String(tlp).toUpperCase().replace('_STRICT', '+STRICT');
}

export function tlpBadge(tlp) {
	if (!tlp)
		return null;
	return el('span', { class: `tlp tlp-${token(tlp)}`, title: t(`tlp.${tlp}`),
	    text: tlpLabel(tlp) });
}

export function hcBadge(h) {
	if (!h)
		return null;
	return el('span', { class: 'hc', title: t(`hc.${h}`), text: String(h).toUpperCase() });
}

/*
 * Call fn(element) when an element matching selector inside container is
 * clicked or has Enter pressed on it (rows and markers are focusable).
 */
export function activate(container, selector, fn) {
	const pick = (e) => {
		const hit = e.target.closest(selector);
		if (hit && container.contains(hit))
			fn(hit);
	};
	container.addEventListener('click', pick);
	container.addEventListener('keydown', (e) => {
		if (e.key === 'Enter')
			pick(e);
	});
}
