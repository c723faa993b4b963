#!/usr/bin/env node
// Tokenizes every golden script (and the lessons and examples) with the VS Code grammar
// (editors/vscode/syntaxes/perturb.tmLanguage.json) through vscode-textmate + vscode-oniguruma,
// as VS Code does, and checks each token's scope against an independent lexer that follows the
// lexer rules of grammar/Perturb.g4: keywords, declarations (threat/attack/policy/schedule NAME),
// strings, numbers, comments and builtin names. Also checks that every keyword of the grammar is
// highlighted as a keyword.
//
// usage: node test_highlight.js REPO_ROOT
'use strict';
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const root = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const grammarPath = path.join(root, 'editors/vscode/syntaxes/perturb.tmLanguage.json');

function grammarKeywords() {
  const text = fs.readFileSync(path.join(root, 'grammar/Perturb.g4'), 'utf8');
  const words = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)\s*:\s*'([a-z_]+)'\s*;/.exec(line);
    if (m) words.push(m[2]);
  }
  return words;
}

function findScripts() {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ptb')) out.push(p);
    }
  };
  walk(path.join(root, 'tests/golden'));
  walk(path.join(root, 'docs/lessons'));
  walk(path.join(root, 'examples'));
  walk(path.join(root, 'stdlib'));
  return out.sort();
}

const DECLARATIONS = ['threat', 'attack', 'policy', 'schedule'];

// An independent lexer after grammar/Perturb.g4: yields {line, col, text, type} with type one of
// comment, string, number, keyword, ident, other. `prev` links each token to the one before.
function lex(lines, keywords) {
  const tokens = [];
  const kw = new Set(keywords);
  lines.forEach((line, ln) => {
    let i = 0;
    while (i < line.length) {
      const c = line[i];
      const rest = line.slice(i);
      let m;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f') { i++; continue; }
      if (c === '#') { tokens.push({ line: ln, col: i, text: rest, type: 'comment' }); break; }
      if (c === '"') {
        m = /^"(?:\\.|[^"\\])*"?/.exec(rest);
        tokens.push({ line: ln, col: i, text: m[0], type: 'string' });
        i += m[0].length; continue;
      }
      if ((m = /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(rest))) {
        tokens.push({ line: ln, col: i, text: m[0], type: 'number' });
        i += m[0].length; continue;
      }
      if ((m = /^[a-zA-Z_][a-zA-Z_0-9]*/.exec(rest))) {
        tokens.push({ line: ln, col: i, text: m[0], type: kw.has(m[0]) ? 'keyword' : 'ident' });
        i += m[0].length; continue;
      }
      m = /^(?:\.\.|>>|\*\*|==|!=|<=|>=|.)/.exec(rest);
      tokens.push({ line: ln, col: i, text: m[0], type: 'other' });
      i += m[0].length;
    }
  });
  for (let k = 0; k < tokens.length; k++) {
    tokens[k].prev = k > 0 ? tokens[k - 1] : null;
    tokens[k].next = k + 1 < tokens.length ? tokens[k + 1] : null;
  }
  return tokens;
}

const KEYWORD_SCOPE = /^(keyword\.|storage\.type\.|constant\.language\.)/;

// The scope a token must carry (a regex over its scope names), or null when anything goes.
function expectedScope(t, builtins) {
  switch (t.type) {
    case 'comment': return /^comment\.line\.number-sign\.perturb$/;
    case 'string': return /^string\.quoted\.double\.perturb$/;
    case 'number': return /^constant\.numeric\.perturb$/;
    case 'keyword':
      if (DECLARATIONS.includes(t.text)) return /^storage\.type\.declaration\.perturb$/;
      return KEYWORD_SCOPE;
    case 'ident': {
      const prev = t.prev && t.prev.line === t.line ? t.prev : null;
      const next = t.next && t.next.line === t.line ? t.next : null;
      if (prev && prev.type === 'keyword' && DECLARATIONS.includes(prev.text)) {
        return /^entity\.name\.declaration\.perturb$/;
      }
      if (prev && prev.text === 'fn') return /^entity\.name\.function\.perturb$/;
      const afterDot = prev && prev.text === '.' && prev.col + 1 === t.col;
      if (builtins.has(t.text) && !afterDot && !(next && next.text === ':')) {
        return /^support\.function\.builtin\.perturb$/;
      }
      return 'not-keyword';
    }
    default: return null;
  }
}

