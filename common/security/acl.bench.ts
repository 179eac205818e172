/**
 * How many `authorize` calls a second with 100 rules, so we know what checking every task of
 * every Accept costs. Half the rules name two principals each, half the group `agents`; the
 * deciding rule is the last one, or none. Not part of the suite; run it alone:
 *   npx tsc --outDir /tmp/acl-bench --target es2022 --module commonjs --strict --types node \
 *     common/security/acl.bench.ts && node /tmp/acl-bench/acl.bench.js
 * On a shared 2-core box (Node 20): ~13M/s when the last rule decides, ~20M/s when none does
 * (the index tries only the principal's own rules); ~1M/s for an agent that 50 rules are
 * about, each tried.
 */
import { authorize, type Principal } from './acl';
import { parseAcls } from './acl-parse';

const RULES = 100;
const CALLS = 2_000_000;

function run(label: string, principal: Principal, object: string): void {
  const rules = Array.from({ length: RULES }, (_, i) => ({
    principals: i % 2 ? { values: [`fw-${i}`, `other-${i}`] } : { groups: ['agents'] },
    users: { values: [`user-${i}`, 'nobody'] },
  }));
  const acls = parseAcls({ run_tasks: rules });
  let allowed = 0;
  for (let i = 0; i < CALLS / 10; i++) if (authorize(acls, 'run_tasks', principal, object).allowed) allowed++; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) if (authorize(acls, 'run_tasks', principal, object).allowed) allowed++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label}: ${Math.round(CALLS / seconds).toLocaleString('en')} authorize()/s over ${RULES} rules (${allowed} allowed)`);
}

run('matches the last rule', { name: `fw-${RULES - 1}`, kind: 'framework' }, `user-${RULES - 1}`);
run('matches no rule', { name: 'stranger', kind: 'framework' }, 'root');
run('principal matches every other rule, object none', { name: 'agent-1', kind: 'agent' }, 'root');
