/**
 * Per-principal bounds on the scheduler API (Mesos's --rate_limits): a principal over its open
 * subscriptions or its call rate gets RESOURCE_EXHAUSTED saying which, and other principals
 * go on. A real master with locked doors and a real nats-server.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { callUnary, subscribeFramework } from '../test/support/test-clients';
import { startMaster } from './server';
import { testSecurity, type TestSecurity } from '../test/support/security';
import type { ServerSecurity } from '../common/security/security-dir';

let nats: NatsServer;
let sec: TestSecurity;
let doors: ServerSecurity;
let master: Awaited<ReturnType<typeof startMaster>>;

beforeAll(async () => {
  sec = await testSecurity();
  nats = await startNatsServer({ jetstream: false, securityDir: sec.dir });
  doors = sec.open();
  // A burst of 3 calls that (in effect) never refills, and one subscription at a time.
  master = await startMaster({
    natsUrl: nats.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, security: doors, identity: sec.identity('master'),
    grpcLimits: { ratePerSec: 0.001, burst: 3, maxOpen: 1 },
  });
});

afterAll(async () => {
  await master?.stop();
  doors?.close();
  sec?.remove();
  await nats?.stop();
});

it('a second subscription over the principal\'s one open stream, and a call over its rate, are RESOURCE_EXHAUSTED; another principal goes on', async () => {
  const first = await subscribeFramework(master.grpcPort, { name: 'one', roles: ['team-a'] }, sec.identity('team-a'));   // call 1
  await expect(subscribeFramework(master.grpcPort, { name: 'two', roles: ['team-a'] }, sec.identity('team-a')))      // call 2
    .rejects.toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: expect.stringMatching(/principal 'team-a' already holds 1 open streams, the most it may \(1\)/) });
  expect(await callUnary(first.client, 'Revive', { frameworkId: first.frameworkId, streamId: first.streamId })).toBeNull();   // call 3
  const over = await callUnary(first.client, 'Revive', { frameworkId: first.frameworkId, streamId: first.streamId });
  expect(over?.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  expect(over?.details).toMatch(/principal 'team-a' is over its rate of 0\.001 calls\/s \(burst 3\)/);
  const other = await subscribeFramework(master.grpcPort, { name: 'other', roles: ['team-b'] }, sec.identity('team-b'));
  expect(other.frameworkId).toMatch(/^fw-/);
  other.close();
  first.close();
});

it('a framework may take offers for at most 64 roles', async () => {
  const roles = Array.from({ length: 65 }, (_, i) => `r${i}`);
  await expect(subscribeFramework(master.grpcPort, { name: 'many', roles }, sec.identity('admin')))
    .rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: 'framework_info.roles has 65 roles, more than the 64 a framework may take offers for' });
});
