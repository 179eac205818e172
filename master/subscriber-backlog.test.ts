/**
 * A framework that stops reading its Subscribe stream, against a real master (gRPC, NATS):
 * once more than maxSubscriberBacklogBytes of its events wait unread in the master, the
 * subscription is over — the master counts it disconnected at once, and the framework,
 * reading again, gets the events it was sent and then RESOURCE_EXHAUSTED, which says how to
 * come back: subscribe again with its framework id, which keeps its tasks (failover).
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import type { MasterStateView } from '../common/operator-types';
import { callUnary, getJson, subscribeFramework, type TestFramework } from '../test/support/test-clients';
import { startMaster, type MasterHandle } from './server';

const BOUND_BYTES = 32 * 1024;
let nats: NatsServer;
let master: MasterHandle;

beforeAll(async () => {
  nats = await startNatsServer();
  master = await startMaster({
    natsUrl: nats.url, subjectPrefix: 'backlogtest', host: '127.0.0.1', httpPort: 0, grpcPort: 0, maxSubscriberBacklogBytes: BOUND_BYTES,
  });
});

afterAll(async () => {
  await master?.stop();
  await nats?.stop();
});

const connected = async (frameworkId: string): Promise<boolean | undefined> =>
  ((await getJson(master.httpPort, '/api/v1/state')).body as MasterStateView).frameworks.find((f) => f.id === frameworkId)?.connected;

/**
 * 8 tasks the master does not know: one Reconcile is answered with 8 UPDATEs, about 4 kB,
 * well under the bound — what the master sends in one turn waits for HTTP/2 a turn or two,
 * whether the framework reads or not.
 */
const unknownTasks = Array.from({ length: 8 }, (_, i) => ({ taskId: `task-${i}-${'t'.repeat(80)}`, agentId: 'agent-nowhere' }));
const reconcile = (fw: { client: TestFramework['client']; frameworkId: string; streamId: string }) =>
  callUnary(fw.client, 'Reconcile', { frameworkId: fw.frameworkId, streamId: fw.streamId, tasks: unknownTasks });

it('a subscriber that reads keeps its subscription however many events it is sent: 100 Reconciles, 800 UPDATEs, about 400 kB', async () => {
  const fw = await subscribeFramework(master.grpcPort, { failoverTimeoutMs: 60_000 });
  const last = unknownTasks.at(-1)!.taskId;
  try {
    for (let i = 0; i < 100; i++) {
      expect(await reconcile(fw)).toBeNull();
      await fw.events.take((e) => e.type === 'UPDATE' && e.status.taskId === last, 'the last UPDATE of a Reconcile');
    }
    expect(await connected(fw.frameworkId)).toBe(true);
  } finally {
    fw.close();
  }
});

it('a subscriber that stops reading is ended RESOURCE_EXHAUSTED once its backlog passes the bound, counted disconnected, and subscribes again with its id', async () => {
  const fw = await subscribeFramework(master.grpcPort, { failoverTimeoutMs: 60_000 });
  try {
    fw.stream.pause();   // its HTTP/2 window fills (64 kB), then the master's side
    let refused: ServiceError | null = null;
    let calls = 0;
    // Each answered Reconcile adds 200 UPDATEs; the first refused says the subscription is gone.
    while (refused === null && calls < 1000) {
      refused = await reconcile(fw);
      calls++;
    }
    // More than the framework's HTTP/2 window took: the master held the rest until it was over the bound.
    expect(calls * 4 * 1024).toBeGreaterThan(64 * 1024 + BOUND_BYTES);
    expect(refused).toMatchObject({ code: GrpcStatus.FAILED_PRECONDITION, details: expect.stringMatching(/is not subscribed: subscribe again/) });
    expect(await connected(fw.frameworkId)).toBe(false);

    fw.stream.resume();
    const ended = await fw.ended;
    expect(ended?.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(ended?.details).toMatch(new RegExp(
      `^the framework left \\d+ bytes of events unread, more than the master keeps \\(maxSubscriberBacklogBytes ${BOUND_BYTES}\\); ` +
      `subscribe again with framework id ${fw.frameworkId} to resume$`,
    ));
  } finally {
    fw.close();
  }

  const again = await subscribeFramework(master.grpcPort, { id: fw.frameworkId, failoverTimeoutMs: 60_000 });
  try {
    expect(again.frameworkId).toBe(fw.frameworkId);
    expect(await connected(fw.frameworkId)).toBe(true);
    expect(await reconcile(again)).toBeNull();
    expect(await again.events.take((e) => e.type === 'UPDATE', 'the reconciled UPDATE')).toMatchObject({ status: { taskId: unknownTasks[0]!.taskId, state: 'TASK_UNKNOWN' } });
  } finally {
    again.close();
  }
}, 60_000);
