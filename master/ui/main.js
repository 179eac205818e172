// The master's web UI: its routes and views, in the page every Agora UI shares
// (/ui/shared/page.js), drawing from one live copy of the master's state (live.js).
//
//   #/                 view-cluster.js      #/tasks            view-tasks.js
//   #/agents           view-agents.js       #/task/<fw>/<id>   view-task.js
//   #/agent/<id>       view-agents.js       #/offers           view-offers.js
//   #/frameworks       view-frameworks.js
import { startPage } from '/ui/shared/page.js';
import { startLive } from './live.js';
import { isTerminal } from './model.js';
import { agentView, agentsView } from './view-agents.js';
import { clusterView } from './view-cluster.js';
import { frameworksView } from './view-frameworks.js';
import { offersView } from './view-offers.js';
import { taskView } from './view-task.js';
import { tasksView } from './view-tasks.js';

const agentsCount = document.getElementById('agents-count');
const tasksCount = document.getElementById('tasks-count');

function viewFor(path, ctx) {
  const parts = path.split('/').slice(1).map((p) => decodeURIComponent(p));
  if (path === '/') return clusterView(ctx);
  if (path === '/agents') return agentsView(ctx);
  if (path === '/frameworks') return frameworksView(ctx);
  if (path === '/tasks') return tasksView(ctx);
  if (path === '/offers') return offersView(ctx);
  if (parts[0] === 'agent' && parts.length === 2 && parts[1]) return agentView(ctx, parts[1]);
  if (parts[0] === 'task' && parts.length === 3 && parts[1] && parts[2]) return taskView(ctx, parts[1], parts[2]);
  return undefined;
}

/** The header's counts: agents, and the tasks not yet over. */
function changed(state) {
  agentsCount.textContent = state.agents.size > 0 ? String(state.agents.size) : '';
  let active = 0;
  for (const t of state.tasks.values()) if (!isTerminal(t.state)) active += 1;
  tasksCount.textContent = active > 0 ? String(active) : '';
}

startPage({
  name: 'Agora master', home: '#/', viewFor, startLive, changed,
  sections: { '#/agents': '#/agent/', '#/tasks': '#/task/' },
  identity: (state) => (state.master ? `master ${state.master.id} · ${state.master.hostname}` : ''),
  ready: (state) => state.loaded,
});
