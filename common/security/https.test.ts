/**
 * closeDoorServer: a stopped door serves nobody, whatever state a connection was in at the
 * stop, over HTTPS too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { Agent, request } from 'https';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { closeDoorServer, createDoorServer } from './https';
import { CA_CERT, ensureCa, issueCert, SERVER_CERT, SERVER_KEY } from './pki';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-https-'));
  ensureCa(dir);
  issueCert(dir, ['localhost']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One GET over `agent`: 'answered' or 'refused'. */
function get(port: number, agent: Agent): Promise<'answered' | 'refused'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve('answered'));
    });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

it('a connection still in its TLS handshake when the server stops is cut, not served by the stopped server for as long as its client keeps it busy', async () => {
  const ca = readFileSync(join(dir, CA_CERT));
  const server = createDoorServer((_req, res) => res.end('{}'), { ca, cert: readFileSync(join(dir, SERVER_CERT)), key: readFileSync(join(dir, SERVER_KEY)) });
  let stopped = false;
  // Accepted over TCP, its handshake not yet done: the moment Node's closeAllConnections misses.
  server.once('connection', () => { void closeDoorServer(server).then(() => { stopped = true; }); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, ca });
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push(await get(port, agent));
    await new Promise((r) => setTimeout(r, 50));
  }
  agent.destroy();
  expect({ answers, stopped }).toEqual({ answers: ['refused', 'refused', 'refused', 'refused', 'refused'], stopped: true });
});
