// The jobs web UI: its routes and views, in the page every Agora UI shares
// (/ui/shared/page.js: one live copy of the state, live.js, that every view draws from).
//
//   #/jobs            view-jobs.js        #/new, #/edit/<id>   view-edit.js
//   #/job/<id>        view-job.js         #/graph              view-graph.js
import { startPage } from '/ui/shared/page.js';
import { startLive } from './live.js';
import { editView } from './view-edit.js';
import { graphView } from './view-graph.js';
import { jobView } from './view-job.js';
import { jobsView } from './view-jobs.js';

function viewFor(path, ctx) {
  const id = (prefix) => decodeURIComponent(path.slice(prefix.length));
  if (path === '/jobs') return jobsView(ctx);
  if (path === '/new') return editView(ctx, undefined);
  if (path === '/graph') return graphView(ctx);
  if (path.startsWith('/edit/') && path.length > 6) return editView(ctx, id('/edit/'));
  if (path.startsWith('/job/') && path.length > 5) return jobView(ctx, id('/job/'));
  return undefined;
}

startPage({ name: 'Agora jobs', home: '#/jobs', viewFor, startLive, sections: { '#/jobs': '#/job/' } });
