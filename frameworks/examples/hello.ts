// A complete framework: three tasks packed into whatever offers come, their states printed,
// then it leaves. Run it against a cluster: `node dist/frameworks/examples/hello.js`
// (AGORA_MASTER=host:5050; the default is the local cluster of `agora up`).
import { subscribe, pack, isTerminal, type TaskSpec, type TaskState } from '../sdk';

async function main(): Promise<boolean> {
  let pending: TaskSpec[] = ['a', 'b', 'c'].map((name) => ({
    id: `hello-${name}-${Date.now().toString(36)}`, command: `echo hello from ${name}`, cpus: 0.1, mem: 32,
  }));
  const ended = new Map<string, TaskState>();
  const total = pending.length;
  const s = await subscribe({ framework: { name: 'hello', failoverTimeoutMs: 60_000 } });
  console.log(`subscribed as ${s.frameworkId}`);

  s.on('offers', (offers) => {
    for (const offer of offers) {
      const { tasks, unplaced } = pack(offer, pending);
      pending = unplaced.map((u) => u.spec);
      const reply = tasks.length > 0
        ? s.launch(offer, tasks)
        : s.decline([offer.id], { refuseMs: 5000, reason: unplaced[0]?.reason ?? 'all tasks launched' });
      reply.catch((err: Error) => console.error(`offer ${offer.id}: ${err.message}`));
    }
    if (pending.length === 0) s.suppress().catch(() => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    s.on('closed', (err) => reject(err ?? new Error('subscription closed')));
    s.on('update', (status) => {
      console.log(`${status.taskId} ${status.state}${status.message ? ` (${status.message})` : ''}`);
      if (isTerminal(status.state)) ended.set(status.taskId, status.state);
      if (ended.size === total) resolve();
    });
  });
  await s.teardown();
  s.close();
  return [...ended.values()].every((state) => state === 'TASK_FINISHED');
}

main().then((ok) => {
  console.log(ok ? 'all tasks finished' : 'some tasks did not finish');
  process.exit(ok ? 0 : 1);
}, (err: Error) => {
  console.error(`hello failed: ${err.message}`);
  process.exit(1);
});
