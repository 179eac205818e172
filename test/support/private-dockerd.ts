/**
 * A Docker engine of a test's own: a second `dockerd` with its own data root, exec root, socket
 * and bridge, over a containerd of its own that runs apart from it (as on a host with separate
 * units), so a test can stop, kill and restart "the engine" without touching the dockerd every
 * other test shares. It runs with `--live-restore`, as a
 * production engine should: containers run on while the engine is away, and it takes them back.
 *
 * Its bridge is made here (`ip link add … type bridge`, a /24 in 10.250.0.0/16 no interface
 * has), with no iptables rules and no masquerade: containers reach nothing outside it, and
 * tests reach them only through ports published on 127.0.0.1. The test image is copied in from
 * the shared engine (`docker save` into `docker load`), as no registry is reachable.
 *
 * `halt()` stops dockerd alone; containerd and the containers run on. `stop()` removes every
 * container (a few at a time: Debian's 20.10 wedges when many go at once), stops dockerd and
 * containerd, unmounts and deletes its directory and the bridge.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import Docker from 'dockerode';
import { mapLimited } from '../../common/limit';

export interface PrivateDockerd {
  readonly socket: string;
  readonly pid: number;
  /** The engine's own client. */
  readonly client: Docker;
  /** SIGTERM (or `signal`), and wait for it to exit: containers run on (live-restore). */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same directories and socket, and waits until it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const SHARED_SOCKET = '/var/run/docker.sock';

function freeSubnet(): number {
  const used = execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' });
  for (let k = process.pid % 200; k < process.pid % 200 + 250; k++) {
    const third = k % 250;
    if (!used.includes(`10.250.${third}.`)) return third;
  }
  throw new Error('no free /24 in 10.250.0.0/16 for a private Docker bridge');
}

/** The end of its log, for an error that says why it did not come up. */
function logTail(log: string): string {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}

async function answers(client: Docker, timeoutMs: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}) before it answered; its log ends:\n${logTail(log)}`);
    if (await client.ping().then(() => true, () => false)) return;
    if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** containerd's config: its own root, state and socket in `dir`, no CRI plugin, no debug or metrics listener. */
function containerdConfig(dir: string): string {
  return [
    'version = 2', `root = "${join(dir, 'containerd', 'root')}"`, `state = "${join(dir, 'containerd', 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = "${join(dir, 'containerd', 'containerd.sock')}"`, '[debug]', '  address = ""', '[metrics]', '  address = ""', '',
  ].join('\n');
}

/** Waits (bounded) until a unix socket exists. */
async function socketAppears(path: string, child: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`containerd exited before it listened; its log ends:\n${logTail(log)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`containerd did not listen on ${path} within 10 s; its log ends:\n${logTail(log)}`);
}

/** Starts an engine in `dir` (kept short: containerd's socket lives under it) with `image` copied in. */
export async function startPrivateDockerd(dir: string, image: string): Promise<PrivateDockerd> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const bridge = `agd${process.pid % 100000}`;
  const third = freeSubnet();
  // One left by a run of the same pid that never stopped is stale.
  try { execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' }); } catch { /* none: as it should be */ }
  execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `10.250.${third}.1/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  // containerd runs on its own, as its own unit does on a host: a dockerd that stops or crashes
  // leaves it, so a container that exits meanwhile still has its exit status recorded. (A
  // containerd that dockerd starts itself stops with it, and dockerd then reports such a
  // container exited with 255.)
  mkdirSync(join(dir, 'containerd'), { recursive: true });
  writeFileSync(join(dir, 'containerd', 'config.toml'), containerdConfig(dir));
  const containerdLog = join(dir, 'containerd.log');
  const containerdFd = openSync(containerdLog, 'a');
  const containerd = spawn('containerd', ['--config', join(dir, 'containerd', 'config.toml')], { stdio: ['ignore', containerdFd, containerdFd], detached: true });
  closeSync(containerdFd);
  const containerdSocket = join(dir, 'containerd', 'containerd.sock');
  const args = [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '--containerd', containerdSocket,
    '-H', `unix://${socket}`, '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--live-restore',
  ];
  const client = new Docker({ socketPath: socket });
  const log = join(dir, 'dockerd.log');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const fd = openSync(log, 'a');
    child = spawn('dockerd', args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    await answers(client, 60_000, child, log);
  };
  const halt = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill(signal); });
  };
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const all = await client.listContainers({ all: true }).catch(() => []);
      await mapLimited(all, 4, (c) => client.getContainer(c.Id).remove({ force: true }).catch(() => undefined));
      await halt();
    }
    if (containerd.exitCode === null && containerd.signalCode === null) {
      await new Promise<void>((resolve) => { containerd.once('exit', () => resolve()); containerd.kill('SIGTERM'); });
    }
    // dockerd bind-mounts its data root onto itself; what it left mounted goes first.
    const mounts = execFileSync('sh', ['-c', `awk '{print $2}' /proc/self/mounts | grep '^${dir}/' || true`], { encoding: 'utf8' });
    for (const m of mounts.split('\n').filter(Boolean).sort().reverse()) {
      try { execFileSync('umount', ['-l', m]); } catch { /* gone already */ }
    }
    rmSync(dir, { recursive: true, force: true });
    try { execFileSync('ip', ['link', 'del', bridge]); } catch { /* gone already */ }
  };

  try {
    await socketAppears(containerdSocket, containerd, containerdLog);
    await start();
    const saved = await new Docker({ socketPath: SHARED_SOCKET }).getImage(image).get();
    const loading = await client.loadImage(saved);
    await new Promise<void>((resolve, reject) => client.modem.followProgress(loading, (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    socket, client, halt, start, stop,
    get pid() { return child?.pid ?? 0; },
  };
}
