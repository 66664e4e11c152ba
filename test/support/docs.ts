// Runs the examples of the documentation as docs/README.md describes them: the
// fenced blocks of each page in order, with placeholders (`tkt_…`) replaced by what
// the examples before them printed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './process.js';

/** The pages in reading order: the README first, then docs/README.md's list. */
export const PAGES = [
  'README.md',
  'docs/README.md',
  'docs/api.md',
  'docs/live-updates.md',
  'docs/side-effects.md',
  'docs/attachments.md',
  'docs/security.md',
  'docs/search-bulk-merge.md',
  'docs/operations.md',
];

export type Block = { page: string; line: number; lang: string; flags: string[]; text: string };

/** The fenced code blocks of a page; an indented fence (in a list item) loses its indent. */
export function blocksOf(page: string): Block[] {
  const lines = fs.readFileSync(path.join(root, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !new RegExp(`^ *${fence}\\s*$`).test(lines[i]!); i++) {
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    }
    if (i >= lines.length) throw new Error(`${page}:${start + 1}: the code block is not closed`);
    blocks.push({ page, line: start + 1, lang, flags, text: body.join('\n') });
  }
  return blocks;
}

// What examples print and later ones refer to. Of each kind, the first one in an
// answer is the one "returned" (createTicket's ticket comes before its customer).
const RECORDED: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/\b(team|agt|cus|tkt|msg|key|whe|whd|evt|att|bulk)_[0-9A-Za-z]{22}\b/g, (m) => m[1]!],
  [/\bsk_live_[0-9A-Za-z]{32}\b/g, () => 'sk_live'],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, () => 'eyJ'],
  [/\bwhsec_[A-Za-z0-9+/]{32}/g, () => 'whsec'],
];
// `tkt_…-1` is the value of the kind returned before the latest one (merging two tickets).
const PLACEHOLDER = /\b(sk_test|sk_live|whsec|team|agt|cus|tkt|msg|key|whe|whd|evt|att|bulk)_…(-1)?|\beyJ…/g;

const squash = (s: string) => s.replace(/\s+/g, '');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `actual` is `sample` with each `…` standing for anything; whitespace does not count. */
export function matchesSample(sample: string, actual: string): boolean {
  const pattern = squash(sample).split('…').map(escapeRegExp).join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(squash(actual));
}

/** Paths of the connections in a GraphQL answer that came back without a single edge. */
function emptyConnections(value: unknown, at = 'data'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => emptyConnections(v, `${at}.${i}`));
  if (!value || typeof value !== 'object') return [];
  const object = value as Record<string, unknown>;
  if (Array.isArray(object.edges) && object.edges.length === 0) return [at];
  return Object.entries(object).flatMap(([k, v]) => emptyConnections(v, `${at}.${k}`));
}

export type WalkOptions = {
  /** The server the examples' localhost:4000 stands for, until an example starts another. */
  base: string;
  devKey: string;
  /** Fixed values of the docs and what they stand for in the test (receivers, databases). */
  fixed: Array<[string, string]>;
  /** Where `sh` examples run, and with what environment. */
  cwd: string;
  env: NodeJS.ProcessEnv;
};

export class Walkthrough {
  private readonly latest = new Map<string, string>();
  private readonly previous = new Map<string, string>();
  private base: string;
  private readonly background: ChildProcess[] = [];
  /** What the last example printed, for a `text output` block right after it. */
  private lastOutput: { block: Block; text: string } | undefined;
  /** docs/examples files quoted by `js` blocks. */
  readonly quoted = new Set<string>();

  constructor(private readonly options: WalkOptions) {
    this.base = options.base;
  }

  /** The latest value of a kind (`tkt`, `whsec`, `eyJ`, …) an example printed. */
  value(kind: string): string {
    const value = this.latest.get(kind);
    if (!value) throw new Error(`no example printed a ${kind}_… value yet`);
    return value;
  }

  private fixedValues(text: string): string {
    let out = text;
    for (const [from, to] of this.options.fixed) out = out.replaceAll(from, to);
    return out.replaceAll('localhost:4000', new URL(this.base).host);
  }

  private substitute(block: Block): string {
    return this.fixedValues(block.text).replace(PLACEHOLDER, (match, prefix: string | undefined, before: string | undefined) => {
      if (prefix === 'sk_test') return this.options.devKey;
      const kind = prefix ?? 'eyJ';
      const value = (before ? this.previous : this.latest).get(kind);
      if (!value) throw new Error(`${where(block)}: ${match} stands for a value no example before it printed`);
      return value;
    });
  }

  private record(output: string) {
    for (const [re, kindOf] of RECORDED) {
      const seen = new Set<string>();
      for (const m of output.matchAll(re)) {
        const kind = kindOf(m);
        if (seen.has(kind)) continue;
        seen.add(kind);
        const latest = this.latest.get(kind);
        if (latest && latest !== m[0]) this.previous.set(kind, latest);
        this.latest.set(kind, m[0]);
      }
    }
  }

  async page(page: string): Promise<void> {
    for (const block of blocksOf(page)) await this.run(block);
  }

  async run(block: Block): Promise<void> {
    if (block.flags.includes('no-run')) return;
    const output = block.flags.includes('output');
    if (block.lang === 'text') {
      if (output) this.compare(block);
      return;
    }
    if (output) throw new Error(`${where(block)}: only text blocks are sample output`);
    this.lastOutput = undefined;
    if (block.lang === 'graphql') return this.graphql(block);
    if (block.lang === 'sh') return block.flags.includes('background') ? this.shInBackground(block) : this.sh(block);
    if (block.lang === 'js') return this.js(block);
    throw new Error(`${where(block)}: a \`${block.lang || '(no language)'}\` block cannot run; mark sample output as text, or a command as no-run`);
  }

