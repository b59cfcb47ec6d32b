/*
 * history.js - the History page: #history-form, GET /api/history, results
 * in pages joined with after=<next_after> ("More").
 *
 * Owns: #history-form's selects, #history-results, #history-more.
 * Must never: send a second request while one is running (the broker
 * bounds the work per request; the page does not multiply it).
 */

import { t, onLang } from './i18n.js';
import { state, el, api, showError, timeEl, sevBadge, tlpBadge, hcBadge,
    token, sectionName, categoryName, activate } from './common.js';
import { fillSelect, fillSections } from './feed.js';

let query = null;	/* URLSearchParams of the current search */
let nextAfter = null;	/* next_after of the last page */
let results = [];	/* summaries shown, in order */
let busy = false;
let openDetail = () => {};

const $ = (id) => document.getElementById(id);

/* RFC 3339 UTC of a datetime-local value (the browser's zone), or "". */
function rfc3339(v) {
	if (!v)
		return '';
	const d = new Date(v);
	return isNaN(d) ? '' : d.toISOString();
}

function resultRow(a) {
	return el('tr', { class: `result sev-${token(a.severity)}`, tabindex: 0,
	    'data-id': a.id, 'data-seq': a.seq },
	    el('td', {}, timeEl(a.published_at)),
	    el('td', {}, sevBadge(a.severity)),
	    el('td', { text: categoryName(a.category) }),
	    el('td', { title: a.section, text: sectionName(a.section) }),
	    el('td', { class: 'r-summary', text: a.summary || '' }),
	    el('td', { text: a.origin || '' }),
	    el('td', {}, hcBadge(a.handling)),
	    el('td', {}, tlpBadge(a.tlp)));
}

function renderResults(more) {
	$('history-results').replaceChildren(...results.map(resultRow));
	$('history-more').hidden = !more;
	$('history-status').textContent = query === null ? '' :
	    results.length ? t('history.count', { n: results.length }) : t('history.none');
}

/* Fetch one page: the first of a new search, or the next one. */
async function fetchPage(first) {
	if (busy)
		return;
	busy = true;
	const q = new URLSearchParams(query);
	if (!first && nextAfter !== null)
		q.set('after', String(nextAfter));
	try {
		const r = await api(`/api/history?${q}`);
		if (first)
			results = [];
		const page = Array.isArray(r && r.alerts) ? r.alerts : [];
		const seen = new Set(results.map((a) => a.seq));
		results.push(...page.filter((a) => a && !seen.has(a.seq)));
		nextAfter = Number.isSafeInteger(r && r.next_after) ? r.next_after : null;
		renderResults(Boolean(r && r.more) && nextAfter !== null);
	} catch (e) {
		showError(e.message);
	} finally {
		busy = false;
	}
}

function renderForm() {
	const sec = $('h-section'), cat = $('h-category'), sev = $('h-severity');
	const keep = [sec.value, cat.value, sev.value];
	fillSections(sec, true);
	fillSelect(cat, state.categories, categoryName);
	fillSelect(sev, state.severities, (s) => t(`sev.${s}`));
	[sec.value, cat.value, sev.value] = keep;
}

export function startHistory(opener) {
	openDetail = opener;
	renderForm();
	$('history-form').addEventListener('submit', (e) => {
		e.preventDefault();
		query = new URLSearchParams();
		const put = (k, v) => { if (v) query.set(k, v); };
		put('from', rfc3339($('h-from').value));
		put('to', rfc3339($('h-to').value));
		put('section', $('h-section').value);
		put('category', $('h-category').value);
		put('severity', $('h-severity').value);
		put('q', $('h-q').value.trim());
		nextAfter = null;
		fetchPage(true);
	});
	$('history-more').addEventListener('click', () => fetchPage(false));
	activate($('history-results'), '.result', (tr) => openDetail(tr.dataset.id));
	onLang(() => {
		renderForm();
		renderResults(!$('history-more').hidden);
	});
}
