/**
 * A real nats-server started by `startNatsServer`: it is ready only when it says so, so a port
 * another process holds is an error naming the bind, never a server that seems to listen
 * (a connection to the port would reach the other process while nats-server exits).
 */
import { createServer, type Server } from 'net';
import { connect } from 'nats';
import { freePort, startNatsServer } from './nats-server';

let squatter: Server | undefined;
afterEach(() => { squatter?.close(); squatter = undefined; });

it('refuses a port another process listens on, with nats-server\'s own words', async () => {
  const port = await freePort();
  squatter = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => squatter!.listen(port, '127.0.0.1', resolve));
  await expect(startNatsServer({ port, jetstream: false })).rejects.toThrow(/exited .* before listening on \d+: .*address already in use/s);
});

it('serves clients once it resolves', async () => {
  const nats = await startNatsServer({ jetstream: false });
  try {
    const nc = await connect({ servers: nats.url });
    expect(nc.info?.port).toBe(nats.port);
    await nc.close();
  } finally {
    await nats.stop();
  }
});
