/**
 * A broker replica as its own process (`node --import tsx src/main.ts`), so that a fault
 * test can kill it for real (SIGKILL: no graceful shutdown) and read its RSS from /proc.
 * Its JSON log lines are kept and counted by level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export class Replica {
  private out = '';
  private lines: string[] = [];
  private readonly exited: Promise<number | null>;
  port = 0;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      this.out += c;
      const parts = this.out.split('\n');
      this.out = parts.pop()!;
      for (const line of parts) this.lines.push(line);
    });
    child.stderr!.on('data', (c) => { this.lines.push(String(c)); });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static async start(env: Record<string, string>): Promise<Replica> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      // RESILIENCE_NODE_OPTIONS: e.g. --heapsnapshot-signal=SIGUSR2, to look inside a replica.
      env: { PATH: process.env.PATH!, PORT: '0', LOG_LEVEL: 'info', NODE_OPTIONS: process.env.RESILIENCE_NODE_OPTIONS ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const replica = new Replica(child);
    for (let i = 0; i < 200 && !replica.port; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const line = replica.lines.find((l) => l.includes('realm-broker listening'));
      if (line) replica.port = JSON.parse(line).port;
      if (child.exitCode !== null) break;
    }
    if (!replica.port) {
      child.kill('SIGKILL');
      throw new Error(`replica did not start: ${replica.lines.join('\n').slice(0, 2000)}`);
    }
    return replica;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resident set size in MB, from the kernel (what an operator's dashboard shows). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  }

  /** Parsed log lines (JSON) since `from` (an index from `mark()`). */
  logs(from = 0): Record<string, any>[] {
    return this.lines.slice(from).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  }

  mark(): number {
    return this.lines.length;
  }

  /** Log lines since `from` that are not access-log lines, by level. */
  logLevels(from = 0): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const l of this.logs(from)) if (l.msg !== 'request') counts[l.level] = (counts[l.level] ?? 0) + 1;
    return counts;
  }

  /** The same lines by level and message ("warn upstream kc back"), with how often each came. */
  logMessages(from = 0): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const l of this.logs(from)) if (l.msg !== 'request') counts[`${l.level} ${l.msg}`] = (counts[`${l.level} ${l.msg}`] ?? 0) + 1;
    return counts;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
