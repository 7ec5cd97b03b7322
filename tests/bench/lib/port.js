// Ports of the set's Jinja templates to Nunjucks 3.2.4 and Nunjitsu: the same files, with the
// mechanical translations below applied at load, and the helpers (filters, tests, globals) the
// templates use that an engine lacks. Every output is then checked byte for byte against the core.
//
// The translations (see `translations` and ENGINE_TRANSLATIONS below) rewrite only what an engine
// cannot read, outside raw blocks and string literals; lib/port.js reports how often each applied.
// Helpers with minijinja's semantics: the svcgen filters (lib/filters.js), `split` and `items`
// filters, `startingwith` / `endingwith` tests, a `dict(mapping, key=value)` global.
'use strict';

const { svcgenFilters } = require('./filters');

/**
 * Splits template source into segments: `text`, `raw` (a whole `{% raw %}…{% endraw %}` block),
 * `comment`, `var` (`{{ … }}`) and `block` (`{% … %}`). Concatenating `src` gives the source back.
 */
function tokenize(source) {
  const out = [];
  let i = 0;
  const open = /\{\{|\{%|\{#/g;
  while (i < source.length) {
    open.lastIndex = i;
    const m = open.exec(source);
    if (!m) {
      out.push({ kind: 'text', src: source.slice(i) });
      break;
    }
    if (m.index > i) out.push({ kind: 'text', src: source.slice(i, m.index) });
    const start = m.index;
    if (m[0] === '{#') {
      const end = source.indexOf('#}', start + 2);
      out.push({ kind: 'comment', src: source.slice(start, end + 2) });
      i = end + 2;
      continue;
    }
    const close = m[0] === '{{' ? '}}' : '%}';
    const end = findClose(source, start + 2, close);
    const src = source.slice(start, end + 2);
    if (m[0] === '{%' && /^\{%-?\s*raw\s*-?%\}$/.test(src)) {
      const endRaw = /\{%-?\s*endraw\s*-?%\}/g;
      endRaw.lastIndex = end + 2;
      const e = endRaw.exec(source);
      out.push({ kind: 'raw', src: source.slice(start, e.index + e[0].length), open: src, body: source.slice(end + 2, e.index), close: e[0] });
      i = e.index + e[0].length;
      continue;
    }
    out.push({ kind: m[0] === '{{' ? 'var' : 'block', src });
    i = end + 2;
  }
  return out;
}

/** Index of the closing delimiter, skipping string literals. */
function findClose(source, from, close) {
  let quote = null;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (source.startsWith(close, i)) return i;
  }
  throw new Error(`unclosed ${close}`);
}

/** Applies `fn` to the code of a tag with its string literals masked (put back afterwards). */
function mapCode(src, fn) {
  const strings = [];
  let masked = '';
  let quote = null;
  let literal = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      literal += c;
      if (c === '\\') literal += src[++i];
      else if (c === quote) {
        masked += `\u0001${strings.push(literal) - 1}\u0001`;
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      literal = c;
    } else masked += c;
  }
  if (quote) throw new Error(`unclosed string in ${src}`);
  return fn(masked).replace(/\u0001(\d+)\u0001/g, (_, n) => strings[n]);
}

const SLICE = /([\w)\]])\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*\]/g;
const TESTS = /([\w.)\]]+)\s+is\s+(startingwith|endingwith)\s*\(/g;
const TRAILING_COMMA = /,(\s*[}\]])/g;
const DICT_CALL = /\bdict\(([^()]*)\)/g;
const INCLUDE = /^\{%(-?)\s*include\s+(['"])([^'"]+)\2\s*(-?)%\}$/;
const IMPORT = /^\{%(-?)\s*import\s+(['"])([^'"]+)\2\s+as\s+(\w+)\s*(-?)%\}$/;
const MACRO = /\{%-?\s*macro\s[\s\S]*?\{%-?\s*endmacro\s*-?%\}/g;

/** Splits call arguments at top-level commas (the code has no strings: they are masked). */
function splitArgs(code) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const c of code) {
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Index of the parenthesis or bracket closing the one at `open`. */
function matching(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if ('([{'.includes(code[i])) depth++;
    else if (')]}'.includes(code[i]) && --depth === 0) return i;
  }
  return -1;
}

/** A list operand at `i`: `[…]` or `(` + `[…] …` + `)`; returns its end (exclusive) or -1. */
function listOperand(code, i) {
  if (code[i] === '[') return matching(code, i) + 1 || -1;
  if (code[i] === '(' && /^\(\s*\[/.test(code.slice(i))) return matching(code, i) + 1 || -1;
  return -1;
}

/** `L1 + L2 + …` where each operand is a list literal or a parenthesised expression starting with one. */
function concatLists(code) {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const end = listOperand(code, i);
    if (end < 0 || (i > 0 && /[\w.)\]]/.test(code[i - 1]))) {
      out += code[i++];
      continue;
    }
    let expr = code.slice(i, end);
    let j = end;
    let m;
    while ((m = /^\s*\+\s*/.exec(code.slice(j)))) {
      const k = j + m[0].length;
      const e2 = listOperand(code, k);
      if (e2 < 0) break;
      expr = `${/^\[/.test(expr) ? `(${expr})` : expr}.concat(${code.slice(k, e2)})`;
      j = e2;
    }
    out += expr;
    i = j;
  }
  return out;
}

/**
 * The translations, by name: `code` ones rewrite the code of `{{ }}` / `{% %}` tags (outside string
 * literals), `source` ones the template source around them.
 */
const translations = {
  // Nunjucks: no slice syntax; a JavaScript string's or array's slice() is the same operation.
  slices: { code: (code) => code.replace(SLICE, (_, b, x, y) => `${b}.slice(${x ?? 0}${y === undefined ? '' : `, ${y}`})`) },
  // Nunjucks and Nunjitsu refuse a trailing comma in list and dict literals.
  trailingCommas: { code: (code) => code.replace(TRAILING_COMMA, '$1') },
  // Nunjitsu: no custom tests; strings' startsWith / endsWith are available.
  testsToMethods: {
    code: (code) => code.replace(TESTS, (_, x, t) => `${x}.${t === 'startingwith' ? 'startsWith' : 'endsWith'}(`),
  },
  // Nunjitsu: globals take no keyword arguments: dict(m, K=v) → dict(m, {'K': v}).
  dictKeywords: {
    code: (code) =>
      code.replace(DICT_CALL, (all, args) => {
        const parts = splitArgs(args);
        const kw = parts.filter((a) => /^\s*\w+\s*=(?!=)/.test(a));
        if (!kw.length) return all;
        const pos = parts.filter((a) => !kw.includes(a)).map((a) => a.trim());
        const pairs = kw.map((a) => a.replace(/^\s*(\w+)\s*=\s*/, "'$1': ").trim());
        return `dict(${[...pos, `{${pairs.join(', ')}}`].join(', ')})`;
      }),
  },
  // Nunjucks and Nunjitsu: `+` on two lists is JavaScript's + (string concatenation): concat().
  listConcat: { code: concatLists },
  // Nunjucks and Nunjitsu: an empty list or dict is true (JavaScript). A name the template sets to
  // a list or dict, used as a whole condition of if/elif, becomes `(name | length)`.
  collectionTruth: { collectionTruth: true },
  // Nunjucks keeps the newline after {% endraw %} that trim_blocks removes.
  endrawNewline: { afterRaw: 'close' },
  // Jinja2 keeps the newline after {% raw %} that trim_blocks removes in minijinja.
  rawNewline: { afterRaw: 'open' },
  // Nunjucks and Nunjitsu keep the newline after a {# comment #} that trim_blocks removes.
  commentNewline: { afterComment: true },
  // Nunjitsu renders one inline source (no loader): includes are replaced by the included source,
  // and `{% import 'x' as ns %}` by x's macro definitions, called without the `ns.` prefix.
  inlineIncludes: { include: true },
};

/** Which translations each engine gets. */
const ENGINE_TRANSLATIONS = {
  jinja2: ['rawNewline'],
  nunjucks: ['slices', 'trailingCommas', 'listConcat', 'collectionTruth', 'endrawNewline', 'commentNewline'],
  // Nunjitsu slices a string into an array of characters: slices become slice() as for Nunjucks.
  nunjitsu: ['slices', 'trailingCommas', 'testsToMethods', 'dictKeywords', 'listConcat', 'collectionTruth', 'endrawNewline', 'commentNewline', 'inlineIncludes'],
};

/**
 * The set's templates for `engine`, translated; `counts` receives how often each translation
 * changed something.
 */
function portTemplates(engine, templates, counts = {}) {
  const names = ENGINE_TRANSLATIONS[engine];
  if (!names) throw new Error(`no port for ${engine}`);
  const used = names.map((n) => [n, translations[n]]);
  const count = (n) => (counts[n] = (counts[n] || 0) + 1);
  const cache = new Map();
  function port(name, stack) {
    if (cache.has(name)) return cache.get(name);
    if (stack.includes(name)) throw new Error(`include cycle: ${[...stack, name].join(' → ')}`);
    const source = templates[name];
    if (source === undefined) throw new Error(`no template ${name}`);
    const parts = tokenize(source);
    // Names this template sets to a list or a dict (for collectionTruth).
    const collections = new Set();
    if (used.some(([, t]) => t.collectionTruth)) {
      for (const p of parts) {
        const m = p.kind === 'block' && /^\{%-?\s*set\s+(\w+)\s*=\s*(.*?)\s*-?%\}$/s.exec(mapCode(p.src, (c) => c));
        if (m && /^(\(\s*)*(\[|\{|dict\()/.test(mapCode(m[2], (c) => c.replace(/\u0001\d+\u0001/g, "''")))) collections.add(m[1]);
      }
    }
    let text = '';
    const namespaces = [];
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      if (p.kind === 'block' && IMPORT.test(p.src) && used.some(([, t]) => t.include)) {
        // The imported template's output is discarded; only its macros are kept (they take no
        // output of their own), then `ns.macro(` calls become `macro(`.
        const [, trimBefore, , imported, ns, trimAfter] = IMPORT.exec(p.src);
        text = trimBefore ? text.replace(/\s+$/, '') : text.replace(/(^|\n)[ \t]+$/, '$1');
        text += (port(imported, [...stack, name]).match(MACRO) || []).join('');
        namespaces.push(ns);
        const next = parts[k + 1];
        if (next && next.kind === 'text') next.src = trimAfter ? next.src.replace(/^\s+/, '') : next.src.replace(/^\n/, '');
        count('inlineIncludes');
      } else if (p.kind === 'block' && INCLUDE.test(p.src) && used.some(([, t]) => t.include)) {
        // The included template's output takes the tag's place; the whitespace the tag's own
        // trimming removes (lstrip_blocks before it, trim_blocks after it, or `-`) is removed here.
        const [, trimBefore, , included, trimAfter] = INCLUDE.exec(p.src);
        text = trimBefore ? text.replace(/\s+$/, '') : text.replace(/(^|\n)[ \t]+$/, '$1');
        text += port(included, [...stack, name]);
        const next = parts[k + 1];
        if (next && next.kind === 'text') next.src = trimAfter ? next.src.replace(/^\s+/, '') : next.src.replace(/^\n/, '');
        count('inlineIncludes');
      } else if (p.kind === 'comment') {
        text += p.src;
        const next = parts[k + 1];
        if (used.some(([, t]) => t.afterComment) && !/-#\}$/.test(p.src) && next && next.kind === 'text' && next.src.startsWith('\n')) {
          next.src = next.src.slice(1);
          count('commentNewline');
        }
      } else if (p.kind === 'var' || p.kind === 'block') {
        let src = p.src;
        for (const ns of namespaces) src = mapCode(src, (code) => code.replace(new RegExp(`\\b${ns}\\.(\\w+)\\(`, 'g'), '$1('));
        if (collections.size && /^\{%-?\s*(if|elif)\s/.test(src)) {
          const next = mapCode(src, (code) =>
            code.replace(/^(\{%-?\s*(?:if|elif)\s+)(\w+)(\s*-?%\})$/, (all, a, name, b) => (collections.has(name) ? `${a}(${name} | length)${b}` : all)),
          );
          if (next !== src) count('collectionTruth');
          src = next;
        }
        for (const [n, t] of used) {
          if (!t.code) continue;
          const next = mapCode(src, t.code);
          if (next !== src) count(n);
          src = next;
        }
        text += src;
      } else if (p.kind === 'raw') {
        let { open, body, close } = p;
        for (const [n, t] of used) {
          if (t.afterRaw === 'open' && !/-%\}$/.test(open) && body.startsWith('\n')) {
            body = body.slice(1);
            count(n);
          }
          const next = parts[k + 1];
          if (t.afterRaw === 'close' && !/-%\}$/.test(close) && next && next.kind === 'text' && next.src.startsWith('\n')) {
            next.src = next.src.slice(1);
            count(n);
          }
        }
        text += open + body + close;
      } else text += p.src;
    }
    cache.set(name, text);
    return text;
  }
  const out = {};
  for (const name of Object.keys(templates)) out[name] = port(name, []);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers the templates use that Nunjucks / Nunjitsu lack, with minijinja's behaviour.

/** minijinja's `split` as the templates use it: by a separator, or on runs of whitespace. */
function split(s, sep) {
  if (arguments.length > 2) throw new Error('split: maxsplit is not ported');
  s = String(s);
  return sep === undefined || sep === null ? s.split(/\s+/).filter((x) => x !== '') : s.split(sep);
}

/** minijinja's `items`: [key, value] pairs of a mapping. */
const items = (obj) => (obj instanceof Map ? [...obj.entries()] : Object.entries(obj ?? {}));

/** Jinja's `dict(mapping, key=value, …)`; Nunjucks passes keyword arguments as a last object. */
function dict(...args) {
  const out = {};
  for (const arg of args) {
    if (arg && typeof arg === 'object') {
      for (const [k, v] of arg instanceof Map ? arg.entries() : Object.entries(arg)) {
        if (k !== '__keywords') out[k] = v;
      }
    }
  }
  return out;
}

const helperFilters = { ...svcgenFilters, split, items };
const helperTests = {
  startingwith: (s, prefix) => String(s).startsWith(prefix),
  endingwith: (s, suffix) => String(s).endsWith(suffix),
};
const helperGlobals = { dict };

module.exports = { tokenize, portTemplates, ENGINE_TRANSLATIONS, helperFilters, helperTests, helperGlobals };
