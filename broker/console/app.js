/*
 * app.js - the console page's entry point: the language, the endpoint
 * (/api/me), the sections (/api/sections), the pages and their navigation.
 *
 * Modules: i18n.js (catalogue), common.js (state, /api/ client, error
 * banner, badges), feed.js (live feed and filters), map.js, detail.js,
 * history.js. Vanilla ES2020 modules, no framework, no inline script or
 * style (the Content-Security-Policy forbids them), no text put in as HTML.
 *
 * Stable hooks for the browser tests (keep them):
 *   #feed                  the live list; each alert row is
 *   .alert[data-seq][data-id][data-severity][data-section][data-category]
 *                          (also data-handling); hidden rows have [hidden]
 *   #status[data-state]    "live", "reconnecting" or "offline"
 *   #lang                  the language select (en, tr, bg, el)
 *   #f-section (multiple), #f-category, #f-severity (minimum), #f-handling
 *                          the feed's filters; #f-clear clears them
 *   #detail                the alert panel ([hidden] when closed;
 *                          data-id, data-state="loading|shown|notfound|error")
 *   #error                 the error banner ([hidden] when none), text in
 *                          #error-text: the broker's "message"
 *   #fatal                 the full-page error (e.g. 403 at /api/me),
 *                          text in #fatal-text
 *   #map                   the map; markers .marker[data-section]
 *   a[data-page="feed|map|history|operator"]   the navigation ("operator"
 *                          shown only to an endpoint with that role)
 *   #history-form          the history search; rows .result[data-id];
 *                          #history-more the next page
 * Pages are chosen by the URL's fragment: #feed (default), #map, #history,
 * #operator; #alert=<id> opens that alert's detail over the feed.
 */

import { setLang, pickLang, onLang, t } from './i18n.js';
import { state, api, hideError, ApiError } from './common.js';
import { startFeed } from './feed.js';
import { startMap } from './map.js';
import { startDetail, openDetail, closeDetail } from './detail.js';
import { startHistory } from './history.js';

const PAGES = ['feed', 'map', 'history', 'operator'];

function isOperator() {
	return Boolean(state.me && Array.isArray(state.me.roles) &&
	    state.me.roles.includes('operator'));
}

/*
 * Show the page named by the URL's fragment; #alert=<id> (a link to an
 * alert, as the detail's references give) opens that alert over the feed.
 */
function route() {
	let page = location.hash.replace(/^#/, '');
	const link = page.match(/^alert=([0-9a-fA-F-]{36})$/);
	if (link)
		openDetail(link[1]);
	if (!PAGES.includes(page) || (page === 'operator' && !isOperator()))
		page = 'feed';
	for (const p of PAGES)
		document.getElementById(`page-${p}`).hidden = p !== page;
	for (const a of document.querySelectorAll('a[data-page]'))
		a.classList.toggle('active', a.dataset.page === page);
}

/* A failure the page cannot work around: say it full-page. */
function fatal(e) {
	document.getElementById('main').hidden = true;
	document.querySelector('header .nav').hidden = true;
	document.getElementById('fatal-text').textContent = e.message;
	document.getElementById('fatal-hint').textContent =
	    e.status === 403 ? t('error.cert') : '';
	document.getElementById('fatal').hidden = false;
	document.getElementById('status').hidden = true;
}

function showMe() {
	const me = state.me;
	document.getElementById('who-name').textContent = me.name || '';
	document.getElementById('who-id').textContent = me.endpoint || '';
	document.getElementById('who').title = [me.subject, me.kind && t(`kind.${me.kind}`),
	    me.country, me.broker].filter(Boolean).join(' · ');
}

async function main() {
	const langSel = document.getElementById('lang');
	await setLang(pickLang(), false);
	langSel.value = document.documentElement.lang;
	langSel.addEventListener('change', () => setLang(langSel.value, true));
	document.getElementById('error-close').addEventListener('click', hideError);
	document.getElementById('fatal-reload').addEventListener('click', () => location.reload());

	try {
		state.me = await api('/api/me');
		if (!state.me || typeof state.me !== 'object')
			throw new ApiError(502, 'bad_answer', t('error.http', { status: 200 }));
	} catch (e) {
		document.getElementById('loading').hidden = true;
		fatal(e);
		return;
	}
	try {
		const s = (await api('/api/sections')) || {};
		for (const sec of Array.isArray(s.sections) ? s.sections : []) {
			if (sec && typeof sec.id === 'string')
				state.sections.set(sec.id, {
					id: sec.id,
					border: sec.border || sec.id.split('/')[0],
					name: typeof sec.name === 'string' && sec.name ? sec.name : sec.id,
					lat: sec.lat, lon: sec.lon,
				});
		}
		for (const k of ['categories', 'severities', 'handling'])
			if (Array.isArray(s[k]) && s[k].length)
				state[k] = s[k].filter((v) => typeof v === 'string');
	} catch (e) {
		document.getElementById('loading').hidden = true;
		fatal(e);
		return;
	}
	document.getElementById('loading').hidden = true;
	showMe();
	onLang(showMe);
	document.querySelector('a[data-page="operator"]').hidden = !isOperator();
	startDetail();
	startFeed(openDetail);
	startMap();
	startHistory(openDetail);
	window.addEventListener('hashchange', () => {
		closeDetail();
		route();
	});
	route();
}

main();
