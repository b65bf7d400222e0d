/**
 * Files each output line under the pid that wrote it. The launcher reads the main process's
 * pipes; processes that inherited them (cluster workers, forks) report each write's first
 * characters over the socket. A line and its report can arrive in either order, so both wait
 * briefly for each other; a line nobody reported stays with the main process.
 *
 * When stdout and stderr are one terminal, every line is read from it as stdout, and every
 * process (the main one too) reports its writes: a report then also says the line's stream.
 */
import type { OutputLine } from '../shared/trace';

interface Report {
  pid: number;
  t: number;
  stream: 'stdout' | 'stderr';
  /** The report's text not yet matched to lines. */
  rest: string;
}

const WINDOW_MS = 3000;
const MAX_PENDING = 2000;

export class OutputAttribution {
  private reports: Report[] = [];
  private recent: OutputLine[] = [];
  private claimed = new WeakSet<OutputLine>();

  streamsShared = false;

  constructor(private readonly mainPid: () => number) {}

  /** A write reported by `pid`: re-file lines already read, keep the rest for lines to come. */
  report(pid: number, t: number, stream: 'stdout' | 'stderr', text: string): void {
    const r: Report = { pid, t, stream, rest: text };
    this.prune(t);
    for (const line of this.recent) {
      if (!r.rest) break;
      if (line.pid === this.mainPid() && (this.streamsShared || line.stream === stream) && !this.claimed.has(line)) this.claim(r, line);
    }
    if (r.rest && this.reports.length < MAX_PENDING) this.reports.push(r);
  }

  /** A line read from the main process's pipe. */
  line(line: OutputLine): void {
    this.prune(line.t);
    for (const r of this.reports) {
      if ((this.streamsShared || r.stream === line.stream) && r.rest && this.claim(r, line)) break;
    }
    this.reports = this.reports.filter((r) => r.rest);
    this.recent.push(line);
    if (this.recent.length > MAX_PENDING) this.recent.splice(0, this.recent.length - MAX_PENDING);
  }

  private claim(r: Report, line: OutputLine): boolean {
    const nl = r.rest.indexOf('\n');
    const head = nl === -1 ? r.rest : r.rest.slice(0, nl);
    const text = line.text;
    // The report's text is cut at a fixed length: a head without its newline is a prefix.
    const match = nl === -1 ? head.length > 0 && text.startsWith(head) : text === head.replace(/\r$/, '');
    if (!match) return false;
    line.pid = r.pid;
    line.stream = r.stream;
    this.claimed.add(line);
    r.rest = nl === -1 ? '' : r.rest.slice(nl + 1);
    return true;
  }

  private prune(now: number): void {
    if (this.reports.length) this.reports = this.reports.filter((r) => r.rest && now - r.t < WINDOW_MS);
    while (this.recent.length && now - this.recent[0].t > WINDOW_MS) this.recent.shift();
  }
}
