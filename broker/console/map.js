/*
 * map.js - the sections on the map (#map): markers placed on an SVG overlay
 * above map.svg, with a badge per section counting the recent alerts of the
 * feed in the colour of the highest severity among them.
 *
 * Projection (the same as map.svg's, equirectangular, fixed):
 *   x = (lon - 22.8) * K
 *   y = (42.3 - lat) * K / cos(41.5 deg)      K = 200
 * on a 1080 x 481 drawing covering 40.5-42.3 N, 22.8-28.2 E.
 *
 * Owns: #map-overlay, #map-unlocated.
 * Must never: place a section whose coordinates are missing or outside the
 * drawing (it is listed beside the map instead).
 */

import { t, onLang } from './i18n.js';
import { state, sevRank, token, activate } from './common.js';
import { heldAlerts, onAlertsChange, filterSection } from './feed.js';

const K = 200;
const KY = K / Math.cos(41.5 * Math.PI / 180);
const W = 1080, H = 481;
const RECENT_MS = 24 * 3600 * 1000;	/* "recent": the last 24 hours */
const SVG = 'http://www.w3.org/2000/svg';
const BADGE_DY = 16;			/* badge centre above the pin */

export function project(lat, lon) {
	return { x: (lon - 22.8) * K, y: (42.3 - lat) * KY };
}

function svg(tag, attrs, ...children) {
	const e = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs))
		e.setAttribute(k, String(v));
	e.append(...children);
	return e;
}

/* Short label: the first place of a name ("Kapıkule – Kapitan Andreevo"). */
function shortName(name) {
	return name.split(/\s+[–/(-]\s*/)[0];
}

/* Recent alerts per section: {n, worst severity}. */
function counts() {
	const now = Date.now();
	const per = new Map();
	for (const a of heldAlerts()) {
		const at = Date.parse(String(a.published_at).replace(/(\.\d{3})\d+/, '$1'));
		if (!(now - at < RECENT_MS))
			continue;
		const c = per.get(a.section) || { n: 0, worst: '' };
		c.n++;
		if (sevRank(a.severity) > sevRank(c.worst))
			c.worst = a.severity;
		per.set(a.section, c);
	}
	return per;
}

/*
 * Place a label of width w beside the marker at (x, y): of the candidate
 * places inside the drawing, the one overlapping least the labels and
 * badges placed so far (boxes) and the markers (points). Adds its box to
 * boxes and returns [x, y, text-anchor].
 */
function placeLabel(x, y, w, boxes, points) {
	const h = 14;
	const cands = [
		[x + 10, y + 5, 'start'], [x - 10, y + 5, 'end'],
		[x, y + 21, 'middle'], [x, y - 28, 'middle'],
		[x + 10, y + 19, 'start'], [x - 10, y + 19, 'end'],
		[x + 10, y - 9, 'start'], [x - 10, y - 9, 'end'],
	];
	const overlap = (a, b) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) *
	    Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
	let best = null;
	for (const [lx, ly, anchor] of cands) {
		const x0 = anchor === 'start' ? lx : anchor === 'end' ? lx - w : lx - w / 2;
		const box = { x0, x1: x0 + w, y0: ly - h + 3, y1: ly + 3 };
		if (box.x0 < 0 || box.x1 > W || box.y0 < 0 || box.y1 > H)
			continue;
		let cost = 0;
		for (const b of boxes)
			cost += overlap(box, b);
		for (const p of points)
			cost += 4 * overlap(box, { x0: p.x - 7, x1: p.x + 7, y0: p.y - 7, y1: p.y + 7 });
		if (!best || cost < best.cost)
			best = { cost, box, place: [lx, ly, anchor] };
		if (cost === 0)
			break;
	}
	if (!best)
		return cands[0];
	boxes.push(best.box);
	return best.place;
}

function located(s) {
	if (typeof s.lat !== 'number' || typeof s.lon !== 'number')
		return false;
	const p = project(s.lat, s.lon);
	return p.x >= 0 && p.x <= W && p.y >= 0 && p.y <= H;
}

function choose(id) {
	filterSection(id);
	location.hash = '#feed';
}

/* Draw the markers and the list of sections without coordinates. */
export function renderMap() {
	const overlay = document.getElementById('map-overlay');
	const per = counts();
	const list = [...state.sections.values()];
	const on = list.filter(located);
	const points = on.map((s) => project(s.lat, s.lon));
	/* Labels avoid the badges: their boxes are placed first. */
	const boxes = on.filter((s) => per.has(s.id)).map((s) => {
		const p = project(s.lat, s.lon);
		return { x0: p.x - 10, x1: p.x + 10, y0: p.y - BADGE_DY - 10, y1: p.y - BADGE_DY + 10 };
	});
	const nodes = [];
	on.forEach((s, i) => {
		const { x, y } = points[i];
		const c = per.get(s.id);
		const label = shortName(s.name);
		const [lx, ly, anchor] = placeLabel(x, y, label.length * 6.6 + 4, boxes, points);
		const g = svg('g', { class: `marker${c ? ` sev-${token(c.worst)}` : ''}`,
		    'data-section': s.id, tabindex: 0, role: 'button' },
		    svg('title', {}, `${s.name} (${s.id})` +
			(c ? ` — ${t('map.alerts', { n: c.n })}` : '')),
		    svg('circle', { class: 'pin', cx: x, cy: y, r: 6 }),
		    svg('text', { class: 'label', x: lx, y: ly, 'text-anchor': anchor }, label));
		if (c) {	/* the badge stands above the pin */
			g.append(svg('circle', { class: 'badge', cx: x, cy: y - BADGE_DY, r: 9 }),
			    svg('text', { class: 'badge-n', x, y: y - BADGE_DY + 3.5,
				'text-anchor': 'middle' }, c.n > 99 ? '99+' : String(c.n)));
		}
		nodes.push(g);
	});
	overlay.replaceChildren(...nodes);

	const ul = document.getElementById('map-unlocated');
	ul.replaceChildren(...list.filter((s) => !located(s)).map((s) => {
		const c = per.get(s.id);
		const li = document.createElement('li');
		li.className = `marker${c ? ` sev-${token(c.worst)}` : ''}`;
		li.dataset.section = s.id;
		li.tabIndex = 0;
		li.textContent = s.name + (c ? ` (${c.n})` : '');
		return li;
	}));
	ul.closest('aside').hidden = !ul.children.length;
}

export function startMap() {
	activate(document.getElementById('page-map'), '.marker', (m) => choose(m.dataset.section));
	onAlertsChange(renderMap);
	onLang(renderMap);
	setInterval(renderMap, 60000);	/* alerts age out of "recent" */
	renderMap();
}
