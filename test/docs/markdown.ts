// Just enough of CommonMark to check the docs: fenced code blocks with their info
// strings, indented code blocks (which carry no info string, so the docs fence every
// block), headings as GitHub anchors, links, and the text outside code.

export interface FencedBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The info string after the fence, trimmed: `sh`, `sh no-run: reason`, `ts`, ... */
  readonly info: string;
  readonly body: string;
}

export interface Markdown {
  readonly fenced: FencedBlock[];
  /** 1-based lines where an indented code block starts. */
  readonly indented: number[];
  /** GitHub's anchor of every heading, duplicates numbered as GitHub numbers them. */
  readonly anchors: Set<string>;
  /** Everything outside code blocks, line for line (code block lines left empty). */
  readonly prose: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s/;

export function parseMarkdown(text: string): Markdown {
  const fenced: FencedBlock[] = [];
  const indented: number[] = [];
  const prose: string[] = [];
  const slugs = new GitHubSlugs();
  const anchors = new Set<string>();
  let fence: { marker: string; info: string; line: number; body: string[] } | undefined;
  let inIndentedBlock = false;
  let inList = false;
  let previous = '';
  for (const [i, line] of text.split('\n').entries()) {
    const wasBlank = previous.trim() === '';
    previous = line;
    if (fence) {
      if (isClosingFence(line, fence.marker)) {
        fenced.push({ line: fence.line, info: fence.info, body: fence.body.join('\n') });
        fence = undefined;
      } else fence.body.push(line);
      prose.push('');
      continue;
    }
    const open = FENCE.exec(line);
    if (open) {
      fence = { marker: open[1] ?? '', info: (open[2] ?? '').trim(), line: i + 1, body: [] };
      prose.push('');
      continue;
    }
    const indentedLine = /^( {4}|\t)/.test(line);
    if (inIndentedBlock && (indentedLine || line.trim() === '')) {
      prose.push('');
      continue;
    }
    inIndentedBlock = indentedLine && line.trim() !== '' && wasBlank && !inList;
    if (inIndentedBlock) {
      indented.push(i + 1);
      prose.push('');
      continue;
    }
    // A line indented after a list item (and a blank line) continues that item.
    if (LIST_ITEM.test(line)) inList = true;
    else if (line.trim() !== '' && !/^\s/.test(line)) inList = false;
    const heading = HEADING.exec(line);
    if (heading) anchors.add(slugs.slug(heading[1] ?? ''));
    prose.push(line);
  }
  return { fenced, indented, anchors, prose: prose.join('\n') };
}

function isClosingFence(line: string, marker: string): boolean {
  const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)?.[1];
  return close !== undefined && close[0] === marker[0] && close.length >= marker.length;
}

/** github-slugger's rule: lower case, markup and punctuation dropped, spaces to hyphens. */
class GitHubSlugs {
  readonly #seen = new Map<string, number>();

  slug(heading: string): string {
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text stays, its target goes
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = this.#seen.get(text) ?? 0;
    this.#seen.set(text, count + 1);
    return count === 0 ? text : `${text}-${count}`;
  }
}

/** The code spans of some prose: `like this`, ``or this``. */
export function codeSpans(prose: string): string[] {
  return [...prose.matchAll(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g)].map((m) => (m[2] ?? '').trim());
}

/** Links and images of some prose, code spans left out: [text](target) and ![alt](target). */
export function linkTargets(prose: string): string[] {
  const withoutCode = prose.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, '');
  return [...withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
}
