/**
 * A real redis-server of the test's own, on a free loopback port, so a test can kill it (a fault) and
 * start it again on the same port (recovery). Nothing is persisted. Needs Debian's `redis-server`
 * (README "System packages"; `.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.ts';

export interface TestRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** SIGKILL: the connections drop at once, as when a Redis host dies. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is answered, as when a Redis host hangs. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts it again on the same port (empty: nothing was persisted). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => end('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async restart() {
      await end('SIGKILL');
      child = await launch(port);
    },
    stop: async () => {
      child?.kill('SIGCONT'); // a paused server would never see the SIGTERM
      await end('SIGTERM');
    },
  };
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let poll: NodeJS.Timeout | undefined;
    const finish = (error?: Error): void => {
      clearInterval(poll);
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onExit = (code: number | null): void => finish(new Error(`redis-server on ${port} exited with ${code}: ${output}`));
    const timer = setTimeout(() => finish(new Error(`redis-server on ${port} did not start: ${output}`)), 10_000);
    child.once('error', (error) => finish(new Error(`cannot run redis-server (apt-get install redis-server): ${error.message}`)));
    child.once('exit', onExit);
    // Ready once it accepts a connection (a probe that binds instead could steal the port from it).
    poll = setInterval(() => {
      const probe = connect(port, '127.0.0.1');
      probe.once('error', () => probe.destroy());
      probe.once('connect', () => {
        probe.destroy();
        finish();
      });
    }, 20);
  });
  return child;
}
