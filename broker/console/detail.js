/*
 * detail.js - one alert in full (#detail): GET /api/alerts/<id>, which the
 * broker journals as a consultation (the panel says so).
 *
 * Owns: #detail and its contents; the id shown.
 * Must never: ask for an id that is not a UUID; keep an answer that arrives
 * after the panel moved on to another alert.
 */

import { t, tOpt, onLang } from './i18n.js';
import { el, api, isUuid, showError, fullTime, sevBadge, tlpBadge,
    tlpLabel, sectionName, categoryName, token } from './common.js';

let shownId = null;	/* id of the alert in the panel */
let shown = null;	/* its JSON, for a re-render after a language change */
let ticket = 0;		/* number of the latest request */

const panel = () => document.getElementById('detail');
const body = () => document.getElementById('detail-body');

/* Definition list entry, left out when value is empty. */
function row(key, value) {
	if (value === undefined || value === null || value === '' ||
	    (Array.isArray(value) && !value.length))
		return null;
	return [el('dt', { text: t(key) }), el('dd', {}, value)];
}

function dl(...entries) {
	const list = el('dl', { class: 'kv' });
	for (const e of entries)
		if (e)
			list.append(...e);
	return list.children.length ? list : null;
}

function block(key, ...content) {
	const c = content.filter(Boolean);
	return c.length ? el('section', { class: 'd-block' }, el('h3', { text: t(key) }), ...c) : null;
}

/* A table of objects: cols are [catalogue key, function of one row]. */
function table(items, cols) {
	if (!Array.isArray(items) || !items.length)
		return null;
	return el('table', { class: 'd-table' },
	    el('thead', {}, el('tr', {}, ...cols.map(([k]) => el('th', { text: t(k) })))),
	    el('tbody', {}, ...items.map((it) =>
		el('tr', {}, ...cols.map(([, f]) => el('td', { text: f(it) ?? '' }))))));
}

function num(v) {
	return typeof v === 'number' ? v.toLocaleString() : v;
}

/* Grading "b2": banner with the meaning of the letter and of the digit. */
function gradingBanner(g) {
	if (typeof g !== 'string' || !/^[abcx][1-4]$/.test(g))
		return null;
	return el('div', { class: 'banner grading-banner' },
	    el('strong', { text: `${t('detail.grading')} ${g.toUpperCase()}` }),
	    el('span', { text: t(`grading.source.${g[0]}`) }),
	    el('span', { text: t(`grading.info.${g[1]}`) }));
}

