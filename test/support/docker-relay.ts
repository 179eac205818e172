/**
 * A pausable relay in front of the real Docker socket, to wedge "the engine" for one agent
 * without touching the dockerd every other test and process shares. It listens on a unix
 * socket of its own and copies bytes both ways to `/var/run/docker.sock`.
 *
 * `pause()` holds everything as a hung engine would: bytes already on their way are kept,
 * nothing more is read from either side, and a new connection is accepted but not connected
 * onwards. `resume()` lets it all flow again, held connections included. `stop()` closes every
 * connection and the socket.
 */
import { rmSync } from 'fs';
import { connect, createServer, type Server, type Socket } from 'net';

export interface DockerRelay {
  /** The relay's socket, for an agent's `dockerSocket`. */
  readonly path: string;
  pause(): void;
  resume(): void;
  /** Connections accepted so far (each is a request or a long-lived stream of a client). */
  readonly connections: number;
  stop(): Promise<void>;
}

export async function startDockerRelay(path: string, upstream = '/var/run/docker.sock'): Promise<DockerRelay> {
  let paused = false;
  let connections = 0;
  const sockets = new Set<Socket>();
  /** Accepted while paused: connected onwards on resume. */
  const held: Socket[] = [];

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  /** Copies `from` into `to`, reading no more while paused or while `to` is full. */
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk) || paused) from.pause();
    });
    to.on('drain', () => { if (!paused) from.resume(); });
    from.on('end', () => to.end());
    from.on('close', () => to.destroy());
  };
  const forward = (client: Socket): void => {
    const engine = connect(upstream);
    track(engine);
    pipe(client, engine);
    pipe(engine, client);
    if (paused) { client.pause(); engine.pause(); }
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    connections++;
    track(client);
    if (paused) held.push(client);
    else { forward(client); client.resume(); }
  });
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, resolve); });

  return {
    path,
    get connections() { return connections; },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const client of held.splice(0)) forward(client);
      for (const s of sockets) s.resume();
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(path, { force: true });
    },
  };
}
