/*
 * i18n.js - the message catalogue: loading, lookup, applying to the page.
 *
 * Owns: the chosen language (localStorage "ccc.lang", else the first of
 * navigator.languages among en/tr/bg/el, else en), <html lang>, the
 * catalogues /assets/i18n/<lang>.json (English always loaded as the
 * fallback for a key missing in another language).
 * Must never: put catalogue text into the page as HTML (textContent only).
 */

export const LANGS = ['en', 'tr', 'bg', 'el'];
/* Locale used for dates and numbers of each language. */
const LOCALES = { en: 'en-GB', tr: 'tr-TR', bg: 'bg-BG', el: 'el-GR' };

let lang = 'en';
let catalogue = {};	/* the chosen language */
let fallback = {};	/* English */
const listeners = [];	/* called after a language change */

/* Read/write localStorage, which a browser may refuse (private modes). */
export function stored(key, value) {
	try {
		if (value === undefined)
			return localStorage.getItem(key);
		localStorage.setItem(key, value);
	} catch (e) { /* storage refused: keep the choice for this page only */ }
	return null;
}

/* The language to start with. */
export function pickLang() {
	const saved = stored('ccc.lang');
	if (LANGS.includes(saved))
		return saved;
	for (const l of navigator.languages || [navigator.language || '']) {
		const base = String(l).toLowerCase().split('-')[0];
		if (LANGS.includes(base))
			return base;
	}
	return 'en';
}

export function currentLang() { return lang; }
export function locale() { return LOCALES[lang]; }

/*
 * Text of key with {name} placeholders replaced from vars; the key itself
 * when no catalogue has it (visible, so a missing text is noticed).
 */
export function t(key, vars) {
	let s = catalogue[key] ?? fallback[key] ?? key;
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

/* Text of key, or null when no catalogue has it. */
export function tOpt(key) {
	return catalogue[key] ?? fallback[key] ?? null;
}

async function fetchCatalogue(l) {
	try {
		const res = await fetch(`/assets/i18n/${l}.json`);
		if (res.ok)
			return await res.json();
	} catch (e) { /* fall through: the keys or English show */ }
	return {};
}

/* Fill data-i18n (text), data-i18n-title and data-i18n-placeholder under root. */
export function apply(root = document) {
	for (const e of root.querySelectorAll('[data-i18n]'))
		e.textContent = t(e.dataset.i18n);
	for (const e of root.querySelectorAll('[data-i18n-title]'))
		e.title = t(e.dataset.i18nTitle);
	for (const e of root.querySelectorAll('[data-i18n-placeholder]'))
		e.placeholder = t(e.dataset.i18nPlaceholder);
}

/* Register fn to run after every language change (re-render). */
export function onLang(fn) { listeners.push(fn); }

/* Switch to language l (one of LANGS): load, apply, tell the listeners. */
export async function setLang(l, remember) {
	if (!LANGS.includes(l))
		l = 'en';
	if (!Object.keys(fallback).length)
		fallback = await fetchCatalogue('en');
	catalogue = l === 'en' ? fallback : await fetchCatalogue(l);
	lang = l;
	if (remember)
		stored('ccc.lang', l);
	document.documentElement.lang = l;
	document.title = t('app.title');
	apply();
	for (const fn of listeners)
		fn();
}