function render(a) {
	const refs = Array.isArray(a.references) ? a.references.filter(isUuid) : [];
	const loc = a.location && typeof a.location.lat === 'number' ?
	    `${a.location.lat.toFixed(5)}, ${a.location.lon.toFixed(5)}` : null;
	const p = a.persons || {};
	const r = a.route || {};
	body().replaceChildren(...[
		a.exercise ? el('div', { class: 'banner exercise', text: t('detail.exercise') }) : null,
		a.handling ? el('div', { class: `banner hc-banner hc-${token(a.handling)}` },
		    el('strong', { text: t('detail.handling') }), el('span', { text: t(`hc.${a.handling}`) })) : null,
		a.tlp ? el('div', { class: `banner tlp-banner tlp-${token(a.tlp)}` },
		    el('strong', { text: tlpLabel(a.tlp) }),
		    el('span', { text: (tOpt(`tlp.${a.tlp}`) || '').replace(/^TLP:\S+\s+—\s+/, '') })) : null,
		gradingBanner(a.grading),
		el('div', { class: 'd-title' }, sevBadge(a.severity),
		    el('span', { text: categoryName(a.category) }),
		    el('span', { class: 'd-sec', text: sectionName(a.section) })),
		el('p', { class: 'd-summary', lang: a.language || null, text: a.summary || '' }),
		a.details ? el('p', { class: 'd-text', lang: a.language || null, text: a.details }) : null,
		dl(row('detail.origin', a.origin),
		    row('detail.section', a.section ? `${sectionName(a.section)} (${a.section})` : ''),
		    row('detail.location', loc),
		    row('detail.observed', a.observed_at ? fullTime(a.observed_at) : ''),
		    row('detail.published', a.published_at ? fullTime(a.published_at) : ''),
		    row('detail.expires', a.expires_at ? fullTime(a.expires_at) : ''),
		    row('detail.language', a.language),
		    row('detail.topic', a.topic),
		    row('detail.seq', a.seq !== undefined ? String(a.seq) : ''),
		    row('detail.id', a.id)),
		block('detail.persons', dl(row('detail.persons.count', p.count !== undefined ? String(p.count) : ''),
		    row('detail.persons.nationalities', Array.isArray(p.nationalities) ? p.nationalities.join(', ') : ''))),
		block('detail.vehicles', table(a.vehicles, [
		    ['detail.vehicle.plate', (v) => v.plate],
		    ['detail.vehicle.country', (v) => v.registration_country],
		    ['detail.vehicle.make', (v) => v.make],
		    ['detail.vehicle.model', (v) => v.model],
		    ['detail.vehicle.colour', (v) => v.colour]])),
		block('detail.drugs', table(a.drugs, [
		    ['detail.drug.substance', (d) => d.substance],
		    ['detail.drug.quantity', (d) => [num(d.quantity), d.unit].filter((x) => x !== undefined).join(' ')]])),
		block('detail.goods', table(a.goods, [
		    ['detail.goods.description', (g) => g.description],
		    ['detail.goods.hs', (g) => g.hs_code],
		    ['detail.goods.value', (g) => [num(g.declared_value), g.currency].filter((x) => x !== undefined).join(' ')]])),
		block('detail.route', dl(row('detail.route.from', r.from), row('detail.route.to', r.to),
		    row('detail.route.crossing', r.crossing))),
		block('detail.remarks', a.remarks ? el('p', { class: 'd-text', text: a.remarks }) : null),
		block('detail.references', refs.length ? el('ul', { class: 'refs' },
		    ...refs.map((id) => el('li', {}, el('a', { href: `#alert=${id}`, 'data-ref': id, text: id })))) : null),
		block('detail.recipients', dl(row('detail.recipients', (a.recipients || []).join(', ')),
		    row('detail.audience', (a.audience || []).join(', ')))),
	].filter(Boolean));
}

function message(text) {
	body().replaceChildren(el('p', { class: 'd-message', text }));
}

/* Open the panel on alert id. */
export async function openDetail(id) {
	if (!isUuid(id))
		return;
	const n = ++ticket;
	shownId = id;
	shown = null;
	panel().hidden = false;
	panel().dataset.id = id;
	panel().dataset.state = 'loading';
	message(t('detail.loading'));
	panel().focus();
	try {
		const a = await api(`/api/alerts/${encodeURIComponent(id)}`);
		if (n !== ticket)
			return;
		shown = a && typeof a === 'object' ? a : {};
		panel().dataset.state = 'shown';
		render(shown);
	} catch (e) {
		if (n !== ticket)
			return;
		if (e.status === 404) {
			panel().dataset.state = 'notfound';
			message(t('detail.notfound'));
		} else {
			panel().dataset.state = 'error';
			message(e.message);
			showError(e.message);
		}
	}
}

export function closeDetail() {
	ticket++;
	shownId = null;
	shown = null;
	panel().hidden = true;
}

export function startDetail() {
	document.getElementById('detail-close').addEventListener('click', closeDetail);
	document.addEventListener('keydown', (e) => {
		if (e.key === 'Escape' && !panel().hidden)
			closeDetail();
	});
	body().addEventListener('click', (e) => {
		const a = e.target.closest('a[data-ref]');
		if (a) {
			e.preventDefault();
			openDetail(a.dataset.ref);
		}
	});
	onLang(() => {
		if (shown)
			render(shown);
		else if (shownId && panel().dataset.state === 'notfound')
			message(t('detail.notfound'));
	});
}
