/**
 * What a framework reads of the cluster through the SDK, on a real locked cluster of two
 * process agents: the agents (GetAgents, on the framework's own gRPC connection, under the
 * `view` right), and its own tasks' sandbox files through the master's relay with its own
 * credentials — never another framework's.
 */
import { localAcls } from '../common/security/bootstrap';
import { getJson, masterAt, MasterRequestError } from '../common/operator-client';
import { parse } from '../common/resources';
import { SandboxReadError, SchedulerCallError, subscribe, SubscriptionError, task, type Scheduler } from '../frameworks/sdk';
import { AGENT_RESOURCES, startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';
import { TEST_FRAMEWORK_ROLES } from './support/security';

jest.setTimeout(60_000);

let cluster: TestCluster;
/** Subscriptions to close after the test that made them: each holds the offers it was sent. */
let open: Scheduler[] = [];

beforeAll(async () => {
  const acls = localAcls(TEST_FRAMEWORK_ROLES);
  // team-b may register and run tasks, but may not view the cluster: its own rule comes first.
  acls.view = [{ principals: { values: ['team-b'] }, framework_principals: { type: 'NONE' } }, ...(acls.view ?? [])];
  cluster = await startCluster({ containerizer: 'process', agentOptions: { attributes: { rack: 'r1', zone: 'a' } }, acls });
  await cluster.addAgent({ hostname: 'localhost', attributes: { rack: 'r2', zone: 'b' } });
});
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});
afterAll(() => cluster.stop());

/** A framework subscribed as principal `name` (team-a or team-b), with its own role; closed after the test unless `kept`. */
async function framework(name: 'team-a' | 'team-b', kept = false): Promise<Scheduler> {
  const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name, roles: [name] }, credentials: cluster.security!.identity(name) });
  if (!kept) open.push(s);
  return s;
}

/** The master's relay asked directly, as principal `name`: the answer, or the status it refused with. */
async function relayAs(name: string, query: Record<string, string>): Promise<unknown> {
  const master = masterAt('127.0.0.1', cluster.master.httpPort, cluster.security!.identity(name));
  try {
    return await getJson(master, `/api/v1/files/read?${new URLSearchParams(query)}`);
  } catch (err) {
    if (err instanceof MasterRequestError) return { status: err.status, error: err.reason };
    throw err;
  }
}

describe('Scheduler.agents()', () => {
  it("lists the cluster's agents as the master knows them: id, hostname, HTTP port, attributes and total resources", async () => {
    const s = await framework('team-a');
    const [first, second] = cluster.agents;
    const agents = await s.agents();
    expect([...agents].sort((x, y) => x.hostname.localeCompare(y.hostname))).toEqual([
      { id: first!.agentId, hostname: '127.0.0.1', port: first!.httpPort, attributes: { rack: 'r1', zone: 'a' }, resources: parse(AGENT_RESOURCES), unreachable: false },
      { id: second!.agentId, hostname: 'localhost', port: second!.httpPort, attributes: { rack: 'r2', zone: 'b' }, resources: parse(AGENT_RESOURCES), unreachable: false },
    ]);
    // The operator's view of the same agents agrees.
    const state = await cluster.state();
    expect(state.agents.map((a) => [a.id, a.hostname, a.port, a.attributes]).sort())
      .toEqual(agents.map((a) => [a.id, a.hostname, a.port, a.attributes]).sort());
  });

  it('is refused PERMISSION_DENIED, naming the rule, to a framework whose principal may not view', async () => {
    const s = await framework('team-b');
    const refused = await s.agents().then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(SchedulerCallError);
    expect(refused).toMatchObject({
      call: 'GetAgents', code: 'PERMISSION_DENIED',
      message: "GetAgents failed (PERMISSION_DENIED): principal 'team-b' may not view of every framework principal: denied by view[0] (framework_principals: NONE)",
    });
  });
});

describe("a framework's own tasks' sandbox files, through the master", () => {
  let a: Scheduler;
  let taskId = '';
  let agentId = '';

  beforeAll(async () => {
    a = await framework('team-a', true);
    const log = new EventLog(a);
    const offer = await log.offer();
    taskId = `said-${Date.now().toString(36)}`;
    await a.launch(offer, [task({ id: taskId, command: 'echo hello from a; echo warn >&2', cpus: 0.1, mem: 32, process: true }, offer)]);
    agentId = (await log.status(taskId, 'TASK_FINISHED')).agentId;
    // Done with offers: the other frameworks of these tests get them.
    await a.suppress();
    await a.decline(log.takeAll().map((o) => o.id), { refuseMs: 0 });
  });
  afterAll(() => a.close());

  it("reads its task's stdout and stderr, a range of them, and their sizes, with the framework's own credentials", async () => {
    expect(await a.sandboxFileSize(taskId)).toBe(13);
    expect(await a.readSandboxFile(taskId)).toEqual({ data: 'hello from a\n', offset: 0 });
    expect(await a.readSandboxFile(taskId, 'stdout', { offset: 6, length: 4 })).toEqual({ data: 'from', offset: 6 });
    expect(await a.readSandboxFile(taskId, 'stderr')).toEqual({ data: 'warn\n', offset: 0 });
    expect(await a.sandboxFileSize(taskId, 'stderr', { agentId })).toBe(5);
  });

  it('a file the sandbox lacks is a SandboxReadError 404 in the agent\'s words', async () => {
    const missing = await a.readSandboxFile(taskId, 'nope').then(() => undefined, (err: unknown) => err);
    expect(missing).toBeInstanceOf(SandboxReadError);
    expect(missing).toMatchObject({ taskId, file: 'nope', status: 404 });
    expect((missing as Error).message).toBe(`cannot read nope of task ${taskId}: the master answered 404: no file 'nope' in the sandbox`);
  });

  it("another framework cannot read it: through its SDK there is no such task of its own; at the relay, its principal is refused", async () => {
    const b = await framework('team-b');
    const viaSdk = await b.readSandboxFile(taskId).then(() => undefined, (err: unknown) => err);
    expect(viaSdk).toBeInstanceOf(SandboxReadError);
    expect(viaSdk).toMatchObject({ status: 404, message: expect.stringContaining(`no task ${taskId} of framework ${b.frameworkId} is known to the master`) });
    const others = { framework_id: a.frameworkId, task_id: taskId, file: 'stdout' };
    const refusal = { status: 403, error: "principal 'team-b' may not access_sandboxes of every user: no ACL rule allows it (permissive: false)" };
    expect(await relayAs('team-b', others)).toEqual(refusal);
    expect(await relayAs('team-b', { ...others, agent_id: agentId })).toEqual(refusal);
    // Operators keep to the ACLs: an admin may read every sandbox, a viewer none.
    expect(await relayAs('admin', others)).toEqual({ data: 'hello from a\n', offset: 0 });
    expect(await relayAs('viewer', others)).toMatchObject({ status: 403 });
  });

  it('after close(), a read is a SubscriptionError and asks no one', async () => {
    const c = await framework('team-a');
    c.close();
    await expect(c.readSandboxFile(taskId)).rejects.toThrow(SubscriptionError);
  });
});
