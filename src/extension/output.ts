/**
 * Where the traced service's output goes while it runs: a Pseudoterminal (default) or the
 * "Shutdown Trace" output channel. Both are fed through RunOptions.echo by small Writables.
 */
import * as vscode from 'vscode';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface OutputSink extends vscode.Disposable {
  /** Streams handed to RunOptions.echo. */
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** A line from the tool itself (header, footer, notes), shown dimmed where possible. */
  note(text: string): void;
  show(preserveFocus: boolean): void;
  /** The run ended: the sink stays readable but no longer forwards input. */
  finished(): void;
  /** True once the user closed it (a closed terminal is not reused). */
  readonly closed: boolean;
}

function decodingWritable(onText: (s: string) => void): Writable {
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      try {
        onText(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      } catch {
        // the view is gone; output is still in the trace
      }
      cb();
    },
    final(cb) {
      const rest = decoder.end();
      if (rest) onText(rest);
      cb();
    },
  });
}

/** A Pseudoterminal named "Shutdown Trace: <cmd>". Ctrl+C in it sends SIGINT to the process group, like a real terminal. */
export class TerminalSink implements OutputSink {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly terminal: vscode.Terminal;
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  private opened = false;
  private pending: string[] = [];
  private pendingBytes = 0;
  private done = false;
  private _closed = false;

  constructor(
    name: string,
    private readonly onInterrupt: () => void,
  ) {
    const pty: vscode.Pseudoterminal = {
      onDidWrite: this.writeEmitter.event,
      onDidClose: this.closeEmitter.event,
      open: () => {
        this.opened = true;
        for (const s of this.pending) this.writeEmitter.fire(s);
        this.pending = [];
        this.pendingBytes = 0;
      },
      close: () => {
        this._closed = true;
      },
      handleInput: (data: string) => {
        if (this.done) {
          this.closeEmitter.fire();
          return;
        }
        if (data === '\x03') {
          this.write('^C\r\n');
          this.onInterrupt();
        }
      },
    };
    this.terminal = vscode.window.createTerminal({ name, pty, iconPath: new vscode.ThemeIcon('debug-stop') });
    this.stdout = decodingWritable((s) => this.write(s));
    this.stderr = decodingWritable((s) => this.write(s));
  }

  get closed(): boolean {
    return this._closed;
  }

  private write(text: string): void {
    if (this._closed || !text) return;
    const s = text.replace(/\r?\n/g, '\r\n');
    if (this.opened) {
      this.writeEmitter.fire(s);
    } else if (this.pendingBytes < 4 * 1024 * 1024) {
      this.pending.push(s);
      this.pendingBytes += s.length;
    }
  }

  note(text: string): void {
    this.write(`\x1b[2m${text}\x1b[0m\n`);
  }

  show(preserveFocus: boolean): void {
    this.terminal.show(preserveFocus);
  }

  finished(): void {
    this.done = true;
    this.note('Press any key to close this terminal.');
  }

  dispose(): void {
    this._closed = true;
    this.terminal.dispose();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}

/** The shared "Shutdown Trace" output channel. Disposing the sink leaves the channel alone. */
export class ChannelSink implements OutputSink {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly closed = false;

  constructor(private readonly channel: vscode.OutputChannel) {
    this.stdout = decodingWritable((s) => channel.append(s));
    this.stderr = decodingWritable((s) => channel.append(s));
  }

  note(text: string): void {
    this.channel.appendLine(text);
  }

  show(preserveFocus: boolean): void {
    this.channel.show(preserveFocus);
  }

  finished(): void {}

  dispose(): void {}
}
