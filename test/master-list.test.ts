/**
 * Clients given a list of masters (`AGORA_MASTER=m1,m2,m3`, `subscribe({ master })`) find the
 * leader through whichever of them answers. Three `agora master --ha` processes on one NATS and
 * one Redis; the first master of the list is stopped, the second is a standby, the third leads.
 * The CLI and an SDK framework reach the leader through the list; a standby that knows no
 * leader sends the client on to the next master; with nobody answering, the error says what
 * each master said. The framework survives a SIGKILL of the leader although the first master
 * it was given is down: it learned the standby's gRPC address from its /health.
 */
import { freePort, startNatsServer, stopChild, type NatsServer } from '../common/nats-server';
import { getJson, leadingMaster, masterAddress, MasterRequestError } from '../common/operator-client';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { logger } from '../common/log';
import { subscribe, type Scheduler } from '../frameworks/sdk';
import { startStandby, type StandbyHandle } from '../master/standby';
import { runAgora } from './support/binary';
import { eventually } from './support/cluster';
import { leaderOf, masterHealth, spawnHaMaster, type MasterProcess } from './support/ha-masters';
import { testSecurity, type TestSecurity } from './support/security';

jest.setTimeout(120_000);

let sec: TestSecurity;
let nats: NatsServer;
let redis: RedisServer;
let s: Scheduler | undefined;
let lost: StandbyHandle | undefined;
const masters: MasterProcess[] = [];

/** The three masters as the list names them: stopped first, then the standby, then the leader. */
let down: MasterProcess;
let standby: MasterProcess;
let leader: MasterProcess;
const at = (m: MasterProcess): string => `127.0.0.1:${m.http}`;
let list: string;

beforeAll(async () => {
  sec = await testSecurity();
  [nats, redis] = await Promise.all([startNatsServer({ securityDir: sec.dir }), startRedisServer()]);
  for (let i = 0; i < 3; i++) masters.push(spawnHaMaster({ http: await freePort(), grpc: await freePort() }, { nats, redis, sec }));
  leader = (await leaderOf(masters)).leader;
  const [a, b] = masters.filter((m) => m !== leader) as [MasterProcess, MasterProcess];
  [down, standby] = [a, b];
  await eventually('the standbys know the leader', async () =>
    (await masterHealth(down))?.leader === at(leader) && (await masterHealth(standby))?.leader === at(leader), 600);
  await stopChild(down.child);
  list = [down, standby, leader].map(at).join(',');
});

afterAll(async () => {
  s?.close();
  await lost?.stop();
  for (const m of masters) await stopChild(m.child);
  await nats?.stop();
  await redis?.stop();
  sec?.remove();
});

it('reports each master\'s own gRPC port in /health, leader and standby alike', async () => {
  expect(await masterHealth(leader)).toMatchObject({ role: 'leader', grpcPort: leader.grpc });
  expect(await masterHealth(standby)).toMatchObject({ role: 'standby', grpcPort: standby.grpc });
});

it('the SDK and the CLI reach the leader through a list whose first master is down', async () => {
  s = await subscribe({ master: list, framework: { name: 'listed', failoverTimeoutMs: 600_000 }, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
  expect(s.connected).toBe(true);

  const cli = await runAgora(['frameworks', '--json'], { env: { AGORA_MASTER: list } });
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect((JSON.parse(cli.stdout) as { id: string; name: string }[]).map((f) => [f.id, f.name])).toEqual([[s.frameworkId, 'listed']]);
  // What streams from the leader (the offer log, a sandbox) is opened with the leader itself, found through the list.
  expect(await leadingMaster(masterAddress(list))).toMatchObject({ httpUrl: `https://${at(leader)}`, httpPort: leader.http });
  // A list with an empty entry is a bad value: named, exit 2.
  const empty = await runAgora(['agents'], { env: { AGORA_MASTER: `${at(leader)},,${at(standby)}` } });
  expect([empty.code, empty.stderr]).toEqual([2, `agora: master address '${at(leader)},,${at(standby)}' has an empty entry (number 2 of 3): name each master as host:port, separated by commas\n`]);
  // The first master alone cannot be reached: the list is what got the CLI through.
  const alone = await runAgora(['agents'], { env: { AGORA_MASTER: at(down) } });
  expect(alone.code).toBe(1);
  expect(alone.stderr).toContain(`cannot reach the master at https://${at(down)}`);
});

it('goes past a standby that knows no leader, and says what each master said when none answered', async () => {
  lost = await startStandby({ leader: () => undefined, host: '127.0.0.1', httpPort: 0, grpcPort: 0, log: logger('no-leader') });
  const noLeader = `http://127.0.0.1:${lost.httpPort}`;
  const state = await getJson<{ master: { httpPort: number } }>(masterAddress(`${noLeader},${at(leader)}`), '/api/v1/state');
  expect(state.master.httpPort).toBe(leader.http);

  const err = await getJson(masterAddress(`${noLeader},${at(down)}`), '/api/v1/state').then(() => undefined, (e: unknown) => e) as MasterRequestError;
  expect(err).toBeInstanceOf(MasterRequestError);
  expect(err.attempts.map((a) => [a.master, a.error.status])).toEqual([[noLeader, 503], [`https://${at(down)}`, 0]]);
  expect(err.message).toMatch(new RegExp(`^none of the 2 masters answered GET /api/v1/state \\(${noLeader}: this master is a standby and no leader is elected yet.*; https://${at(down)}: connect ECONNREFUSED`));
});

it('a framework subscribed through the list follows a SIGKILLed leader to the standby, the first master still down', async () => {
  const frameworkId = s!.frameworkId;
  const resubscribed = new Promise<string>((resolve) => s!.once('resubscribed', resolve));
  leader.child.kill('SIGKILL');
  await leaderOf([standby]);
  expect(await resubscribed).toBe(`127.0.0.1:${standby.grpc}`);
  expect(s!.connected).toBe(true);
  expect(s!.frameworkId).toBe(frameworkId);

  // The CLI, with the same list: the first master down, the second leads now, the third is dead.
  const cli = await runAgora(['frameworks', '--json'], { env: { AGORA_MASTER: list } });
  expect(cli.code).toBe(0);
  expect((JSON.parse(cli.stdout) as { id: string }[]).map((f) => f.id)).toEqual([frameworkId]);
});
