// A whole framework: run N short tasks wherever offers allow, print their states, exit.
// Run against a cluster: `npm run example` (AGORA_MASTER=host:5050, EXAMPLE_TASKS=N).
import { subscribe, fit, isTerminal, type TaskSpec, type TaskState } from '../sdk';

export async function runNTasks(n: number, opts: { master?: string; print?: (line: string) => void } = {}) {
  const print = opts.print ?? ((line: string) => console.log(line));
  const pending: TaskSpec[] = Array.from({ length: n }, (_, i) => ({
    id: `hello-${Date.now().toString(36)}-${i}`,
    command: `echo "hello from task ${i} on $(hostname)"; sleep 1`,
    cpus: 0.1,
    mem: 32,
  }));
  const final = new Map<string, TaskState>();
  const s = await subscribe({ master: opts.master, framework: { name: 'example-run-n-tasks' } });
  print(`subscribed as ${s.frameworkId}`);

  s.on('offers', (offers) => {
    for (const offer of offers) {
      const tasks = fit(offer, pending);
      const launched = tasks.length ? s.launch(offer, tasks) : s.decline([offer.id], { refuseMs: 1000 });
      launched.catch((err: Error) => print(`offer ${offer.id}: ${err.message}`));
    }
    if (pending.length === 0) s.suppress().catch(() => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    s.on('closed', (err) => reject(err ?? new Error('subscription closed')));
    s.on('update', (st) => {
      print(`${st.taskId}  ${st.state}${st.message ? `  (${st.message})` : ''}`);
      if (isTerminal(st.state)) final.set(st.taskId, st.state);
      if (final.size === n) resolve();
    });
  });
  await s.teardown();
  s.close();
  return final;
}

if (require.main === module) {
  const n = Number(process.env.EXAMPLE_TASKS ?? 3);
  runNTasks(n).then((final) => {
    const ok = [...final.values()].every((st) => st === 'TASK_FINISHED');
    console.log(ok ? `all ${n} tasks finished` : `some tasks did not finish: ${[...final.values()].join(', ')}`);
    process.exit(ok ? 0 : 1);
  }, (err: Error) => {
    console.error(`example failed: ${err.message}`);
    process.exit(1);
  });
}
