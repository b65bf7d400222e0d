/**
 * Escaping for GitHub-flavoured Markdown: every trace-derived string is escaped for where it
 * lands. Prose and table cells get backslash escapes (no HTML entities: the text reads the same
 * pasted as plain text), inline code and fenced blocks a fence longer than any backtick run
 * inside them.
 */

/**
 * Escapes trace-derived text for Markdown prose and table cells. Markdown punctuation that could
 * start emphasis, links, code or a table column is backslash-escaped; so is `<` where it could
 * open an HTML tag or an autolink (before a letter, `/`, `!` or `?`) and `&` where it could start
 * an entity, so no HTML gets through; "<1%" stays as it is. Line breaks become `<br>` (a table
 * row stays one row).
 */
export function mdText(s: unknown): string {
  const str = s === undefined || s === null ? '' : String(s);
  return str
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/&(?=[A-Za-z#])/g, '\\&')
    .replace(/\r\n|\r|\n/g, '<br>');
}

/** mdText for text that starts a line: a leading list marker, quote, setext underline or ordered-list number is escaped too. */
export function mdLine(s: unknown): string {
  return mdText(s)
    .replace(/^(\s*)([-+=>])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/** Inline code for any text: a fence longer than the longest backtick run inside, newlines flattened; `|` escaped when in a table. */
export function mdCode(s: unknown, inTable = false): string {
  let str = (s === undefined || s === null ? '' : String(s)).replace(/\r\n|\r|\n/g, ' ');
  if (inTable) str = str.replace(/\|/g, '\\|');
  if (str === '') return '';
  const longest = Math.max(0, ...(str.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = str.startsWith('`') || str.endsWith('`') || (str.startsWith(' ') && str.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${str}${pad}${fence}`;
}

/** A fenced code block whose fence cannot be closed by the content. */
export function mdFence(body: string, lang = ''): string {
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body.replace(/\r\n|\r/g, '\n')}\n${fence}`;
}

export function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}
