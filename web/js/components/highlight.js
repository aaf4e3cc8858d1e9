// A small syntax colouring for the dashboard's own code snippets (Python, JavaScript/TypeScript,
// shell): comments, strings, keywords, numbers, shell commands and variables. It only splits
// text into `[kind, text]` pieces; the caller turns them into text nodes.

const KEYWORDS = {
  python: new Set(['import', 'from', 'as', 'def', 'return', 'with', 'for', 'in', 'if', 'else', 'elif', 'async', 'await', 'class', 'try', 'except', 'None', 'True', 'False', 'lambda', 'not', 'and', 'or', 'pass', 'raise', 'yield']),
  js: new Set(['import', 'from', 'export', 'const', 'let', 'var', 'function', 'return', 'await', 'async', 'new', 'if', 'else', 'for', 'of', 'in', 'try', 'catch', 'finally', 'throw', 'class', 'null', 'undefined', 'true', 'false', 'typeof']),
};
KEYWORDS.ts = KEYWORDS.js;

const LINE_COMMENT = { python: '#', sh: '#', js: '//', ts: '//' };
const QUOTES = { python: `'"`, sh: `'"`, js: `'"\``, ts: `'"\`` };

/** Splits `code` into `[kind, text]` pieces: kind is plain, comment, string, keyword, number, command or variable (shell has no numbers: they are mostly parts of URLs). */
export function highlight(code, language) {
  const lang = LINE_COMMENT[language] ? language : 'sh';
  const out = [];
  const push = (kind, text) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last[0] === kind) last[1] += text;
    else out.push([kind, text]);
  };
  let i = 0;
  let lineStart = true;
  while (i < code.length) {
    const c = code[i];
    const rest = code.slice(i);
    if (c === '\n') {
      push('plain', c);
      lineStart = true;
      i += 1;
      continue;
    }
    if (lineStart && (c === ' ' || c === '\t')) {
      push('plain', c);
      i += 1;
      continue;
    }
    const wasLineStart = lineStart;
    lineStart = false;
    if (rest.startsWith(LINE_COMMENT[lang]) && (lang !== 'sh' || wasLineStart || /\s/.test(code[i - 1] || ' '))) {
      const end = endOfLine(code, i);
      push('comment', code.slice(i, end));
      i = end;
    } else if (QUOTES[lang].includes(c)) {
      const end = endOfString(code, i, lang);
      push('string', code.slice(i, end));
      i = end;
    } else if (lang === 'sh' && c === '$' && /[A-Za-z_{]/.test(code[i + 1] || '')) {
      const m = /^\$(\{[^}\n]*\}|[A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
      push('variable', m[0]);
      i += m[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      const m = /^[A-Za-z_@][\w@/.-]*/.exec(rest);
      const word = lang === 'sh' ? m[0] : /^[A-Za-z_@]\w*/.exec(rest)[0];
      const kind = lang === 'sh' ? (wasLineStart ? 'command' : 'plain') : KEYWORDS[lang].has(word) ? 'keyword' : 'plain';
      push(kind, word);
      i += word.length;
    } else if (lang !== 'sh' && /[0-9]/.test(c) && !/[\w.]/.test(code[i - 1] || ' ')) {
      const m = /^[0-9][0-9_]*(\.[0-9]+)?/.exec(rest);
      push('number', m[0]);
      i += m[0].length;
    } else {
      push('plain', c);
      i += 1;
    }
  }
  return out;
}

function endOfLine(code, from) {
  const end = code.indexOf('\n', from);
  return end < 0 ? code.length : end;
}

/** Past the closing quote (escapes honoured); an unclosed string ends with its line (or, for `, the code). */
function endOfString(code, from, lang) {
  const quote = code[from];
  for (let i = from + 1; i < code.length; i += 1) {
    const c = code[i];
    if (c === '\\' && lang !== 'sh') i += 1;
    else if (c === quote) return i + 1;
    else if (c === '\n' && quote !== '`') return i;
  }
  return code.length;
}