async function main() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.perturb') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar('source.perturb');
  const raw = JSON.parse(fs.readFileSync(grammarPath, 'utf8'));
  const builtins = new Set(/\(\?:([^)]*)\)/.exec(raw.repository.builtin.match)[1].split('|'));
  const keywords = grammarKeywords();
  const failures = [];
  const counts = { comment: 0, string: 0, number: 0, keyword: 0, declaration: 0, builtin: 0 };
  const seenKeywords = new Set();

  const tokenize = (lines) => {
    let stack = vsctm.INITIAL;
    return lines.map((line) => {
      const r = grammar.tokenizeLine(line, stack);
      stack = r.ruleStack;
      return r.tokens;
    });
  };
  const scopesAt = (lineTokens, col) => {
    const tok = lineTokens.find((x) => x.startIndex <= col && col < x.endIndex);
    return tok ? tok.scopes : [];
  };

  // 1. Every keyword of the grammar is highlighted as a keyword, alone and in context.
  for (const word of keywords) {
    for (const line of [word, `${word} x`, `(${word})`]) {
      const [toks] = tokenize([line]);
      const scopes = scopesAt(toks, line.indexOf(word));
      if (!scopes.some((s) => KEYWORD_SCOPE.test(s))) {
        failures.push(`keyword '${word}' in ${JSON.stringify(line)} has scopes ${scopes.join(' ')}`);
      }
    }
    // ...but not inside a longer name.
    const [toks] = tokenize([`${word}_x = ${word}2`]);
    for (const col of [0, word.length + 5]) {
      const scopes = scopesAt(toks, col);
      if (scopes.some((s) => KEYWORD_SCOPE.test(s))) {
        failures.push(`'${word}' inside a longer name is highlighted as a keyword`);
      }
    }
  }

  // 2. Every script, token by token.
  const scripts = findScripts();
  for (const file of scripts) {
    const bytes = fs.readFileSync(file);
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (e) {
      continue;  // a script that is deliberately not UTF-8 (binary garbage) has no highlighting
    }
    const lines = text.split('\n');
    const tmTokens = tokenize(lines);
    for (const t of lex(lines, keywords)) {
      const want = expectedScope(t, builtins);
      if (!want) continue;
      const scopes = scopesAt(tmTokens[t.line], t.col);
      const where = `${path.relative(root, file)}:${t.line + 1}:${t.col + 1}`;
      if (want === 'not-keyword') {
        if (scopes.some((s) => KEYWORD_SCOPE.test(s))) {
          failures.push(`${where}: name '${t.text}' highlighted as a keyword (${scopes.join(' ')})`);
        }
        continue;
      }
      // A comment's or string's whole text carries the scope, not only its first character.
      const cols = t.type === 'comment' || t.type === 'string' ? [t.col, t.col + t.text.length - 1] : [t.col];
      for (const col of cols) {
        const s = scopesAt(tmTokens[t.line], col);
        if (!s.some((x) => want.test(x))) {
          failures.push(`${where}: ${t.type} ${JSON.stringify(t.text.slice(0, 30))} expected ${want} at column ${col + 1}, got ${s.join(' ')}`);
          break;
        }
      }
      if (t.type === 'keyword') seenKeywords.add(t.text);
      if (String(want) === String(/^entity\.name\.declaration\.perturb$/)) counts.declaration++;
      else if (String(want) === String(/^support\.function\.builtin\.perturb$/)) counts.builtin++;
      else counts[t.type]++;
    }
  }
  console.log(`tokenized ${scripts.length} scripts: ${counts.keyword} keywords, ` +
              `${counts.declaration} declarations, ${counts.builtin} builtin names, ` +
              `${counts.string} strings, ${counts.number} numbers, ${counts.comment} comments`);
  const unused = keywords.filter((k) => !seenKeywords.has(k));
  if (unused.length) console.log(`keywords no script uses (checked on their own above): ${unused.join(' ')}`);
  if (failures.length) {
    console.log(`FAIL: ${failures.length} tokens highlighted wrongly`);
    for (const f of failures.slice(0, 40)) console.log('  ' + f);
    process.exit(1);
  }
  for (const [k, n] of Object.entries(counts)) {
    if (n === 0) { console.log(`FAIL: no ${k} seen in any script`); process.exit(1); }
  }
  console.log('ok highlighting');
}

main().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