  private compare(block: Block) {
    const last = this.lastOutput;
    if (!last) throw new Error(`${where(block)}: sample output, but the block before it printed nothing to compare with`);
    const sample = this.fixedValues(block.text);
    if (!matchesSample(sample, last.text)) {
      throw new Error(`${where(block)}: the output of ${where(last.block)} does not match the sample.\nSample:\n${sample}\nActual:\n${last.text}`);
    }
    this.lastOutput = undefined;
  }

  private expected(block: Block): string | undefined {
    return block.flags.find((f) => f.startsWith('expect='))?.slice('expect='.length);
  }

  private async graphql(block: Block) {
    const query = this.substitute(block);
    const named = /^#\s*Authorization:\s*(.+?)\s*$/.exec(query.split('\n')[0]!)?.[1];
    const authorization = named === undefined ? `Bearer ${this.options.devKey}` : /^none\b/i.test(named) ? undefined : named;
    const code = this.expected(block);
    // Side effects (webhook deliveries) show up a moment after the change that causes
    // them: an answer with an empty list is asked again, for a while.
    const until = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${this.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        body: JSON.stringify({ query }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }>; extensions?: unknown };
      const shown = JSON.stringify(body, null, 2);
      const fail = (why: string) => new Error(`${where(block)}: ${why}\n${query}\nanswer: ${shown}`);
      if (code) {
        if (!body.errors?.some((e) => e.extensions?.code === code)) throw fail(`expected an error with code ${code}`);
      } else {
        if (body.errors?.length || !body.data) throw fail('expected an answer without errors');
        const empty = emptyConnections(body.data);
        if (empty.length > 0) {
          if (Date.now() > until) throw fail(`an example should show something, but ${empty.join(', ')} came back empty`);
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
      }
      const { extensions: _extensions, ...answer } = body;
      this.record(shown);
      this.lastOutput = { block, text: JSON.stringify(answer, null, 2) };
      return;
    }
  }

  private spawnSh(script: string) {
    return spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: this.options.cwd,
      env: this.options.env,
      // Its own process group, so that stopping it stops what it started.
      detached: true,
    });
  }

  private async sh(block: Block) {
    const script = this.substitute(block);
    const child = this.spawnSh(script);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 180_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const fail = (why: string) => new Error(`${where(block)}: ${why}\n$ ${script}\nstdout: ${stdout}\nstderr: ${stderr}`);
    if (code !== 0) throw fail(`exited with ${code}`);
    const expected = this.expected(block);
    if (expected) {
      if (!stdout.includes(`"code":"${expected}"`)) throw fail(`expected an error with code ${expected}`);
    } else if (stdout.includes('"errors"')) {
      throw fail('printed GraphQL errors');
    }
    this.record(stdout);
    this.lastOutput = { block, text: stdout };
  }

  /**
   * Starts a server or a stream that keeps running while the examples after it run,
   * and waits for its first line (a server: for the first URL of its /graphql, which
   * the examples after it then use as localhost:4000).
   */
  private async shInBackground(block: Block) {
    const script = this.substitute(block);
    const child = this.spawnSh(script);
    this.background.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const server = /\bnpm start\b/.test(script);
    const ready = server
      ? () => /\b(http:\/\/[\w.:[\]-]+)\/graphql\b/.exec(stdout)?.[1]
      : () => stdout.split('\n').slice(0, -1).find((line) => line.trim() !== '' && !line.startsWith(':'));
    const until = Date.now() + 120_000;
    for (;;) {
      const found = ready();
      const fail = (why: string) => new Error(`${where(block)}: ${why}\n$ ${script}\nstdout: ${stdout}\nstderr: ${stderr}`);
      if (found) {
        if (found.includes('"errors"')) throw fail('printed GraphQL errors');
        if (server) this.base = found;
        return;
      }
      if (child.exitCode !== null) throw fail(`exited with ${child.exitCode} before printing anything`);
      if (Date.now() > until) throw fail('printed nothing within 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private js(block: Block) {
    const file = /^\/\/ (docs\/examples\/[\w.-]+\.mjs)\b/.exec(block.text)?.[1];
    if (!file) throw new Error(`${where(block)}: a js block quotes a file of docs/examples, named on its first line`);
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    if (text !== `${block.text}\n`) throw new Error(`${where(block)}: the block differs from ${file}; quote the file as it is`);
    this.quoted.add(file);
  }

  /** Stops what background examples started. */
  async stop(): Promise<void> {
    await Promise.all(
      this.background.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('close', resolve));
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

const where = (block: Block) => `${block.page}:${block.line}`;

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as dashes. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** Relative links of the pages whose file or heading does not exist. */
export function brokenLinks(pages: string[]): string[] {
  const broken: string[] = [];
  for (const page of pages) {
    const text = fs.readFileSync(path.join(root, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = file ? path.join(path.dirname(page), file) : page;
      if (!fs.existsSync(path.join(root, resolved))) {
        broken.push(`${page}: ${target}`);
        continue;
      }
      if (anchor === undefined) continue;
      const headings = fs.readFileSync(path.join(root, resolved), 'utf8').match(/^#+ .*$/gm) ?? [];
      if (!headings.some((h) => anchorOf(h.replace(/^#+ /, '')) === anchor)) broken.push(`${page}: ${target}`);
    }
  }
  return broken;
}
