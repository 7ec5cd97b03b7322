// The svcgen filters (rust/core/src/filters.rs) for the JavaScript engines of the benchmark, with
// the same results: the case conversions follow heck 0.5's word boundaries, the quoting filters
// the core's escapes. Nunjucks and Nunjitsu get the same functions.
'use strict';

const isLower = (c) => c !== c.toUpperCase() && c === c.toLowerCase();
const isUpper = (c) => c !== c.toLowerCase() && c === c.toUpperCase();
// Rust's char::is_alphanumeric: Unicode letters and numbers.
const NOT_ALNUM = /[^\p{Alphabetic}\p{N}]/u;

/** heck's `transform`: splits into words, calls `word(w)` for each, `sep` between them. */
function words(s) {
  const out = [];
  for (const word of String(s).split(NOT_ALNUM)) {
    const chars = Array.from(word);
    let init = 0;
    let mode = 'boundary';
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (i + 1 < chars.length) {
        const next = chars[i + 1];
        const nextMode = isLower(c) ? 'lower' : isUpper(c) ? 'upper' : mode;
        if (nextMode === 'lower' && isUpper(next)) {
          out.push(chars.slice(init, i + 1).join(''));
          init = i + 1;
          mode = 'boundary';
        } else if (mode === 'upper' && isUpper(c) && isLower(next)) {
          out.push(chars.slice(init, i).join(''));
          init = i;
          mode = 'boundary';
        } else {
          mode = nextMode;
        }
      } else {
        out.push(chars.slice(init).join(''));
      }
    }
  }
  return out;
}

const lower = (w) => w.toLowerCase();
const upper = (w) => w.toUpperCase();
const capital = (w) => {
  const [first, ...rest] = Array.from(w);
  return first === undefined ? '' : first.toUpperCase() + rest.join('').toLowerCase();
};

const snake_case = (s) => words(s).map(lower).join('_');
const kebab_case = (s) => words(s).map(lower).join('-');
const pascal_case = (s) => words(s).map(capital).join('');
const camel_case = (s) => words(s).map((w, i) => (i === 0 ? lower(w) : capital(w))).join('');
const upper_snake_case = (s) => words(s).map(upper).join('_');

function dns_label(s) {
  let label = '';
  for (const ch of kebab_case(s)) {
    const c = /^[A-Za-z0-9]$/.test(ch) ? ch.toLowerCase() : '-';
    if (!(c === '-' && (label === '' || label.endsWith('-')))) label += c;
  }
  // Rust's String::truncate(63) counts bytes; every character left here is ASCII.
  return label.slice(0, 63).replace(/-+$/, '');
}

function json_str(s) {
  let out = '"';
  for (const c of String(s)) {
    const code = c.codePointAt(0);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029)
      out += '\\u' + code.toString(16).padStart(4, '0');
    else out += c;
  }
  return out + '"';
}
const yaml_str = json_str;
// Function replacements: in a replacement string `$$` would mean a single `$`.
const hcl_str = (s) => json_str(s).replaceAll('${', () => '$${').replaceAll('%{', () => '%%{');
const sh_quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

function parse_repo_url(url) {
  const at = String(url).indexOf('?');
  if (at < 0) throw new Error('repository location has no ?owner=…&repo=… part');
  const parts = { host: url.slice(0, at), owner: '', repo: '' };
  for (const pair of url.slice(at + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq >= 0) parts[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  // minijinja's BTreeMap: keys sorted.
  return Object.fromEntries(Object.entries(parts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The svcgen filters, by name. */
const svcgenFilters = {
  snake_case, kebab_case, pascal_case, camel_case, upper_snake_case, dns_label,
  json_str, yaml_str, hcl_str, sh_quote, parse_repo_url,
};

module.exports = { svcgenFilters, words };
